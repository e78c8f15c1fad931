//! The ocpasswd password file format: `user:group1,group2:hash`, one user per line.
//!
//! `*` or an empty field means no groups; a hash starting with `!` marks a locked account; blank
//! lines and lines starting with `#` are ignored. This module only parses: checking hashes is the
//! auth backend's job.

/// One user of the password file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    /// The user name (never empty).
    pub user: String,
    /// Groups the user may pick (empty: no restriction).
    pub groups: Vec<String>,
    /// The crypt(3) hash, possibly prefixed with `!` (locked).
    pub hash: String,
}

/// A line of the password file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}; expected `user:group1,group2:hash`")]
pub struct PasswdError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Parses a whole password file.
pub fn parse_passwd(text: &str) -> Result<Vec<PasswdEntry>, PasswdError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |reason| PasswdError {
            line: i + 1,
            reason,
        };
        let mut parts = line.splitn(3, ':');
        let (Some(user), Some(groups), Some(hash)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(err("missing fields"));
        };
        if user.is_empty() {
            return Err(err("empty user name"));
        }
        if hash.is_empty() {
            return Err(err("empty password hash"));
        }
        let groups = groups
            .split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty() && *g != "*")
            .map(str::to_owned)
            .collect();
        out.push(PasswdEntry {
            user: user.to_owned(),
            groups,
            hash: hash.to_owned(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocpasswd_lines_parse() {
        let text = "# comment\n\nalice:eng, ops:$6$s$h\r\nbob:*:!$5$s$h\ncarol::$1$s$h\n";
        let e = parse_passwd(text).unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].groups, ["eng", "ops"]);
        assert!(e[1].groups.is_empty() && e[1].hash.starts_with('!'));
        assert_eq!(e[2].user, "carol");
    }

    #[test]
    fn malformed_lines_name_their_number() {
        assert_eq!(parse_passwd("ok:g:h\nbroken").unwrap_err().line, 2);
        assert_eq!(parse_passwd(":g:h").unwrap_err().reason, "empty user name");
        assert_eq!(
            parse_passwd("u:g:").unwrap_err().reason,
            "empty password hash"
        );
        assert_eq!(parse_passwd("u").unwrap_err().reason, "missing fields");
        assert!(parse_passwd("").unwrap().is_empty());
    }
}
