//! Lookups in the annotated example, so that fixes quote the documented form of a key and tests
//! can prove every key is documented.

use crate::EXAMPLE;

/// The example's line for a dotted `key` (`network.mtu`, `auth.groups[0].name`), e.g.
/// `mtu = 1500`; a line that is commented out in the example is returned without the `#`. A
/// top-level key gives its table header, e.g. `[network]`.
pub(crate) fn line_for(key: &str) -> Option<String> {
    let key = strip_indexes(key);
    let (section, name) = match key.rsplit_once('.') {
        Some((section, name)) => (section, name),
        None => return header_for(&key),
    };
    // Prefer a line that is in effect over one that is commented out.
    for commented in [false, true] {
        let mut current = String::new();
        for raw in EXAMPLE.lines() {
            let (is_comment, line) = uncomment(raw);
            if let Some(header) = parse_header(line) {
                current = header;
                continue;
            }
            if current == section && is_comment == commented && assigns(line, name) {
                return Some(line.to_owned());
            }
        }
    }
    None
}

/// The header line of a top-level table, active or commented out.
fn header_for(table: &str) -> Option<String> {
    EXAMPLE
        .lines()
        .map(|raw| uncomment(raw).1)
        .find_map(|line| {
            let header = parse_header(line)?;
            (header == table).then(|| line.to_owned())
        })
}

/// `auth.groups[0].name` → `auth.groups.name`.
fn strip_indexes(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut depth = 0usize;
    for c in key.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Whether the line is a comment, and the line without its comment marker and indentation.
fn uncomment(raw: &str) -> (bool, &str) {
    let line = raw.trim();
    match line.strip_prefix('#') {
        Some(rest) => (true, rest.trim()),
        None => (false, line),
    }
}

/// `[a.b]` or `[[a.b]]` → `a.b`; anything else (prose, arrays) → `None`.
fn parse_header(line: &str) -> Option<String> {
    let inner = line
        .strip_prefix("[[")
        .and_then(|l| l.strip_suffix("]]"))
        .or_else(|| line.strip_prefix('[').and_then(|l| l.strip_suffix(']')))?;
    let bare = |c: char| c.is_ascii_alphanumeric() || "_-.".contains(c);
    (!inner.is_empty() && inner.chars().all(bare)).then(|| inner.to_owned())
}

/// Whether `line` is `name = …`.
fn assigns(line: &str, name: &str) -> bool {
    line.strip_prefix(name)
        .is_some_and(|rest| rest.trim_start().starts_with('='))
}

/// Every key of `config` as a dotted path, with arrays of tables entered through their first
/// element and `[plugins]` kept whole (its contents belong to the plugins).
#[cfg(test)]
pub(crate) fn leaf_keys(config: &crate::Config) -> Vec<String> {
    fn walk(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
        for (key, value) in table {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match value {
                toml::Value::Table(inner) if path != "plugins" => walk(&path, inner, out),
                toml::Value::Array(items) if items.first().is_some_and(toml::Value::is_table) => {
                    if let Some(toml::Value::Table(first)) = items.first() {
                        walk(&path, first, out);
                    }
                }
                _ => out.push(path),
            }
        }
    }
    let table = toml::Table::try_from(config).expect("a Config serializes to a table");
    let mut out = Vec::new();
    walk("", &table, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_active_and_commented_lines() {
        assert_eq!(line_for("network.mtu").as_deref(), Some("mtu = 1500"));
        assert_eq!(line_for("network").as_deref(), Some("[network]"));
        assert_eq!(line_for("plugins").as_deref(), Some("[plugins]"));
        let line = line_for("network.ipv6_pool").unwrap();
        assert!(line.starts_with("ipv6_pool = \""), "{line}");
        let line = line_for("auth.groups[3].label").unwrap();
        assert!(line.starts_with("label = "), "{line}");
        assert_eq!(line_for("network.nonexistent"), None);
        assert_eq!(line_for("nonexistent"), None);
    }

    #[test]
    fn headers_and_indexes() {
        assert_eq!(
            parse_header("[[auth.groups]]").as_deref(),
            Some("auth.groups")
        );
        assert_eq!(parse_header("[server]").as_deref(), Some("server"));
        assert_eq!(parse_header("[\"a\", \"b\"]"), None);
        assert_eq!(strip_indexes("server.listen[12]"), "server.listen");
        assert!(assigns("mtu   = 1", "mtu"));
        assert!(!assigns("mtu_x = 1", "mtu"));
    }
}
