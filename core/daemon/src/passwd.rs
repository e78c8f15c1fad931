//! `wolfguard passwd`: manage an ocpasswd-compatible password file.
//!
//! Lines are `user:group1,group2:hash`; ocserv's `ocpasswd` and this command read each other's
//! files. The file is rewritten atomically (temporary file + rename) with mode 0600, so a crash
//! never leaves a half-written file and the hashes are never world-readable.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::auth::hash_password;

/// Arguments of `wolfguard passwd`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The password file (created if missing).
    #[arg(short = 'c', long = "passwd", default_value = "/etc/wolfguard/passwd")]
    pub file: PathBuf,
    /// Comma-separated groups for the user (ocpasswd -g).
    #[arg(short, long)]
    pub groups: Option<String>,
    /// Lock the account (prefix the hash with `!`).
    #[arg(short, long, conflicts_with_all = ["unlock", "delete"])]
    pub lock: bool,
    /// Unlock the account.
    #[arg(short, long, conflicts_with = "delete")]
    pub unlock: bool,
    /// Delete the user.
    #[arg(short, long)]
    pub delete: bool,
    /// The user name.
    pub user: String,
}

/// Runs the command. A new password is read as one line from standard input.
pub fn main(args: &Args) -> anyhow::Result<()> {
    validate_name(&args.user, "user name")?;
    if let Some(g) = &args.groups {
        for group in g.split(',') {
            validate_name(group, "group name")?;
        }
    }
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", args.file.display())),
    };
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let pos = lines
        .iter()
        .position(|l| l.split(':').next() == Some(args.user.as_str()));
    match (pos, args.delete, args.lock, args.unlock) {
        (None, true, ..) | (None, _, true, _) | (None, _, _, true) => {
            bail!("user {} is not in {}", args.user, args.file.display())
        }
        (Some(i), true, ..) => {
            lines.remove(i);
        }
        (Some(i), _, true, _) => lines[i] = set_lock(&lines[i], true),
        (Some(i), _, _, true) => lines[i] = set_lock(&lines[i], false),
        (pos, false, false, false) => {
            let password = crate::read_stdin_line()?;
            if password.is_empty() {
                bail!("empty password: give the new password as one line on standard input");
            }
            let groups = match (&args.groups, pos) {
                (Some(g), _) => g.clone(),
                (None, Some(i)) => lines[i].split(':').nth(1).unwrap_or("*").to_owned(),
                (None, None) => "*".to_owned(),
            };
            let line = format!("{}:{}:{}", args.user, groups, hash_password(&password));
            match pos {
                Some(i) => lines[i] = line,
                None => lines.push(line),
            }
        }
    }
    write_atomic(&args.file, &lines)
}

fn set_lock(line: &str, lock: bool) -> String {
    let mut parts: Vec<&str> = line.splitn(3, ':').collect();
    let hash = parts.get(2).copied().unwrap_or("");
    let bare = hash.trim_start_matches('!');
    let new = if lock {
        format!("!{bare}")
    } else {
        bare.to_owned()
    };
    parts.truncate(2);
    format!("{}:{}", parts.join(":"), new)
}

fn validate_name(name: &str, what: &str) -> anyhow::Result<()> {
    if name.is_empty() || name.contains([':', ',', '\n', '\r']) || name.len() > 128 {
        bail!("invalid {what} {name:?}: it must be 1-128 characters without ':', ',' or newlines");
    }
    Ok(())
}

/// Writes `lines` to `path` atomically with mode 0600.
pub fn write_atomic(path: &Path, lines: &[String]) -> anyhow::Result<()> {
    let tmp = path.with_extension("wolfguard-tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    for l in lines {
        writeln!(f, "{l}")?;
    }
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_and_unlock_keep_the_hash() {
        let l = "u:g:$6$s$h";
        assert_eq!(set_lock(l, true), "u:g:!$6$s$h");
        assert_eq!(set_lock(&set_lock(l, true), true), "u:g:!$6$s$h");
        assert_eq!(set_lock("u:g:!$6$s$h", false), l);
    }

    #[test]
    fn names_with_separators_are_refused() {
        assert!(validate_name("a:b", "user name").is_err());
        assert!(validate_name("", "user name").is_err());
        assert!(validate_name("alice", "user name").is_ok());
    }
}
