//! The XML "aggregate auth" exchange (§2.5–§2.10).
//!
//! ```text
//!  client                                   server
//!    │ POST /      config-auth type="init"     │  parse_auth_post → AuthPostKind::Init
//!    │────────────────────────────────────────▶│
//!    │ 200  config-auth type="auth-request"    │  AuthForm::to_xml
//!    │◀────────────────────────────────────────│
//!    │ POST /auth  config-auth type="auth-reply"│  parse_auth_post → username/password/…
//!    │────────────────────────────────────────▶│  (more forms while the backend continues)
//!    │ 200  type="complete" + Set-Cookie webvpn │  complete_xml, SessionCookie::to_base64
//!    │◀────────────────────────────────────────│
//! ```
//!
//! The parser is a real XML parser (quick-xml) with DOCTYPE and entity declarations refused and
//! depth, element count and value sizes capped; it also accepts the legacy urlencoded form
//! openconnect falls back to. Which credentials are right, and what the next form asks for, is
//! the daemon's decision.

mod cookie;
mod form;
mod post;

pub use self::cookie::{SessionCookie, webvpn_cookie_from_head};
pub use self::form::{
    AuthForm, GroupOption, PasswordField, complete_xml, resolve_group, xml_escape,
};
pub use self::post::{
    AuthParseError, AuthPost, AuthPostKind, MAX_DEPTH, MAX_ELEMENTS, MAX_VALUE_LEN, parse_auth_post,
};
