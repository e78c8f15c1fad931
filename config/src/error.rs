//! What went wrong, where, and how to fix it.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A 1-based line and column in the configuration text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// Line number, from 1.
    pub line: usize,
    /// Column number in characters, from 1.
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` in `text` (clamped to the text, and to a char boundary).
    pub(crate) fn at(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Self { line, column }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One problem with one key: which key, what is wrong, and what to write instead.
///
/// Displays as `KEY: PROBLEM; FIX`; [`ConfigError`] adds the file and position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// The key as a dotted path, e.g. `network.ipv4_pool` or `auth.groups[1].name`; empty for
    /// the document itself.
    pub key: String,
    /// Where the key is written, when it is written in the text.
    pub position: Option<Position>,
    /// What is wrong, quoting the offending value.
    pub problem: String,
    /// What to do about it.
    pub fix: String,
}

impl ConfigIssue {
    /// An issue with no known position.
    pub fn new(key: impl Into<String>, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            position: None,
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// Writes `FILE[:LINE:COL]: KEY: PROBLEM; FIX`.
    fn fmt_in(&self, path: &Path, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", path.display())?;
        if let Some(position) = self.position {
            write!(f, ":{position}")?;
        }
        write!(f, ": {self}")
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = if self.key.is_empty() {
            "(top level)"
        } else {
            &self.key
        };
        write!(f, "{key}: {}; {}", self.problem, self.fix)
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error(
        "{}: cannot read the configuration file: {source}; check the path and its permissions, \
         or start from the annotated example wolfguard.example.toml",
        path.display()
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The text is not valid TOML.
    #[error(
        "{}:{position}: TOML syntax error: {message}; fix the syntax there (strings need double \
         quotes, e.g. server_name = \"vpn\"; tables are written [network])",
        path.display()
    )]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Where the parser stopped.
        position: Position,
        /// The parser's description of the problem.
        message: String,
    },
    /// The TOML is well formed but one or more keys are unknown, mistyped or out of range.
    #[error("{}", InvalidDisplay { path, issues })]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found, table by table in the order of [`crate::Config`]'s fields.
        issues: Vec<ConfigIssue>,
    },
}

impl ConfigError {
    /// The issues of an [`ConfigError::Invalid`] error; empty for the other kinds.
    pub fn issues(&self) -> &[ConfigIssue] {
        match self {
            Self::Invalid { issues, .. } => issues,
            _ => &[],
        }
    }
}

/// One line per issue, each naming the file.
struct InvalidDisplay<'a> {
    path: &'a Path,
    issues: &'a [ConfigIssue],
}

impl fmt::Display for InvalidDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.issues.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            issue.fmt_in(self.path, f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_lines_and_chars() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(Position::at(text, 0), Position { line: 1, column: 1 });
        assert_eq!(Position::at(text, 6), Position { line: 2, column: 1 });
        // Offset 8 is inside 'é'; it is clamped back to its start.
        assert_eq!(Position::at(text, 8), Position { line: 2, column: 2 });
        assert_eq!(Position::at(text, 1000), Position { line: 3, column: 1 });
    }

    #[test]
    fn invalid_lists_each_issue_with_file_and_position() {
        let mut first = ConfigIssue::new("network.mtu", "100 is too small", "use 1280 to 9000");
        first.position = Some(Position { line: 4, column: 1 });
        let second = ConfigIssue::new("auth.default_group", "\"x\" is not a group", "add it");
        let err = ConfigError::Invalid {
            path: "/etc/wolfguard/wolfguard.toml".into(),
            issues: vec![first, second],
        };
        assert_eq!(
            err.to_string(),
            "/etc/wolfguard/wolfguard.toml:4:1: network.mtu: 100 is too small; use 1280 to 9000\n\
             /etc/wolfguard/wolfguard.toml: auth.default_group: \"x\" is not a group; add it"
        );
        assert_eq!(err.issues().len(), 2);
    }
}
