//! The local password file auth plugin: an ocpasswd-compatible file, `user:group1,group2:hash`,
//! with crypt(3) hashes (`$6$` SHA-512-crypt, `$5$` SHA-256-crypt, `$1$` MD5-crypt); a leading
//! `!` locks an account. The file is re-read when its modification time changes; a file that
//! stops parsing leaves the last good copy in service and logs why.
//!
//! Settings (`[plugins.auth-local.settings]`): `path` (required), the password file.
//!
//! Checks are blocking and CPU-heavy by design; the host runs them on its priority pool.
//! Loaded native by default (`kind = "native"`).

mod auth;
mod passwd;

use std::path::Path;

use wolfguard_sdk::prelude::*;

pub use auth::Check;
/// The checking code, for a host that links this crate instead of loading it: the daemon's
/// built-in `auth.password_file` backend is this very code.
pub use auth::check as check_password;
pub use passwd::PasswordFile;
/// The file parser, for the fuzz target (`config/fuzz`, `auth_local_passwd`).
pub use passwd::parse as parse_passwd;

/// The plugin.
pub struct AuthLocal {
    file: PasswordFile,
    host: Host,
}

impl AuthLocal {
    /// Checks `password` for `user` directly (the conversation's last step).
    pub fn check(&self, user: &str, password: &str) -> Check {
        auth::check(&self.file, user, password).0
    }
}

impl Plugin for AuthLocal {
    const NAME: &'static str = "auth-local";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn provides() -> Vec<String> {
        vec!["auth:local".into()]
    }

    fn new(config: &Config, host: Host) -> Result<Self, PluginError> {
        let path = config.require_str("path")?;
        let file = PasswordFile::open(Path::new(path))?;
        Ok(Self { file, host })
    }
}

impl AuthPlugin for AuthLocal {
    fn auth_begin(&self, req: &AuthRequest) -> Result<AuthStep, PluginError> {
        Ok(auth::step(&self.file, &self.host, req))
    }

    fn auth_continue(&self, req: &AuthRequest) -> Result<AuthStep, PluginError> {
        Ok(auth::step(&self.file, &self.host, req))
    }
}

wolfguard_sdk::export_plugin!(AuthLocal, auth);

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::{Duration, SystemTime};

    use wolfguard_sdk::testing::MockHost;

    use super::*;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let p = std::env::temp_dir().join(format!(
                "wg-auth-local-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            Self(p)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn plugin(text: &str) -> (TempDir, MockHost, AuthLocal) {
        let dir = TempDir::new();
        let path = dir.0.join("passwd");
        std::fs::write(&path, text).unwrap();
        let mock = MockHost::new();
        let p = mock
            .instantiate::<AuthLocal>(&format!("path = {:?}", path.display().to_string()))
            .unwrap();
        (dir, mock, p)
    }

    fn answers(pairs: &[(&str, &str)]) -> AuthRequest {
        AuthRequest {
            answers: pairs
                .iter()
                .map(|(n, v)| Answer {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect(),
            ..AuthRequest::default()
        }
    }

    #[test]
    fn crypt_formats_ocpasswd_writes_are_accepted() {
        // Generated with `openssl passwd -6/-5/-1 -salt saltsalt secret`.
        let text = "\
alice:eng,ops:$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1
bob:*:$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA
carol::$1$saltsalt$9xy1btjgzLYfb7hivXtC//
dave:eng:!$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1
old:g:abJnggxhB/yWI
";
        let (_d, _m, p) = plugin(text);
        assert_eq!(
            p.check("alice", "secret"),
            Check::Accept(vec!["eng".into(), "ops".into()])
        );
        assert_eq!(p.check("bob", "secret"), Check::Accept(vec![]));
        assert_eq!(p.check("carol", "secret"), Check::Accept(vec![]));
        assert_eq!(p.check("alice", "Secret"), Check::Reject("wrong password"));
        assert_eq!(p.check("dave", "secret"), Check::Reject("account locked"));
        assert_eq!(p.check("mallory", "secret"), Check::Reject("unknown user"));
        assert_eq!(
            p.check("old", "secret"),
            Check::Reject("unsupported hash format")
        );
    }

    #[test]
    fn conversation_asks_for_what_is_missing() {
        let (_d, mock, p) = plugin("u:g:$1$saltsalt$9xy1btjgzLYfb7hivXtC//\n");
        let step = p.auth_begin(&answers(&[])).unwrap();
        assert!(matches!(step, AuthStep::Challenge { ref prompts, .. } if prompts.len() == 2));
        let step = p.auth_begin(&answers(&[("username", "u")])).unwrap();
        let AuthStep::Challenge { state, .. } = step else {
            panic!("expected a password challenge, got {step:?}");
        };
        let mut req = answers(&[("password", "secret")]);
        req.state = state;
        let step = p.auth_continue(&req).unwrap();
        assert!(matches!(step, AuthStep::Accept { ref user, .. } if user == "u"));
        assert_eq!(mock.counter("accepted"), 1);
        let mut req = answers(&[("username", "u"), ("password", "secret")]);
        req.group = Some("other".into());
        assert_eq!(
            p.auth_begin(&req).unwrap(),
            AuthStep::reject("group not allowed")
        );
    }

    #[test]
    fn file_changes_are_picked_up() {
        let (d, _m, p) = plugin("u:g:$1$saltsalt$9xy1btjgzLYfb7hivXtC//\n");
        assert!(matches!(p.check("u", "secret"), Check::Accept(_)));
        let h = pwhash::sha512_crypt::hash("new").unwrap();
        let path = d.0.join("passwd");
        std::fs::write(&path, format!("u:g:{h}\n")).unwrap();
        // Make sure the mtime differs even on coarse-grained file systems.
        let later = SystemTime::now() + Duration::from_secs(2);
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(later).unwrap();
        assert!(matches!(p.check("u", "new"), Check::Accept(_)));
    }

    #[test]
    fn malformed_files_name_the_line_and_missing_path_is_an_error() {
        let dir = TempDir::new();
        let path = dir.0.join("passwd");
        std::fs::write(&path, "ok:g:$6$x$y\nbroken-line\n").unwrap();
        let mock = MockHost::new();
        let settings = format!("path = {:?}", path.display().to_string());
        let err = mock.instantiate::<AuthLocal>(&settings).err().unwrap();
        assert!(err.message().contains(":2: missing fields"), "{err}");
        assert!(mock.instantiate::<AuthLocal>("").is_err());
    }
}
