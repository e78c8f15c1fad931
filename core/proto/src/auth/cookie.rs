//! The `webvpn` session cookie (§2.9, §2.16).

use std::fmt;
use std::hash::{Hash, Hasher};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::http::RequestHead;

/// A 32-byte session id, carried as `Cookie: webvpn=<base64>`.
///
/// On the wire it is standard-alphabet, padded base64: always 44 characters. `Debug` does not
/// print the bytes (the cookie is a bearer credential) and equality is computed without an
/// early exit.
#[derive(Clone)]
pub struct SessionCookie(pub [u8; 32]);

impl SessionCookie {
    /// The cookie value: 44 characters of padded standard base64.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Decodes a cookie value; `None` unless it is canonical base64 of exactly 32 bytes.
    pub fn from_base64(s: &str) -> Option<Self> {
        // 44 characters is the only length that can decode to 32 bytes; checking first keeps
        // the decoder from allocating for an attacker-sized string.
        if s.len() != 44 {
            return None;
        }
        let bytes = STANDARD.decode(s).ok()?;
        <[u8; 32]>::try_from(bytes.as_slice()).ok().map(Self)
    }

    /// The raw session id bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SessionCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionCookie(..)")
    }
}

impl PartialEq for SessionCookie {
    fn eq(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl Eq for SessionCookie {}

impl Hash for SessionCookie {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

/// The session cookie of a request: the first `webvpn` cookie, if it decodes to 32 bytes.
///
/// A malformed value is treated as absent, as ocserv does ("could not decode cookie").
pub fn webvpn_cookie_from_head(head: &RequestHead) -> Option<SessionCookie> {
    head.cookie("webvpn").and_then(SessionCookie::from_base64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Limits, parse_request_head};

    const LAB_COOKIE: &str = "APpLTTlk60QE6bwyuC8MjJU+NBigS8YpAoZVDl4K/JI=";

    #[test]
    fn round_trips_the_lab_cookie() {
        let c = SessionCookie::from_base64(LAB_COOKIE).expect("32 bytes");
        assert_eq!(c.as_bytes()[..3], [0x00, 0xfa, 0x4b]);
        assert_eq!(c.to_base64(), LAB_COOKIE);
        assert_eq!(SessionCookie([7; 32]).to_base64().len(), 44);
        assert_eq!(format!("{c:?}"), "SessionCookie(..)");
    }

    #[test]
    fn rejects_malformed_values() {
        let cases = [
            "",
            "APpLTTlk60QE6bwyuC8MjJU+NBigS8YpAoZVDl4K/JI", // unpadded
            "APpLTTlk60QE6bwyuC8MjJU+NBigS8YpAoZVDl4K/JI==", // too long
            "APpLTTlk60QE6bwyuC8MjJU-NBigS8YpAoZVDl4K_JI=", // url-safe alphabet
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", // 31 bytes
            "APpLTTlk60QE6bwyuC8MjJU+NBigS8YpAoZVDl4K/J\u{e9}", // non-ASCII
        ];
        for s in cases {
            assert_eq!(SessionCookie::from_base64(s), None, "{s:?}");
        }
    }

    #[test]
    fn equality_and_hash() {
        use std::collections::HashSet;
        let a = SessionCookie([1; 32]);
        let mut b = a.clone();
        assert_eq!(a, b);
        b.0[31] = 2;
        assert_ne!(a, b);
        let set: HashSet<_> = [a.clone(), a, b].into_iter().collect();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn from_request_head() {
        let raw = format!(
            "CONNECT /CSCOSSLC/tunnel HTTP/1.1\r\nCookie: webvpncontext=x; webvpn={LAB_COOKIE}\r\n\r\n"
        );
        let (head, _) = parse_request_head(raw.as_bytes(), &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            webvpn_cookie_from_head(&head)
                .map(|c| c.to_base64())
                .as_deref(),
            Some(LAB_COOKIE)
        );
        let (head, _) = parse_request_head(
            b"GET / HTTP/1.1\r\nCookie: webvpn=short\r\n\r\n",
            &Limits::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(webvpn_cookie_from_head(&head), None);
    }
}
