//! Arbitrary bytes as a CSTP stream: decode frame after frame, re-encode each one exactly.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use wolfguard_proto::cstp::{
    Frame, FrameError, HEADER_LEN, MAX_PAYLOAD, PacketType, append_frame, decode_frame,
    parse_disconnect,
};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    loop {
        match decode_frame(rest) {
            Ok((kind, payload, consumed)) => {
                assert!(consumed >= HEADER_LEN && consumed <= rest.len());
                assert!(payload.len() <= MAX_PAYLOAD);
                let mut out = BytesMut::new();
                append_frame(&mut out, kind, payload);
                assert_eq!(&out[..], &rest[..consumed], "re-encoding is exact");
                if kind == PacketType::Disconnect {
                    let _ = parse_disconnect(payload);
                }
                rest = &rest[consumed..];
            }
            Err(FrameError::InsufficientData) => break,
            Err(_) => return,
        }
    }
    // The owned codec agrees with the borrowed one.
    let mut buf = BytesMut::from(data);
    while let Ok(frame) = Frame::try_from_wire(&mut buf) {
        let mut out = BytesMut::new();
        frame.append_to_wire(&mut out);
        assert_eq!(out.len(), HEADER_LEN + frame.payload.len());
    }
});
