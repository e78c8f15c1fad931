//! Password authentication behind a small trait, so that the plugin host can later provide the
//! backend (PAM, RADIUS, OIDC, a WASM module) without the front end changing.
//!
//! The built-in backend reads an ocpasswd-compatible file: `user:group1,group2:hash`, where the
//! hash is a crypt(3) string (`$6$` SHA-512-crypt, `$5$` SHA-256-crypt, `$1$` MD5-crypt) and a
//! leading `!` locks the account. Checks are blocking and CPU-heavy by design, so callers run them
//! on the priority pool, never on a reactor thread.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

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
}

/// A blocking password backend.
pub trait Authenticator: Send + Sync {
    /// Checks `password` for `user`. Called on a pool thread.
    fn check(&self, user: &str, password: &str) -> Verdict;
}

/// One line of the password file.
#[derive(Debug, Clone)]
struct Entry {
    groups: Vec<String>,
    hash: String,
}

/// The ocpasswd-format password file, re-read when its modification time changes.
#[derive(Debug)]
pub struct PasswordFile {
    path: PathBuf,
    cache: Mutex<(Option<SystemTime>, HashMap<String, Entry>)>,
}

/// A valid SHA-512-crypt hash of a random string: unknown users are checked against it so that
/// their answers take as long as a wrong password for a real user (no user enumeration by timing).
const DUMMY_HASH: &str = "$6$wolfguarddummy$25aAOpQq.sZoUucduSCaCpMP.e2Ivrc54bwCTbTKPjA1hp9mI1gn92vIhG1Xg9Q.JRmXeK95vRsUxuyArYCES/";

impl PasswordFile {
    /// Opens and parses the file; errors name the file and line.
    pub fn open(path: &Path) -> Result<Self, String> {
        let file = Self {
            path: path.to_owned(),
            cache: Mutex::new((None, HashMap::new())),
        };
        file.reload()?;
        Ok(file)
    }

    fn reload(&self) -> Result<(), String> {
        let mtime = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.0.is_some() && cache.0 == mtime {
            return Ok(());
        }
        let text = std::fs::read_to_string(&self.path).map_err(|e| {
            format!(
                "{}: cannot read the password file: {e}",
                self.path.display()
            )
        })?;
        let entries = parse(&text).map_err(|e| {
            let path = self.path.display();
            format!(
                "{path}:{}: {}; expected `user:group1,group2:hash`",
                e.line, e.reason
            )
        })?;
        *cache = (mtime, entries);
        Ok(())
    }

    fn lookup(&self, user: &str) -> Option<Entry> {
        if let Err(e) = self.reload() {
            // Keep serving with the last good copy; the operator sees why.
            tracing::warn!(error = %e, "password file reload failed");
        }
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.1.get(user).cloned()
    }
}

impl Authenticator for PasswordFile {
    fn check(&self, user: &str, password: &str) -> Verdict {
        let Some(entry) = self.lookup(user) else {
            let _ = pwhash::unix::verify(password, DUMMY_HASH);
            return Verdict::Reject("unknown user".into());
        };
        if entry.hash.starts_with('!') {
            let _ = pwhash::unix::verify(password, DUMMY_HASH);
            return Verdict::Reject("account locked".into());
        }
        if !is_supported_hash(&entry.hash) {
            return Verdict::Reject("unsupported hash format".into());
        }
        if pwhash::unix::verify(password, &entry.hash) {
            Verdict::Accept {
                groups: entry.groups,
            }
        } else {
            Verdict::Reject("wrong password".into())
        }
    }
}

/// The crypt formats ocpasswd writes. Plain DES crypt and friends are refused.
fn is_supported_hash(hash: &str) -> bool {
    ["$6$", "$5$", "$1$"].iter().any(|p| hash.starts_with(p))
}

fn parse(text: &str) -> Result<HashMap<String, Entry>, wolfguard_config::passwd::PasswdError> {
    Ok(wolfguard_config::passwd::parse_passwd(text)?
        .into_iter()
        .map(|e| {
            (
                e.user,
                Entry {
                    groups: e.groups,
                    hash: e.hash,
                },
            )
        })
        .collect())
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
