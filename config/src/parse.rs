//! Text to [`Config`]: syntax check, typed deserialization with the key path tracked, and the
//! translation of parser and serde messages into issues that name the key and the fix.

mod locate;

use std::path::Path;

use serde_path_to_error::Segment;

use crate::error::{ConfigError, ConfigIssue, Position};
use crate::value::FIX_SEPARATOR;
use crate::{Config, example};

pub(crate) use locate::locate_all;

/// Parses `text` into a [`Config`] without semantic validation.
pub(crate) fn parse(text: &str, origin: &Path) -> Result<Config, ConfigError> {
    if let Err(err) = toml_edit::ImDocument::parse(text) {
        return Err(ConfigError::Syntax {
            path: origin.to_path_buf(),
            position: Position::at(text, err.span().map_or(0, |span| span.start)),
            message: err
                .message()
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    serde_path_to_error::deserialize(toml::Deserializer::new(text)).map_err(|err| {
        ConfigError::Invalid {
            path: origin.to_path_buf(),
            issues: vec![translate(text, &err)],
        }
    })
}

/// One issue from one deserialization error.
fn translate(text: &str, err: &serde_path_to_error::Error<toml::de::Error>) -> ConfigIssue {
    let segments: Vec<&Segment> = err.path().iter().collect();
    let key = dotted(&segments);
    let inner = err.inner();
    let message = inner.message().trim();
    let mut issue = if let Some((problem, fix)) = message.split_once(FIX_SEPARATOR) {
        ConfigIssue::new(&key, problem, fix)
    } else if let Some(rest) = message.strip_prefix("unknown field `") {
        // The path ends with the unknown key itself; its table is the path before it.
        let table = match segments.split_last() {
            Some((Segment::Map { .. }, parent)) => dotted(parent),
            _ => key.clone(),
        };
        unknown_key(&table, rest)
    } else if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        let key = join(&key, name);
        let fix = match example::line_for(&key) {
            Some(line) => format!("add {line}"),
            None => format!("add {name} = …"),
        };
        ConfigIssue::new(key, "is required but missing", fix)
    } else if let Some(rest) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
    {
        let (got, expected) = rest
            .rsplit_once(", expected ")
            .unwrap_or((rest, "another value"));
        let got = match got {
            "map" => "a table or date".to_owned(),
            "sequence" => "an array".to_owned(),
            other => other.replace('`', ""),
        };
        let problem = if message.starts_with("invalid type") {
            format!("{got} is the wrong type")
        } else {
            format!("{got} is out of range")
        };
        ConfigIssue::new(&key, problem, fix_for(&key, expected))
    } else {
        ConfigIssue::new(&key, message, fix_for(&key, ""))
    };
    issue.position = inner.span().map(|span| Position::at(text, span.start));
    issue
}

/// The dotted form of a serde path: `auth.groups[1].name`, `plugins."my.plugin".load`.
fn dotted(path: &[&Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => out = join(&out, key),
            Segment::Unknown => out = join(&out, "?"),
        }
    }
    out
}

/// `table` + `.` + `key`, quoting a key that is not a bare TOML key.
fn join(table: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c));
    let key = if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    };
    if table.is_empty() {
        key
    } else {
        format!("{table}.{key}")
    }
}

/// An unknown key: `rest` is serde's text after "unknown field `": ``name`, expected one of
/// `a`, `b` `` (or `there are no fields`).
fn unknown_key(table: &str, rest: &str) -> ConfigIssue {
    let (name, valid_part) = rest.split_once('`').unwrap_or((rest, ""));
    let valid: Vec<&str> = valid_part.split('`').skip(1).step_by(2).collect();
    let key = join(table, name);
    let problem = format!("unknown key {name:?}");
    let place = if table.is_empty() {
        "valid top-level tables are".to_owned()
    } else {
        format!("valid keys in [{}] are", strip_index(table))
    };
    let fix = match (nearest(name, &valid), valid.is_empty()) {
        (_, true) => "remove it; this table takes no keys".to_owned(),
        (Some(near), _) => format!("did you mean {near:?}? {place}: {}", valid.join(", ")),
        (None, _) => format!("remove or rename it; {place}: {}", valid.join(", ")),
    };
    ConfigIssue::new(key, problem, fix)
}

/// `auth.groups[0]` → `auth.groups` (the way a table is written in the file).
fn strip_index(table: &str) -> &str {
    table.split_once('[').map_or(table, |(head, _)| head)
}

/// A fix for a value of the wrong type or range: the example's line when there is one.
fn fix_for(key: &str, expected: &str) -> String {
    let expected = humanize(expected);
    match example::line_for(key) {
        Some(line) if line.starts_with('[') => format!("write it as a table: {line}"),
        Some(line) => format!("write {expected}, e.g. {line}"),
        None if expected.is_empty() => "see wolfguard.example.toml for the valid form".into(),
        None => format!("write {expected}"),
    }
}

/// serde's "expected …" phrase in an administrator's words.
fn humanize(expected: &str) -> String {
    let number = |max: u64| format!("a whole number from 0 to {max}");
    match expected {
        "u8" => number(u8::MAX.into()),
        "u16" => number(u16::MAX.into()),
        "u32" => number(u32::MAX.into()),
        "u64" | "usize" => "a whole number".into(),
        "a boolean" => "true or false".into(),
        "a string" | "path string" => "a string in double quotes".into(),
        "a sequence" | "an array of strings" => "an array, e.g. [\"a\", \"b\"]".into(),
        "a map" => "a table".into(),
        other if other.starts_with("struct ") => "a table".into(),
        other => other.into(),
    }
}

/// The candidate closest to `name` by edit distance, if it is close enough to be a typo.
fn nearest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&name, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(
            nearest("ipv4pool", &["ipv4_pool", "ipv6_pool"]),
            Some("ipv4_pool")
        );
        assert_eq!(nearest("zzzzzz", &["dns", "mtu"]), None);
    }

    #[test]
    fn keys_are_quoted_when_not_bare() {
        assert_eq!(join("plugins", "my.plugin"), "plugins.\"my.plugin\"");
        assert_eq!(join("", "server"), "server");
    }

    #[test]
    fn humanized_types() {
        assert_eq!(humanize("u16"), "a whole number from 0 to 65535");
        assert_eq!(humanize("struct NetworkConfig"), "a table");
    }
}
