//! Parsing of auth POST bodies: XML `config-auth` documents and legacy urlencoded forms.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Deepest element nesting accepted in an XML body (openconnect's documents use 3).
pub const MAX_DEPTH: usize = 16;
/// Most elements accepted in one XML body.
pub const MAX_ELEMENTS: usize = 512;
/// Longest value accepted for any extracted field, in bytes after unescaping.
pub const MAX_VALUE_LEN: usize = 1024;

/// What kind of auth POST this was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthPostKind {
    /// `<config-auth type="init">`: start (or restart, §2.10) of the exchange.
    Init,
    /// `<config-auth type="auth-reply">`: answers to a form.
    AuthReply,
    /// `<config-auth type="logout">` (Cisco clients on disconnect, §2.14).
    Logout,
    /// An `application/x-www-form-urlencoded` body (openconnect's legacy fallback).
    Legacy,
    /// XML with another or no `type`, or whose root is not `config-auth`.
    Other,
}

/// The fields the server needs from an auth POST. Absent elements are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthPost {
    /// Which request this is.
    pub kind: AuthPostKind,
    /// `<username>` (whitespace-trimmed).
    pub username: Option<String>,
    /// `<password>`, or else the first element whose name ends in `_password` (verbatim). This
    /// is ocserv's rule: a second-factor form answered with `<secondary_password>` arrives here
    /// too.
    pub password: Option<String>,
    /// `<secondary_password>` (verbatim), when present.
    pub secondary_password: Option<String>,
    /// `<group-select>` (whitespace-trimmed); `group_list` in legacy forms.
    pub group_select: Option<String>,
    /// `<session-token>` (whitespace-trimmed), sent by Cisco clients with `type="logout"`.
    pub session_token: Option<String>,
}

/// Why an auth POST body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthParseError {
    /// The body is not UTF-8 (or a legacy value does not percent-decode to UTF-8).
    #[error("body is not valid UTF-8")]
    NonUtf8,
    /// The XML is not well formed (message from the XML parser).
    #[error("malformed XML: {0}")]
    Xml(String),
    /// The XML has a DOCTYPE, which could declare entities; clients never send one.
    #[error("DOCTYPE declarations are not accepted")]
    DocType,
    /// Elements nested deeper than [`MAX_DEPTH`].
    #[error("XML nested deeper than {MAX_DEPTH}")]
    TooDeep,
    /// More than [`MAX_ELEMENTS`] elements.
    #[error("more than {MAX_ELEMENTS} XML elements")]
    TooManyElements,
    /// A field longer than [`MAX_VALUE_LEN`] bytes.
    #[error("value of {field} exceeds {MAX_VALUE_LEN} bytes")]
    ValueTooLong {
        /// The element or form key.
        field: String,
    },
    /// The document has no root element.
    #[error("XML document has no root element")]
    NoRoot,
    /// The document has more than one root element.
    #[error("XML document has several root elements")]
    MultipleRoots,
    /// The document ends inside an element.
    #[error("XML document is truncated")]
    Truncated,
    /// A legacy body has a `%` not followed by two hex digits.
    #[error("invalid percent-encoding in form body")]
    BadPercentEncoding,
}

/// Parses the body of an auth POST.
///
/// The body is XML when, after an optional UTF-8 byte-order mark and whitespace, it starts with
/// `<`; otherwise it is parsed as `application/x-www-form-urlencoded` (legacy mode: `username`,
/// the first key containing `password`, `group_list`; `+` is a space).
///
/// # Errors
///
/// See [`AuthParseError`]. Unknown elements are ignored; missing ones are `None`.
pub fn parse_auth_post(body: &[u8]) -> Result<AuthPost, AuthParseError> {
    let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
    let text = std::str::from_utf8(body).map_err(|_| AuthParseError::NonUtf8)?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('<') {
        parse_xml(trimmed)
    } else {
        parse_legacy(text)
    }
}

impl AuthPost {
    fn empty(kind: AuthPostKind) -> Self {
        Self {
            kind,
            username: None,
            password: None,
            secondary_password: None,
            group_select: None,
            session_token: None,
        }
    }
}

/// Which `AuthPost` slot an element's text goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Username,
    Password,
    SuffixPassword,
    Secondary,
    Group,
    Token,
}

/// Text being collected for an open element of interest.
struct Capture {
    field: Field,
    depth: usize,
    name: String,
    text: String,
}

fn parse_xml(doc: &str) -> Result<AuthPost, AuthParseError> {
    let mut reader = Reader::from_str(doc);
    let config = reader.config_mut();
    config.check_end_names = true;
    config.expand_empty_elements = false;
    let mut post = AuthPost::empty(AuthPostKind::Other);
    let mut suffix_password: Option<String> = None;
    let mut depth = 0usize;
    let mut elements = 0usize;
    let mut roots = 0usize;
    let mut capture: Option<Capture> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| AuthParseError::Xml(e.to_string()))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(AuthParseError::TooManyElements);
                }
                if depth == 0 {
                    roots += 1;
                    if roots > 1 {
                        return Err(AuthParseError::MultipleRoots);
                    }
                    post.kind = root_kind(e)?;
                }
                // Walk the attributes so malformed or duplicated ones are refused too.
                for attr in e.attributes() {
                    attr.map_err(|e| AuthParseError::Xml(e.to_string()))?;
                }
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let new_depth = depth + 1;
                if new_depth > MAX_DEPTH {
                    return Err(AuthParseError::TooDeep);
                }
                if capture.is_none() {
                    if let Some(field) = field_of(&name) {
                        let c = Capture {
                            field,
                            depth: new_depth,
                            name,
                            text: String::new(),
                        };
                        if is_empty {
                            store(&mut post, &mut suffix_password, c);
                        } else {
                            capture = Some(c);
                        }
                    }
                }
                if !is_empty {
                    depth = new_depth;
                }
            }
            Event::End(_) => {
                if capture.as_ref().is_some_and(|c| c.depth == depth) {
                    let c = capture.take().expect("checked is_some just above");
                    store(&mut post, &mut suffix_password, c);
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) => {
                if let Some(c) = capture.as_mut().filter(|c| c.depth == depth) {
                    let s = t
                        .unescape()
                        .map_err(|e| AuthParseError::Xml(e.to_string()))?;
                    append_capped(c, &s)?;
                }
            }
            Event::CData(t) => {
                if let Some(c) = capture.as_mut().filter(|c| c.depth == depth) {
                    let s = t.decode().map_err(|e| AuthParseError::Xml(e.to_string()))?;
                    append_capped(c, &s)?;
                }
            }
            Event::DocType(_) => return Err(AuthParseError::DocType),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if depth != 0 {
        return Err(AuthParseError::Truncated);
    }
    if roots == 0 {
        return Err(AuthParseError::NoRoot);
    }
    if post.password.is_none() {
        post.password = suffix_password;
    }
    Ok(post)
}

fn root_kind(root: &BytesStart<'_>) -> Result<AuthPostKind, AuthParseError> {
    if root.local_name().as_ref() != b"config-auth" {
        return Ok(AuthPostKind::Other);
    }
    let attr = root
        .try_get_attribute("type")
        .map_err(|e| AuthParseError::Xml(e.to_string()))?;
    let Some(attr) = attr else {
        return Ok(AuthPostKind::Other);
    };
    let value = attr
        .unescape_value()
        .map_err(|e| AuthParseError::Xml(e.to_string()))?;
    Ok(match &*value {
        "init" => AuthPostKind::Init,
        "auth-reply" => AuthPostKind::AuthReply,
        "logout" => AuthPostKind::Logout,
        _ => AuthPostKind::Other,
    })
}

fn field_of(name: &str) -> Option<Field> {
    Some(match name {
        "username" => Field::Username,
        "password" => Field::Password,
        "secondary_password" => Field::Secondary,
        "group-select" => Field::Group,
        "session-token" => Field::Token,
        n if n.ends_with("_password") => Field::SuffixPassword,
        _ => return None,
    })
}

fn append_capped(c: &mut Capture, s: &str) -> Result<(), AuthParseError> {
    if c.text.len() + s.len() > MAX_VALUE_LEN {
        return Err(AuthParseError::ValueTooLong {
            field: c.name.clone(),
        });
    }
    c.text.push_str(s);
    Ok(())
}

/// Files a finished element into its slot; the first occurrence of each field wins.
fn store(post: &mut AuthPost, suffix: &mut Option<String>, c: Capture) {
    let trimmed = || c.text.trim().to_owned();
    match c.field {
        Field::Username => {
            post.username.get_or_insert_with(trimmed);
        }
        Field::Group => {
            post.group_select.get_or_insert_with(trimmed);
        }
        Field::Token => {
            post.session_token.get_or_insert_with(trimmed);
        }
        Field::Password => {
            post.password.get_or_insert_with(|| c.text.clone());
        }
        Field::Secondary => {
            post.secondary_password
                .get_or_insert_with(|| c.text.clone());
            suffix.get_or_insert_with(|| c.text.clone());
        }
        Field::SuffixPassword => {
            suffix.get_or_insert_with(|| c.text.clone());
        }
    }
}

fn parse_legacy(body: &str) -> Result<AuthPost, AuthParseError> {
    let mut post = AuthPost::empty(AuthPostKind::Legacy);
    for pair in body.split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        // Keys are short in every real client; decoding one larger than the cap is pointless.
        let key = decode_component(raw_key, "form key")?;
        let slot = match key.as_str() {
            "username" => &mut post.username,
            "group_list" => &mut post.group_select,
            "secondary_password" => {
                if post.secondary_password.is_none() {
                    post.secondary_password = Some(decode_component(raw_value, &key)?);
                }
                &mut post.password
            }
            k if k.contains("password") => &mut post.password,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(decode_component(raw_value, &key)?);
        }
    }
    Ok(post)
}

/// Percent-decodes one urlencoded component (`+` is a space) into UTF-8, capped in size.
fn decode_component(raw: &str, field: &str) -> Result<String, AuthParseError> {
    let too_long = || AuthParseError::ValueTooLong {
        field: field.to_owned(),
    };
    // Decoding never grows a value, and shrinks it at most threefold.
    if raw.len() > 3 * MAX_VALUE_LEN {
        return Err(too_long());
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = bytes.next().and_then(hex_val);
                let lo = bytes.next().and_then(hex_val);
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => return Err(AuthParseError::BadPercentEncoding),
                }
            }
            other => out.push(other),
        }
    }
    if out.len() > MAX_VALUE_LEN {
        return Err(too_long());
    }
    String::from_utf8(out).map_err(|_| AuthParseError::NonUtf8)
}

fn hex_val(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests;
