//! Server-side XML documents: the `auth-request` form and the `complete` answer (§2.6, §2.9).

use std::fmt::Write as _;

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const SERVER_VERSION: &str = "<version who=\"sg\">0.1(1)</version>\n";

/// One entry of the group selector: `<option value="name">label</option>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupOption {
    /// The real group name (`value=`).
    pub name: String,
    /// The friendly name shown to the user (the option text).
    pub label: String,
}

/// An `auth-request` form, as ocserv sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthForm {
    /// Pre-login banner (`<banner>`), if configured.
    pub banner: Option<String>,
    /// The prompt (`<message>`), e.g. `Please enter your username and password.`.
    pub message: String,
    /// An error to show (`<error>`), e.g. after a failed attempt.
    pub error: Option<String>,
    /// Whether to ask for the username (`<input type="text" name="username">`).
    pub ask_username: bool,
    /// Whether to ask for a password (`<input type="password" name="password">`).
    pub ask_password: bool,
    /// The password field's label, normally `Password:`.
    pub password_label: String,
    /// The password input's name: `password` on the first form, `secondary_password` on a
    /// follow-up question (OTP, challenge), as ocserv names them. Either way the reply is read
    /// by [`parse_auth_post`](super::parse_auth_post) as the password.
    pub password_name: PasswordField,
    /// Groups to offer; no `<select>` is written when empty.
    pub groups: Vec<GroupOption>,
    /// The group already chosen; listed first, as clients expect (§2.10).
    pub selected_group: Option<String>,
    /// The form's `action`, normally `/auth`.
    pub action: String,
}

impl Default for AuthForm {
    /// The first form of ocserv ≥ 1.4: username and password together.
    fn default() -> Self {
        Self {
            banner: None,
            message: "Please enter your username and password.".to_owned(),
            error: None,
            ask_username: true,
            ask_password: true,
            password_label: "Password:".to_owned(),
            password_name: PasswordField::Password,
            groups: Vec::new(),
            selected_group: None,
            action: "/auth".to_owned(),
        }
    }
}

/// The name of a form's password input (fixed names only: nothing from a plugin reaches it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordField {
    /// `password`: the first form.
    Password,
    /// `secondary_password`: a follow-up question.
    Secondary,
}

impl PasswordField {
    /// The input's `name`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Secondary => "secondary_password",
        }
    }
}

impl AuthForm {
    /// The complete `<config-auth type="auth-request">` document, every value XML-escaped.
    ///
    /// The password input is named `password` or `secondary_password`: openconnect answers it
    /// with an element of that name, which [`parse_auth_post`](super::parse_auth_post) reads
    /// as the password either way.
    pub fn to_xml(&self) -> String {
        let mut x = String::with_capacity(512);
        x.push_str(XML_DECL);
        x.push_str("<config-auth client=\"vpn\" type=\"auth-request\">\n");
        x.push_str(SERVER_VERSION);
        x.push_str("<auth id=\"main\">\n");
        if let Some(banner) = &self.banner {
            element(&mut x, "banner", banner);
        }
        element(&mut x, "message", &self.message);
        if let Some(error) = &self.error {
            let _ = writeln!(x, "<error id=\"88\">{}</error>", xml_escape(error));
        }
        let _ = writeln!(
            x,
            "<form method=\"post\" action=\"{}\">",
            xml_escape(&self.action)
        );
        if self.ask_username {
            x.push_str("<input type=\"text\" name=\"username\" label=\"Username:\" />\n");
        }
        if self.ask_password {
            let _ = writeln!(
                x,
                "<input type=\"password\" name=\"{}\" label=\"{}\" />",
                self.password_name.as_str(),
                xml_escape(&self.password_label)
            );
        }
        if !self.groups.is_empty() {
            x.push_str("<select name=\"group_list\" label=\"Group:\">\n");
            for g in self.ordered_groups() {
                let _ = writeln!(
                    x,
                    "<option value=\"{}\">{}</option>",
                    xml_escape(&g.name),
                    xml_escape(&g.label)
                );
            }
            x.push_str("</select>\n");
        }
        x.push_str("</form></auth>\n</config-auth>\n");
        x
    }

    /// The groups in the order they are offered: the selected one first (added with its name as
    /// label when it is not among `groups`), then the others in configuration order.
    fn ordered_groups(&self) -> Vec<GroupOption> {
        let mut out = Vec::with_capacity(self.groups.len() + 1);
        if let Some(sel) = &self.selected_group {
            match self.groups.iter().find(|g| &g.name == sel) {
                Some(g) => out.push(g.clone()),
                None => out.push(GroupOption {
                    name: sel.clone(),
                    label: sel.clone(),
                }),
            }
        }
        out.extend(
            self.groups
                .iter()
                .filter(|g| Some(&g.name) != self.selected_group.as_ref())
                .cloned(),
        );
        out
    }
}

/// The `type="complete"` document that ends the exchange (sent with `Set-Cookie: webvpn=…`).
pub fn complete_xml(banner: Option<&str>) -> String {
    let mut x = String::with_capacity(256);
    x.push_str(XML_DECL);
    x.push_str("<config-auth client=\"vpn\" type=\"complete\">\n");
    x.push_str(SERVER_VERSION);
    x.push_str("<auth id=\"success\">\n<title>SSL VPN Service</title>");
    if let Some(b) = banner {
        let _ = write!(x, "<banner>{}</banner>", xml_escape(b));
    }
    x.push_str("</auth></config-auth>\n");
    x
}

/// Maps a submitted group (real or friendly name, §2.10) to its real name.
///
/// Real names take precedence over friendly ones; matching is exact. `None` means the value is
/// not listed: the daemon decides whether to pass it on anyway, as ocserv does.
pub fn resolve_group(submitted: &str, groups: &[GroupOption]) -> Option<String> {
    groups
        .iter()
        .find(|g| g.name == submitted)
        .or_else(|| groups.iter().find(|g| g.label == submitted))
        .map(|g| g.name.clone())
}

/// Escapes text for XML content and attribute values.
///
/// Characters XML 1.0 forbids (C0 controls other than tab, CR and LF) are dropped, since no
/// escape can represent them and they would make the client's parser reject the document.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if u32::from(c) < 0x20 => {}
            '\u{fffe}' | '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

fn element(x: &mut String, name: &str, text: &str) {
    let _ = writeln!(x, "<{name}>{}</{name}>", xml_escape(text));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{AuthPostKind, parse_auth_post};

    fn groups() -> Vec<GroupOption> {
        vec![
            GroupOption {
                name: "engineering".into(),
                label: "Engineering Team".into(),
            },
            GroupOption {
                name: "sales".into(),
                label: "sales".into(),
            },
        ]
    }

    #[test]
    fn section_9_first_form() {
        let xml = AuthForm::default().to_xml();
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<config-auth client=\"vpn\" type=\"auth-request\">\n\
<version who=\"sg\">0.1(1)</version>\n\
<auth id=\"main\">\n\
<message>Please enter your username and password.</message>\n\
<form method=\"post\" action=\"/auth\">\n\
<input type=\"text\" name=\"username\" label=\"Username:\" />\n\
<input type=\"password\" name=\"password\" label=\"Password:\" />\n\
</form></auth>\n\
</config-auth>\n"
        );
    }

    #[test]
    fn groups_banner_error_and_selection() {
        let form = AuthForm {
            banner: Some("Welcome <all>".into()),
            error: Some("Login failed.".into()),
            ask_username: false,
            groups: groups(),
            selected_group: Some("sales".into()),
            ..AuthForm::default()
        };
        let xml = form.to_xml();
        assert!(xml.contains("<banner>Welcome &lt;all&gt;</banner>\n<message>"));
        assert!(xml.contains("<error id=\"88\">Login failed.</error>\n<form"));
        assert!(!xml.contains("name=\"username\""));
        let sales = xml.find("value=\"sales\"").unwrap();
        let eng = xml
            .find("<option value=\"engineering\">Engineering Team</option>")
            .unwrap();
        assert!(sales < eng, "selected group first");
        assert_eq!(xml.matches("<option").count(), 2);
        assert!(xml.contains("<select name=\"group_list\" label=\"Group:\">\n"));
        // The output is well-formed enough for our own parser.
        assert_eq!(
            parse_auth_post(xml.as_bytes()).unwrap().kind,
            AuthPostKind::Other
        );
    }

    #[test]
    fn unlisted_selection_is_listed_first() {
        let form = AuthForm {
            groups: groups(),
            selected_group: Some("x\"y".into()),
            ..Default::default()
        };
        let xml = form.to_xml();
        assert!(xml.contains("<select name=\"group_list\" label=\"Group:\">\n<option value=\"x&quot;y\">x&quot;y</option>"));
        assert_eq!(xml.matches("<option").count(), 3);
    }

    #[test]
    fn escaping_is_complete() {
        assert_eq!(xml_escape("a&<>\"'b"), "a&amp;&lt;&gt;&quot;&apos;b");
        assert_eq!(xml_escape("x\u{0}\u{1b}y\tz\n"), "xy\tz\n");
        let form = AuthForm {
            message: "</message><evil/>".into(),
            action: "/auth\"><x".into(),
            password_label: "P\"".into(),
            ..Default::default()
        };
        let xml = form.to_xml();
        assert!(xml.contains("name=\"password\" label="));
        let second = AuthForm {
            password_name: PasswordField::Secondary,
            ..form.clone()
        };
        assert!(
            second
                .to_xml()
                .contains("name=\"secondary_password\" label=")
        );
        assert!(!xml.contains("<evil/>"));
        assert!(xml.contains("action=\"/auth&quot;&gt;&lt;x\""));
        assert!(xml.contains("label=\"P&quot;\""));
    }

    #[test]
    fn complete_documents() {
        assert_eq!(
            complete_xml(None),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<config-auth client=\"vpn\" type=\"complete\">\n\
<version who=\"sg\">0.1(1)</version>\n\
<auth id=\"success\">\n\
<title>SSL VPN Service</title></auth></config-auth>\n"
        );
        assert!(
            complete_xml(Some("Welcome & test")).contains(
                "<title>SSL VPN Service</title><banner>Welcome &amp; test</banner></auth>"
            )
        );
    }

    #[test]
    fn group_resolution() {
        let g = groups();
        assert_eq!(
            resolve_group("engineering", &g).as_deref(),
            Some("engineering")
        );
        assert_eq!(
            resolve_group("Engineering Team", &g).as_deref(),
            Some("engineering")
        );
        assert_eq!(resolve_group("engineering team", &g), None);
        assert_eq!(resolve_group("", &g), None);
        // A real name beats another group's identical friendly name.
        let tricky = vec![
            GroupOption {
                name: "a".into(),
                label: "b".into(),
            },
            GroupOption {
                name: "b".into(),
                label: "B".into(),
            },
        ];
        assert_eq!(resolve_group("b", &tricky).as_deref(), Some("b"));
    }
}
