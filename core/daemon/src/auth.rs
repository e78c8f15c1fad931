//! Password authentication behind a small trait: the front end asks an [`Authenticator`], which is
//! either an auth plugin (see `plugins.rs`) or the built-in password file.
//!
//! The built-in backend is the `auth-local` plugin's code, linked in. It reads an
//! ocpasswd-compatible file: `user:group1,group2:hash`, where the
//! hash is a crypt(3) string (`$6$` SHA-512-crypt, `$5$` SHA-256-crypt, `$1$` MD5-crypt) and a
//! leading `!` locks the account. Checks are blocking and CPU-heavy by design, so callers run them
//! on the priority pool, never on a reactor thread.

use std::borrow::Cow;
use std::path::Path;

/// The outcome of one password check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The credentials are valid; the user belongs to these groups.
    Accept {
        /// Groups from the password file (may be empty).
        groups: Vec<String>,
    },
    /// Wrong password, unknown or locked user. The reason is logged, never shown to the client.
    Reject(Cow<'static, str>),
    /// The backend asks one more question (an OTP, a RADIUS Access-Challenge).
    Challenge(Challenge),
}

/// A follow-up question in a login, and what the backend needs to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The text shown above the form.
    pub message: String,
    /// The input's label.
    pub label: String,
    /// The name the backend wants the answer under.
    pub answer_name: String,
    /// The backend's conversation id.
    pub conversation: u64,
    /// The backend's opaque state for the next step.
    pub state: Vec<u8>,
}

/// A blocking password backend.
pub trait Authenticator: Send + Sync {
    /// Checks `password` for `user`. Called on a pool thread.
    fn check(&self, user: &str, password: &str) -> Verdict;

    /// The pool class its checks run in: `High` for the built-in file (CPU-bound hashing),
    /// the plugin host's `Low` for plugins, which may block on PAM or RADIUS and so must never
    /// hold the threads reserved for higher classes.
    fn priority(&self) -> wolfguard_runtime::pool::Priority {
        wolfguard_runtime::pool::Priority::High
    }

    /// Continues a login the backend answered with [`Verdict::Challenge`]: `answer` is the
    /// user's reply. Called on a pool thread. Backends that never challenge keep the default.
    fn answer(&self, user: &str, challenge: &Challenge, answer: &str) -> Verdict {
        let _ = (user, challenge, answer);
        Verdict::Reject("this backend asks no follow-up questions".into())
    }
}

/// The ocpasswd-format password file of `auth.password_file`: the checking code of the
/// `auth-local` plugin, linked in rather than loaded, so the built-in backend and the plugin can
/// never disagree. The file is re-read when its modification time changes; a file that stops
/// parsing leaves the last good copy in service.
#[derive(Debug)]
pub struct PasswordFile(wolfguard_plugin_auth_local::PasswordFile);

impl PasswordFile {
    /// Opens and parses the file; errors name the file and line.
    pub fn open(path: &Path) -> Result<Self, String> {
        wolfguard_plugin_auth_local::PasswordFile::open(path).map(Self)
    }
}

impl Authenticator for PasswordFile {
    fn check(&self, user: &str, password: &str) -> Verdict {
        let (verdict, reload_error) =
            wolfguard_plugin_auth_local::check_password(&self.0, user, password);
        if let Some(e) = reload_error {
            // Keep serving with the last good copy; the operator sees why.
            tracing::warn!(error = %e, "password file reload failed");
        }
        match verdict {
            wolfguard_plugin_auth_local::Check::Accept(groups) => Verdict::Accept { groups },
            wolfguard_plugin_auth_local::Check::Reject(why) => Verdict::Reject(why.into()),
        }
    }
}

/// Hashes a password the way ocpasswd does (SHA-512-crypt with a random salt).
pub fn hash_password(password: &str) -> String {
    // pwhash picks a random 16-character salt and the default 5000 rounds, like glibc crypt.
    pwhash::sha512_crypt::hash(password).unwrap_or_else(|_| {
        // Only fails when the system RNG is unavailable; a locked entry is the safe answer.
        "!".to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempdir::Dir, PasswordFile) {
        let dir = tempdir::Dir::new();
        let path = dir.0.join("passwd");
        std::fs::write(&path, text).unwrap();
        let f = PasswordFile::open(&path).unwrap();
        (dir, f)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let p = std::env::temp_dir().join(format!(
                    "wg-auth-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Self(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
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
";
        let (_d, f) = file(text);
        assert_eq!(
            f.check("alice", "secret"),
            Verdict::Accept {
                groups: vec!["eng".into(), "ops".into()]
            }
        );
        assert_eq!(f.check("bob", "secret"), Verdict::Accept { groups: vec![] });
        assert_eq!(
            f.check("carol", "secret"),
            Verdict::Accept { groups: vec![] }
        );
        assert_eq!(
            f.check("alice", "Secret"),
            Verdict::Reject("wrong password".into())
        );
        assert_eq!(
            f.check("dave", "secret"),
            Verdict::Reject("account locked".into())
        );
        assert_eq!(
            f.check("mallory", "secret"),
            Verdict::Reject("unknown user".into())
        );
    }

    #[test]
    fn malformed_files_name_the_line() {
        let dir = tempdir::Dir::new();
        let path = dir.0.join("passwd");
        std::fs::write(&path, "ok:g:$6$x$y\nbroken-line\n").unwrap();
        let err = PasswordFile::open(&path).unwrap_err();
        assert!(
            err.contains(":2:") && err.contains("missing fields"),
            "{err}"
        );
        std::fs::write(&path, ":g:$6$x$y\n").unwrap();
        assert!(
            PasswordFile::open(&path)
                .unwrap_err()
                .contains("empty user name")
        );
        assert!(PasswordFile::open(&dir.0.join("absent")).is_err());
    }

    #[test]
    fn des_crypt_is_refused_and_hash_password_roundtrips() {
        let (_d, f) = file("old:g:abJnggxhB/yWI\n");
        assert_eq!(
            f.check("old", "secret"),
            Verdict::Reject("unsupported hash format".into())
        );
        let h = hash_password("pa:ss wörd");
        assert!(h.starts_with("$6$"));
        assert!(pwhash::unix::verify("pa:ss wörd", &h));
    }

    #[test]
    fn file_changes_are_picked_up() {
        let (d, f) = file("u:g:$1$saltsalt$9xy1btjgzLYfb7hivXtC//\n");
        assert!(matches!(f.check("u", "secret"), Verdict::Accept { .. }));
        std::thread::sleep(std::time::Duration::from_millis(20));
        let h = hash_password("new");
        std::fs::write(d.0.join("passwd"), format!("u:g:{h}\n")).unwrap();
        // Make sure the mtime differs even on coarse-grained file systems.
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(2);
        std::fs::File::options()
            .write(true)
            .open(d.0.join("passwd"))
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert!(matches!(f.check("u", "new"), Verdict::Accept { .. }));
    }
}
