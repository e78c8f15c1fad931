//! Extension hooks: every hook added after contract 1.0.
//!
//! From 1.0 on the native root module and the WIT world are **frozen**. A hook added in a minor
//! version crosses through one entry point that both have had since 1.0,
//!
//! ```text
//!   extension(hook name, input bytes) -> Ok(output bytes) | Err(message)
//! ```
//!
//! with input and output as JSON of the model types ([`encode`] / [`decode`]). A plugin built
//! against an older minor does not know the name and answers with [`unknown`]; the host treats
//! that as "not implemented", exactly as for a hook the plugin chose not to provide. So a plugin
//! built against 1.0 keeps loading in every 1.x host, and a plugin built against 1.(n+1) loads
//! in a 1.n host (which never asks it for the newer hook).
//!
//! Extension hooks are for control-path calls (one per session, per login): JSON costs about a
//! microsecond there. The data path (`filter-packets`) keeps its own zero-copy entry point, and
//! a new data-path entry point would be a new major version.
//!
//! | hook | since | input | output |
//! |---|---|---|---|
//! | `filter-session` | 1.1 | [`SessionInfo`](crate::SessionInfo) | [`Verdict`](crate::Verdict) |

use serde::Serialize;
use serde::de::DeserializeOwned;

/// How an `extension` error that means "I do not know this hook" starts.
pub const UNKNOWN_PREFIX: &str = "unknown extension hook: ";

/// The error a plugin returns for an extension hook it does not know.
pub fn unknown(name: &str) -> String {
    format!("{UNKNOWN_PREFIX}{name}")
}

/// Whether `error` (from `extension`) means the plugin does not know the hook.
pub fn is_unknown(error: &str) -> bool {
    error.starts_with(UNKNOWN_PREFIX)
}

/// Encodes an extension hook's input or output.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Model types are plain records of strings, integers and lists: serializing cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Decodes an extension hook's input or output; the error names the hook and what was wrong.
pub fn decode<T: DeserializeOwned>(hook: &str, bytes: &[u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("{hook}: malformed extension value: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SessionInfo, Verdict};

    #[test]
    fn values_round_trip() {
        let s = SessionInfo {
            session: 7,
            user: "alice".into(),
            groups: vec!["eng".into()],
            peer: "192.0.2.1:4433".into(),
            addresses: vec!["10.10.0.2".into()],
        };
        let back: SessionInfo = decode("filter-session", &encode(&s)).unwrap();
        assert_eq!(back, s);
        for v in [Verdict::Accept, Verdict::Drop, Verdict::Reject("no".into())] {
            let back: Verdict = decode("filter-session", &encode(&v)).unwrap();
            assert_eq!(back, v);
        }
        assert_eq!(encode(&Verdict::Reject("x".into())), br#"{"reject":"x"}"#);
    }

    #[test]
    fn a_newer_input_with_more_fields_still_decodes_and_missing_fields_default() {
        let s: SessionInfo = decode(
            "filter-session",
            br#"{"user":"bob","future":[1,2],"session":3}"#,
        )
        .unwrap();
        assert_eq!((s.user.as_str(), s.session), ("bob", 3));
        assert!(s.groups.is_empty());
    }

    #[test]
    fn malformed_values_are_errors_that_name_the_hook() {
        for bad in [
            &b""[..],
            b"{",
            b"\xff\xfe",
            b"[]",
            br#"{"session":-1}"#,
            br#"{"session":"7"}"#,
            br#""maybe""#,
            br#"{"reject":1}"#,
        ] {
            let s = decode::<SessionInfo>("filter-session", bad);
            let v = decode::<Verdict>("filter-session", bad);
            assert!(s.is_err() || v.is_err(), "{bad:?}");
            if let Err(e) = v {
                assert!(e.starts_with("filter-session: malformed"), "{e}");
            }
        }
        assert!(is_unknown(&unknown("filter-session")));
        assert!(!is_unknown("filter-session: malformed extension value"));
    }
}
