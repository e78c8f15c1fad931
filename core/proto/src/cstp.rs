//! CSTP framing: the TLS byte stream after `200 CONNECTED` (§4.1, §4.2).
//!
//! ```text
//!   0                   1                   2                   3
//!   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |  'S' (0x53)   |  'T' (0x54)   |  'F' (0x46)   |  0x01         |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |   payload length (big endian) |     type      |  0x00         |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                  payload (0..=16384 bytes) ...                |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! openconnect reads one TLS record at a time and drops any record that is not exactly one
//! frame, so the daemon must hand each frame built by [`append_frame`] to its own TLS write
//! (§4.2). Decoding is tolerant of stream boundaries: [`decode_frame`] reports
//! [`FrameError::InsufficientData`] until a whole frame is buffered.

mod disconnect;

use bytes::{Buf, BufMut, Bytes, BytesMut};

pub use self::disconnect::{DisconnectReason, append_disconnect, parse_disconnect};

/// Length of the CSTP header.
pub const HEADER_LEN: usize = 8;
/// Largest payload a frame may carry.
pub const MAX_PAYLOAD: usize = 16384;
/// The four magic bytes that open every frame: `STF\x01`.
pub const MAGIC: [u8; 4] = *b"STF\x01";

/// The frame type (byte 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PacketType {
    /// 0x00: an IP packet.
    Data,
    /// 0x03: dead-peer-detection request; answer with [`DpdResp`](Self::DpdResp) echoing it.
    DpdReq,
    /// 0x04: dead-peer-detection response.
    DpdResp,
    /// 0x05: BYE, with a [`DisconnectReason`] byte and optional text.
    Disconnect,
    /// 0x07: keepalive; not answered.
    Keepalive,
    /// 0x08: a compressed IP packet (only after negotiation).
    Compressed,
    /// 0x09: the server is shutting down.
    Terminate,
    /// Any other value; ocserv logs and ignores it.
    Unknown(u8),
}

impl PacketType {
    /// Maps the type byte.
    pub fn from_u8(b: u8) -> Self {
        match b {
            0x00 => Self::Data,
            0x03 => Self::DpdReq,
            0x04 => Self::DpdResp,
            0x05 => Self::Disconnect,
            0x07 => Self::Keepalive,
            0x08 => Self::Compressed,
            0x09 => Self::Terminate,
            other => Self::Unknown(other),
        }
    }

    /// The type byte.
    pub fn to_u8(self) -> u8 {
        match self {
            Self::Data => 0x00,
            Self::DpdReq => 0x03,
            Self::DpdResp => 0x04,
            Self::Disconnect => 0x05,
            Self::Keepalive => 0x07,
            Self::Compressed => 0x08,
            Self::Terminate => 0x09,
            Self::Unknown(b) => b,
        }
    }
}

/// Why bytes are not a CSTP frame. Every variant but `InsufficientData` is fatal for the
/// connection, as it is in ocserv.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Not a whole frame yet: read more.
    #[error("incomplete CSTP frame")]
    InsufficientData,
    /// The first four bytes are not `STF\x01`.
    #[error("bad CSTP magic")]
    BadMagic,
    /// Byte 7 is not zero.
    #[error("CSTP reserved byte is {0:#04x}")]
    BadReservedByte(u8),
    /// The length field exceeds [`MAX_PAYLOAD`].
    #[error("CSTP payload length {0} exceeds 16384")]
    TooLong(usize),
}

/// Decodes the frame at the start of `buf`: its type, its payload and the bytes it spans.
///
/// A wrong magic is reported as soon as a differing byte is visible, even before 8 bytes are
/// buffered, so garbage is refused without waiting.
///
/// # Errors
///
/// See [`FrameError`].
pub fn decode_frame(buf: &[u8]) -> Result<(PacketType, &[u8], usize), FrameError> {
    let visible = buf.len().min(MAGIC.len());
    if buf.get(..visible) != MAGIC.get(..visible) {
        return Err(FrameError::BadMagic);
    }
    let Some(header) = buf.first_chunk::<HEADER_LEN>() else {
        return Err(FrameError::InsufficientData);
    };
    let [_, _, _, _, len_hi, len_lo, kind, reserved] = *header;
    if reserved != 0 {
        return Err(FrameError::BadReservedByte(reserved));
    }
    let len = usize::from(u16::from_be_bytes([len_hi, len_lo]));
    if len > MAX_PAYLOAD {
        return Err(FrameError::TooLong(len));
    }
    let end = HEADER_LEN + len;
    let payload = buf
        .get(HEADER_LEN..end)
        .ok_or(FrameError::InsufficientData)?;
    Ok((PacketType::from_u8(kind), payload, end))
}

/// The 8-byte header for a frame of `kind` carrying `payload_len` bytes.
///
/// Callers keep `payload_len <= MAX_PAYLOAD` (checked in debug builds); a larger value is
/// clamped rather than allowed to panic or wrap.
pub fn encode_header(kind: PacketType, payload_len: usize) -> [u8; HEADER_LEN] {
    debug_assert!(
        payload_len <= MAX_PAYLOAD,
        "CSTP payload of {payload_len} bytes"
    );
    let len = u16::try_from(payload_len.min(MAX_PAYLOAD))
        .unwrap_or(u16::MAX)
        .to_be_bytes();
    let [m0, m1, m2, m3] = MAGIC;
    [m0, m1, m2, m3, len[0], len[1], kind.to_u8(), 0]
}

/// Appends one whole frame (header + payload) to `out`.
pub fn append_frame(out: &mut BytesMut, kind: PacketType, payload: &[u8]) {
    out.reserve(HEADER_LEN + payload.len());
    out.put_slice(&encode_header(kind, payload.len()));
    out.put_slice(payload);
}

/// An owned frame, for the `try_from_wire` / `append_to_wire` codec style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The frame type.
    pub kind: PacketType,
    /// The payload.
    pub payload: Bytes,
}

impl Frame {
    /// Removes one frame from the front of `buf`. On any error `buf` is left untouched.
    ///
    /// # Errors
    ///
    /// See [`FrameError`].
    pub fn try_from_wire(buf: &mut BytesMut) -> Result<Self, FrameError> {
        let (kind, _, consumed) = decode_frame(buf)?;
        let mut frame = buf.split_to(consumed);
        frame.advance(HEADER_LEN);
        Ok(Self {
            kind,
            payload: frame.freeze(),
        })
    }

    /// Appends this frame to `out`.
    pub fn append_to_wire(&self, out: &mut BytesMut) {
        append_frame(out, self.kind, &self.payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// §9 step 7: openconnect's BYE on SIGINT.
    const OC_BYE: &[u8] = b"STF\x01\x00\x12\x05\x00\xb0Aborted by caller";

    #[test]
    fn decodes_openconnect_bye() {
        let (kind, payload, consumed) = decode_frame(OC_BYE).unwrap();
        assert_eq!(kind, PacketType::Disconnect);
        assert_eq!(payload, b"\xb0Aborted by caller");
        assert_eq!(consumed, OC_BYE.len());
        let (reason, text) = parse_disconnect(payload);
        assert_eq!(
            (reason, text.as_str()),
            (DisconnectReason::UserDisconnect, "Aborted by caller")
        );
        assert!(reason.invalidates_session());
    }

    #[test]
    fn type_bytes_round_trip() {
        for b in 0..=u8::MAX {
            assert_eq!(PacketType::from_u8(b).to_u8(), b);
        }
        let known = [
            (0, PacketType::Data),
            (3, PacketType::DpdReq),
            (4, PacketType::DpdResp),
            (5, PacketType::Disconnect),
            (7, PacketType::Keepalive),
            (8, PacketType::Compressed),
            (9, PacketType::Terminate),
            (6, PacketType::Unknown(6)),
        ];
        for (b, t) in known {
            assert_eq!(PacketType::from_u8(b), t);
        }
    }

    #[test]
    fn encodes_exact_bytes() {
        assert_eq!(
            encode_header(PacketType::Disconnect, 0),
            *b"STF\x01\x00\x00\x05\x00"
        );
        assert_eq!(
            encode_header(PacketType::Data, 1434),
            *b"STF\x01\x05\x9a\x00\x00"
        );
        assert_eq!(
            encode_header(PacketType::DpdResp, MAX_PAYLOAD),
            *b"STF\x01\x40\x00\x04\x00"
        );
        let mut out = BytesMut::new();
        append_frame(&mut out, PacketType::Disconnect, b"\xb0Aborted by caller");
        assert_eq!(&out[..], OC_BYE);
    }

    #[test]
    fn malformed_frames() {
        let cases: &[(&[u8], FrameError)] = &[
            (b"", FrameError::InsufficientData),
            (b"ST", FrameError::InsufficientData),
            (b"STF\x01\x00\x00\x00", FrameError::InsufficientData),
            (b"STF\x01\x00\x02\x00\x00\x45", FrameError::InsufficientData),
            (b"X", FrameError::BadMagic),
            (b"STG", FrameError::BadMagic),
            (b"STF\x02\x00\x00\x00\x00", FrameError::BadMagic),
            (b"GET / HTTP/1.1\r\n", FrameError::BadMagic),
            (b"STF\x01\x00\x00\x00\x01", FrameError::BadReservedByte(1)),
            (b"STF\x01\x40\x01\x00\x00", FrameError::TooLong(16385)),
            (b"STF\x01\xff\xff\x00\x00", FrameError::TooLong(65535)),
        ];
        for (input, want) in cases {
            assert_eq!(
                decode_frame(input).map(|(k, p, n)| (k, p.len(), n)),
                Err(*want),
                "{input:x?}"
            );
        }
    }

    #[test]
    fn stream_of_frames() {
        let mut wire = BytesMut::new();
        append_frame(&mut wire, PacketType::DpdReq, b"");
        append_frame(&mut wire, PacketType::Data, &[0x45; 100]);
        Frame {
            kind: PacketType::Keepalive,
            payload: Bytes::new(),
        }
        .append_to_wire(&mut wire);
        let total = wire.len();
        assert_eq!(total, 8 + 108 + 8);
        // Feed byte by byte: frames come out only once complete.
        let mut rx = BytesMut::new();
        let mut got = Vec::new();
        for b in wire.iter() {
            rx.put_u8(*b);
            match Frame::try_from_wire(&mut rx) {
                Ok(f) => got.push(f),
                Err(FrameError::InsufficientData) => {}
                Err(e) => panic!("{e}"),
            }
        }
        assert!(rx.is_empty());
        let kinds: Vec<_> = got.iter().map(|f| (f.kind, f.payload.len())).collect();
        assert_eq!(
            kinds,
            [
                (PacketType::DpdReq, 0),
                (PacketType::Data, 100),
                (PacketType::Keepalive, 0)
            ]
        );
        // Errors leave the buffer alone.
        let mut bad = BytesMut::from(&b"STF\x01\x00\x00\x00\x07"[..]);
        assert_eq!(
            Frame::try_from_wire(&mut bad),
            Err(FrameError::BadReservedByte(7))
        );
        assert_eq!(bad.len(), 8);
    }
}
