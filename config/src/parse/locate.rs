//! Positions of keys in the text, for issues found after parsing (ranges, cross-key rules).

use toml_edit::{ImDocument, Item, TableLike, Value};

use crate::error::{ConfigIssue, Position};

/// Fills in the position of each issue whose key is written in `text`.
pub(crate) fn locate_all(text: &str, mut issues: Vec<ConfigIssue>) -> Vec<ConfigIssue> {
    let Ok(doc) = ImDocument::parse(text) else {
        return issues;
    };
    for issue in issues.iter_mut().filter(|issue| issue.position.is_none()) {
        issue.position = locate(doc.as_item(), &issue.key).map(|offset| Position::at(text, offset));
    }
    issues
}

/// One step of a dotted key path.
#[derive(Debug, PartialEq)]
enum Step<'a> {
    Name(&'a str),
    Index(usize),
}

/// A node of the document: tables of both kinds, array elements and plain values.
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a Item),
    Table(&'a toml_edit::Table),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn table(self) -> Option<&'a dyn TableLike> {
        match self {
            Self::Item(item) => item.as_table_like(),
            Self::Table(table) => Some(table),
            Self::Value(value) => value.as_inline_table().map(|t| t as &dyn TableLike),
        }
    }

    fn element(self, index: usize) -> Option<(Node<'a>, Option<usize>)> {
        let array = match self {
            Self::Item(Item::ArrayOfTables(tables)) => {
                let table = tables.get(index)?;
                return Some((Node::Table(table), table.span().map(|s| s.start)));
            }
            Self::Item(Item::Value(Value::Array(array))) | Self::Value(Value::Array(array)) => {
                array
            }
            _ => return None,
        };
        let value = array.get(index)?;
        Some((Node::Value(value), value.span().map(|s| s.start)))
    }
}

/// The byte offset of the last step of `key` that the document spells out.
fn locate(root: &Item, key: &str) -> Option<usize> {
    let mut node = Node::Item(root);
    let mut offset = None;
    for step in steps(key) {
        let (next, at) = match step {
            Step::Name(name) => {
                let (key, item) = node.table()?.get_key_value(name)?;
                (Node::Item(item), key.span().map(|s| s.start))
            }
            Step::Index(index) => node.element(index)?,
        };
        node = next;
        offset = at.or(offset);
    }
    offset
}

/// `auth.groups[1].name` → `auth`, `groups`, 1, `name`; quoted names lose their quotes.
fn steps(key: &str) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    let mut rest = key;
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            out.push(Step::Name(&quoted[..end]));
            rest = quoted.get(end + 1..).unwrap_or("");
        } else if let Some(index) = rest.strip_prefix('[') {
            let end = index.find(']').unwrap_or(index.len());
            match index[..end].parse() {
                Ok(i) => out.push(Step::Index(i)),
                Err(_) => return out,
            }
            rest = index.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            out.push(Step::Name(&rest[..end]));
            rest = &rest[end..];
        }
        rest = rest.strip_prefix('.').unwrap_or(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_split_names_indexes_and_quotes() {
        use Step::{Index, Name};
        assert_eq!(
            steps("auth.groups[1].name"),
            [Name("auth"), Name("groups"), Index(1), Name("name")]
        );
        assert_eq!(
            steps("plugins.\"a.b\".load"),
            [Name("plugins"), Name("a.b"), Name("load")]
        );
        assert_eq!(
            steps("server.listen[0]"),
            [Name("server"), Name("listen"), Index(0)]
        );
    }

    #[test]
    fn finds_keys_tables_and_elements() {
        let text = "[server]\nlisten = [\"a\", \"b\"]\n\n[[auth.groups]]\nname = \"x\"\n\
                    [[auth.groups]]\nname = \"y\"\n[network]\nmtu = { a = 1 }\n";
        let issue = |key: &str| ConfigIssue::new(key, "", "");
        let keys = [
            "server.listen[1]",
            "auth.groups[1].name",
            "network.mtu.a",
            "tls.groups",
            "server",
        ];
        let found: Vec<_> = locate_all(text, keys.iter().map(|k| issue(k)).collect())
            .into_iter()
            .map(|i| i.position.map(|p| (p.line, p.column)))
            .collect();
        assert_eq!(
            found,
            [
                Some((2, 16)),
                Some((7, 1)),
                Some((9, 9)),
                None,
                Some((1, 2))
            ]
        );
    }
}
