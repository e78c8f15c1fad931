//! The ocpasswd password file: `user:group1,group2:hash`, one user per line, re-read when its
//! modification time changes.
//!
//! `*` or an empty field means no groups; a hash starting with `!` marks a locked account; blank
//! lines and lines starting with `#` are ignored. This is the only parser of the format: the
//! daemon links it for `auth.password_file`, and its fuzz target is `config/fuzz` `parse_passwd`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

/// One user of the password file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Groups the user may pick (empty: no restriction).
    pub groups: Vec<String>,
    /// The crypt(3) hash, possibly prefixed with `!` (locked).
    pub hash: String,
}

/// The password file and the last good parse of it.
#[derive(Debug)]
pub struct PasswordFile {
    path: PathBuf,
    cache: Mutex<(Option<SystemTime>, HashMap<String, Entry>)>,
}

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

    /// Re-reads the file if its modification time changed.
    pub fn reload(&self) -> Result<(), String> {
        let mtime = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        let mut cache = self.lock();
        if cache.0.is_some() && cache.0 == mtime {
            return Ok(());
        }
        let path = self.path.display();
        let text = std::fs::read_to_string(&self.path)
            .map_err(|e| format!("{path}: cannot read the password file: {e}"))?;
        let entries = parse(&text).map_err(|(line, reason)| {
            format!("{path}:{line}: {reason}; expected `user:group1,group2:hash`")
        })?;
        *cache = (mtime, entries);
        Ok(())
    }

    /// The entry of `user` in the last good copy of the file.
    pub fn lookup(&self, user: &str) -> Option<Entry> {
        self.lock().1.get(user).cloned()
    }

    fn lock(&self) -> MutexGuard<'_, (Option<SystemTime>, HashMap<String, Entry>)> {
        // The cache is replaced in one assignment, so a poisoned lock still holds a whole copy.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Parses a whole password file; an error carries the 1-based line number and the reason.
pub fn parse(text: &str) -> Result<HashMap<String, Entry>, (usize, &'static str)> {
    let mut out = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(3, ':');
        let (Some(user), Some(groups), Some(hash)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err((i + 1, "missing fields"));
        };
        if user.is_empty() {
            return Err((i + 1, "empty user name"));
        }
        if hash.is_empty() {
            return Err((i + 1, "empty password hash"));
        }
        let groups = groups
            .split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty() && *g != "*")
            .map(str::to_owned)
            .collect();
        out.insert(
            user.to_owned(),
            Entry {
                groups,
                hash: hash.to_owned(),
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocpasswd_lines_parse() {
        let text = "# comment\n\nalice:eng, ops:$6$s$h\r\nbob:*:!$5$s$h\ncarol::$1$s$h\n";
        let e = parse(text).unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e["alice"].groups, ["eng", "ops"]);
        assert!(e["bob"].groups.is_empty() && e["bob"].hash.starts_with('!'));
        assert!(e.contains_key("carol"));
    }

    #[test]
    fn malformed_lines_name_their_number() {
        assert_eq!(parse("ok:g:h\nbroken").unwrap_err(), (2, "missing fields"));
        assert_eq!(parse(":g:h").unwrap_err().1, "empty user name");
        assert_eq!(parse("u:g:").unwrap_err().1, "empty password hash");
        assert_eq!(parse("u").unwrap_err(), (1, "missing fields"));
        assert_eq!(parse("a:b:c\r\nu:x").unwrap_err(), (2, "missing fields"));
        // A hash may itself contain colons (only the first two split).
        assert_eq!(parse("u:g:$6$a:b").unwrap()["u"].hash, "$6$a:b");
        assert!(parse("").unwrap().is_empty());
    }
}
