//! Checks of the files the configuration names: present, readable, and private where they hold
//! secrets (the `OwnerOnly` check of lightway).

use std::fs::{self, File};
use std::path::Path;

use crate::{Config, ConfigIssue};

/// How private a file must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Secrecy {
    /// Public data (a certificate): only readability matters.
    Public,
    /// Must not be writable by group or others (password hashes: others reading them is
    /// tolerated, as with ocpasswd files, but changing them means taking over accounts).
    OwnerWrites,
    /// Must be neither writable by group or others, nor readable by others (a private key).
    Private,
}

/// Checks the certificate, private key and password file named by `config`.
///
/// Each must exist and be a readable regular file; the private key and the password file must
/// not be writable by group or other users, and the private key not readable by other users.
/// Paths that are not set are skipped ([`Config::validate`] reports them). The daemon calls this
/// before it drops privileges, so "readable" means readable by the user starting it.
pub fn check_files(config: &Config) -> Vec<ConfigIssue> {
    let mut issues = Vec::new();
    for (key, path, secrecy) in [
        (
            "server.certificate",
            &config.server.certificate,
            Secrecy::Public,
        ),
        (
            "server.private_key",
            &config.server.private_key,
            Secrecy::Private,
        ),
        (
            "auth.password_file",
            &config.auth.password_file,
            Secrecy::OwnerWrites,
        ),
    ] {
        if !path.as_os_str().is_empty() {
            issues.extend(check_file(key, path, secrecy));
        }
    }
    issues
}

/// The first problem with one file, if any.
fn check_file(key: &str, path: &Path, secrecy: Secrecy) -> Option<ConfigIssue> {
    let shown = path.display();
    let metadata = match fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Some(ConfigIssue::new(
                key,
                format!("{shown} does not exist"),
                format!("create it, or set {key} to the right path"),
            ));
        }
        Err(err) => {
            return Some(ConfigIssue::new(
                key,
                format!("{shown} cannot be inspected: {err}"),
                "check the permissions of the directories above it",
            ));
        }
    };
    if !metadata.is_file() {
        return Some(ConfigIssue::new(
            key,
            format!("{shown} is not a regular file"),
            format!("set {key} to a file"),
        ));
    }
    if let Err(err) = File::open(path) {
        return Some(ConfigIssue::new(
            key,
            format!("{shown} cannot be read: {err}"),
            format!("make it readable by the user starting wolfguard (e.g. chown root {shown})"),
        ));
    }
    permission_issue(key, path, secrecy, &metadata)
}

#[cfg(unix)]
fn permission_issue(
    key: &str,
    path: &Path,
    secrecy: Secrecy,
    metadata: &fs::Metadata,
) -> Option<ConfigIssue> {
    use std::os::unix::fs::PermissionsExt;

    let mode = metadata.permissions().mode() & 0o7777;
    let writable_by_others = mode & 0o022 != 0;
    let readable_by_all = mode & 0o004 != 0;
    let problem = match secrecy {
        Secrecy::Public => return None,
        _ if writable_by_others => "is writable by other users",
        Secrecy::Private if readable_by_all => "is readable by all users",
        _ => return None,
    };
    Some(ConfigIssue::new(
        key,
        format!("{} {problem} (mode {mode:04o})", path.display()),
        format!("run chmod 600 {}", path.display()),
    ))
}

#[cfg(not(unix))]
fn permission_issue(_: &str, _: &Path, _: Secrecy, _: &fs::Metadata) -> Option<ConfigIssue> {
    None
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir()
                .join(format!("wolfguard-config-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("temp dir is writable");
            Self(dir)
        }

        fn file(&self, name: &str, mode: u32) -> PathBuf {
            let path = self.0.join(name);
            fs::write(&path, "x").expect("temp dir is writable");
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("own file");
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn config(cert: PathBuf, key: PathBuf, passwd: PathBuf) -> Config {
        let mut config = Config::default();
        config.server.certificate = cert;
        config.server.private_key = key;
        config.auth.password_file = passwd;
        config
    }

    #[test]
    fn private_files_pass() {
        let dir = TempDir::new("ok");
        let config = config(
            dir.file("server.crt", 0o644),
            dir.file("server.key", 0o600),
            dir.file("passwd", 0o640),
        );
        assert_eq!(check_files(&config), []);
    }

    #[test]
    fn loose_permissions_and_missing_files_are_reported() {
        let dir = TempDir::new("loose");
        let key = dir.file("server.key", 0o644);
        let passwd = dir.file("passwd", 0o664);
        let config = config(dir.0.join("missing.crt"), key.clone(), passwd.clone());
        let issues = check_files(&config);
        let keys: Vec<_> = issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "server.certificate",
                "server.private_key",
                "auth.password_file"
            ]
        );
        assert!(
            issues[0].problem.ends_with("does not exist"),
            "{}",
            issues[0]
        );
        assert!(
            issues[1]
                .problem
                .contains("readable by all users (mode 0644)"),
            "{}",
            issues[1]
        );
        assert_eq!(issues[1].fix, format!("run chmod 600 {}", key.display()));
        assert!(
            issues[2].problem.contains("writable by other users"),
            "{}",
            issues[2]
        );
        assert_eq!(issues[2].fix, format!("run chmod 600 {}", passwd.display()));
    }

    #[test]
    fn directories_and_unset_paths() {
        let dir = TempDir::new("dir");
        let config = config(dir.0.clone(), PathBuf::new(), PathBuf::new());
        let issues = check_files(&config);
        assert_eq!(issues.len(), 1);
        assert!(issues[0].problem.contains("not a regular file"));
    }
}
