//! BYE (`DISCONNECT`, type 0x05) payloads: a reason byte and optional text (§4.1, §6).

use bytes::BytesMut;

use crate::cstp::{MAX_PAYLOAD, PacketType, append_frame};

/// The reason byte of a BYE frame.
///
/// Only [`UserDisconnect`](Self::UserDisconnect) ends the session for good; every other reason
/// (and an empty payload, which is what ocserv itself sends) leaves the cookie usable for a
/// reconnect within `cookie-timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// 0xb0: the user disconnected (openconnect on SIGINT/SIGTERM).
    UserDisconnect,
    /// 0x70: local error.
    LocalError,
    /// 0x91: reconnecting (temporary).
    Reconnect,
    /// 0xd1: paused (temporary).
    Pause,
    /// Any other reason byte.
    Other(u8),
    /// No payload at all.
    Empty,
}

impl DisconnectReason {
    /// Maps a reason byte.
    pub fn from_u8(b: u8) -> Self {
        match b {
            0xb0 => Self::UserDisconnect,
            0x70 => Self::LocalError,
            0x91 => Self::Reconnect,
            0xd1 => Self::Pause,
            other => Self::Other(other),
        }
    }

    /// The reason byte; `None` for [`Empty`](Self::Empty).
    pub fn to_u8(self) -> Option<u8> {
        match self {
            Self::UserDisconnect => Some(0xb0),
            Self::LocalError => Some(0x70),
            Self::Reconnect => Some(0x91),
            Self::Pause => Some(0xd1),
            Self::Other(b) => Some(b),
            Self::Empty => None,
        }
    }

    /// Whether the session (cookie) must be invalidated, as ocserv does: only for 0xb0.
    pub fn invalidates_session(self) -> bool {
        matches!(self, Self::UserDisconnect)
    }
}

/// Splits a BYE payload into its reason and its text (lossily decoded, trailing NULs and
/// surrounding whitespace removed).
pub fn parse_disconnect(payload: &[u8]) -> (DisconnectReason, String) {
    let Some((&code, text)) = payload.split_first() else {
        return (DisconnectReason::Empty, String::new());
    };
    let text = String::from_utf8_lossy(text);
    (
        DisconnectReason::from_u8(code),
        text.trim_end_matches('\0').trim().to_owned(),
    )
}

/// Appends a whole BYE frame. [`DisconnectReason::Empty`] gives the bare 8-byte frame ocserv
/// sends when it kicks a client; text is cut to fit the frame.
pub fn append_disconnect(out: &mut BytesMut, reason: DisconnectReason, text: &str) {
    let mut payload = Vec::with_capacity(1 + text.len());
    if let Some(code) = reason.to_u8() {
        payload.push(code);
        let room = MAX_PAYLOAD - 1;
        payload.extend_from_slice(text.as_bytes().get(..room).unwrap_or(text.as_bytes()));
    }
    append_frame(out, PacketType::Disconnect, &payload);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cstp::decode_frame;

    #[test]
    fn reasons() {
        let cases: &[(&[u8], DisconnectReason, &str, bool)] = &[
            (
                b"\xb0Aborted by caller",
                DisconnectReason::UserDisconnect,
                "Aborted by caller",
                true,
            ),
            (
                b"\xb0Server request\0",
                DisconnectReason::UserDisconnect,
                "Server request",
                true,
            ),
            (b"", DisconnectReason::Empty, "", false),
            (b"\x91", DisconnectReason::Reconnect, "", false),
            (b"\xd1paused", DisconnectReason::Pause, "paused", false),
            (b"\x70oops", DisconnectReason::LocalError, "oops", false),
            (
                b"\x01\xff\xfe",
                DisconnectReason::Other(1),
                "\u{fffd}\u{fffd}",
                false,
            ),
        ];
        for &(payload, reason, text, invalidates) in cases {
            let (r, t) = parse_disconnect(payload);
            assert_eq!(
                (r, t.as_str(), r.invalidates_session()),
                (reason, text, invalidates)
            );
            if let Some(code) = r.to_u8() {
                assert_eq!(DisconnectReason::from_u8(code), r);
            }
        }
    }

    #[test]
    fn builds_frames() {
        let mut out = BytesMut::new();
        append_disconnect(&mut out, DisconnectReason::Empty, "ignored");
        assert_eq!(&out[..], b"STF\x01\x00\x00\x05\x00");
        out.clear();
        append_disconnect(
            &mut out,
            DisconnectReason::UserDisconnect,
            "Aborted by caller",
        );
        assert_eq!(&out[..], b"STF\x01\x00\x12\x05\x00\xb0Aborted by caller");
        out.clear();
        append_disconnect(
            &mut out,
            DisconnectReason::LocalError,
            &"x".repeat(MAX_PAYLOAD * 2),
        );
        let (_, payload, n) = decode_frame(&out).unwrap();
        assert_eq!((payload.len(), n), (MAX_PAYLOAD, out.len()));
    }
}
