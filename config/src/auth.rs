//! `[auth]`: the password file, login attempts, banners and the groups a user may select.

use std::collections::HashSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::Checker;

/// The `[auth]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Users and password hashes in ocpasswd format (`user:group1,group2:hash`). Required unless
    /// a `[plugins.<name>]` auth plugin authenticates instead; must not be writable by other
    /// users. ocserv: `auth = "plain[passwd=…]"`.
    pub password_file: PathBuf,
    /// Wrong passwords allowed per login before the connection is closed.
    pub max_tries: u32,
    /// Text shown after a successful login (`X-CSTP-Banner`). ocserv: `banner`.
    pub banner: Option<String>,
    /// Text shown on the login form, before credentials. ocserv: `pre-login-banner`.
    pub pre_login_banner: Option<String>,
    /// Groups offered on the login form (`select-group`). ocserv: `select-group`.
    pub groups: Vec<GroupDef>,
    /// The group preselected on the form; must be one of `groups`. ocserv: `default-select-group`.
    pub default_group: Option<String>,
}

/// One `[[auth.groups]]` entry: a group a user may pick on the login form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDef {
    /// The group's name, as in the password file and in per-group settings.
    pub name: String,
    /// What the form shows; the name when absent. ocserv: `select-group = name[label]`.
    pub label: Option<String>,
}

impl GroupDef {
    /// The text shown on the form: the label, or else the name.
    pub fn display_label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.name)
    }
}

impl AuthConfig {
    /// `plugins`: whether any `[plugins.<name>]` table exists; an auth plugin may then replace
    /// the password file (the daemon refuses to start if none authenticates).
    pub(crate) fn validate(&self, check: &mut Checker, plugins: bool) {
        if !plugins {
            check.required_path("auth.password_file", &self.password_file);
        }
        check.range("auth.max_tries", self.max_tries.into(), 1, 20, "attempts");
        for (key, banner) in [
            ("auth.banner", &self.banner),
            ("auth.pre_login_banner", &self.pre_login_banner),
        ] {
            if let Some(banner) = banner {
                check_text(check, key, banner, 8192, true);
            }
        }
        let mut names = HashSet::new();
        for (i, group) in self.groups.iter().enumerate() {
            let key = format!("auth.groups[{i}]");
            check_text(check, &format!("{key}.name"), &group.name, 64, false);
            if let Some(label) = &group.label {
                check_text(check, &format!("{key}.label"), label, 128, false);
            }
            if !names.insert(group.name.as_str()) {
                check.push(
                    format!("{key}.name"),
                    format!("group {:?} is defined twice", group.name),
                    "give each [[auth.groups]] entry its own name",
                );
            }
        }
        if let Some(default) = &self.default_group {
            if !names.contains(default.as_str()) {
                let known: Vec<_> = self
                    .groups
                    .iter()
                    .map(|g| format!("{:?}", g.name))
                    .collect();
                let fix = if known.is_empty() {
                    "add an [[auth.groups]] entry with that name, or remove default_group".into()
                } else {
                    format!(
                        "use one of {}, or add an [[auth.groups]] entry",
                        known.join(", ")
                    )
                };
                check.push(
                    "auth.default_group",
                    format!("{default:?} is not one of the [[auth.groups]]"),
                    fix,
                );
            }
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            password_file: PathBuf::new(),
            max_tries: 3,
            banner: None,
            pre_login_banner: None,
            groups: Vec::new(),
            default_group: None,
        }
    }
}

/// Reports text that is empty, too long, or holds control characters (which would break the
/// HTTP header or XML it is sent in); `multiline` allows newlines and tabs.
fn check_text(check: &mut Checker, key: &str, text: &str, max: usize, multiline: bool) {
    let bad_char = text
        .chars()
        .find(|&c| c.is_control() && !(multiline && (c == '\n' || c == '\t')));
    if text.trim().is_empty() {
        check.push(key, "is empty", "write some text, or remove the key");
    } else if text.len() > max {
        check.push(
            key,
            format!("is {} bytes long", text.len()),
            format!("shorten it to at most {max} bytes"),
        );
    } else if let Some(c) = bad_char {
        check.push(
            key,
            format!("contains the control character {c:?}"),
            if multiline {
                "remove it (only newlines and tabs are allowed)"
            } else {
                "remove it (write a single line)"
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str) -> GroupDef {
        GroupDef {
            name: name.into(),
            label: None,
        }
    }

    #[test]
    fn label_falls_back_to_name() {
        let mut g = group("eng");
        assert_eq!(g.display_label(), "eng");
        g.label = Some("Engineering".into());
        assert_eq!(g.display_label(), "Engineering");
    }

    #[test]
    fn groups_and_banners_are_checked() {
        let config = AuthConfig {
            password_file: "/p".into(),
            banner: Some("Welcome\nto the VPN".into()),
            pre_login_banner: Some("bell\u{7}".into()),
            groups: vec![group("eng"), group("eng"), group("")],
            default_group: Some("sales".into()),
            ..AuthConfig::default()
        };
        let mut check = Checker::default();
        config.validate(&mut check, false);
        let keys: Vec<_> = check.issues().iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "auth.pre_login_banner",
                "auth.groups[1].name",
                "auth.groups[2].name",
                "auth.default_group"
            ]
        );
        assert!(check.issues()[3].fix.contains("\"eng\""));
    }
}
