//! Arbitrary header lines after a CONNECT request line; whatever parses is turned into a
//! response, which must stay one well-formed head whatever the client sent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wolfguard_proto::connect::{ConnectRequest, ConnectResponse};
use wolfguard_proto::http::{Limits, parse_request_head};

fuzz_target!(|data: &[u8]| {
    let mut buf = b"CONNECT /CSCOSSLC/tunnel HTTP/1.1\r\n".to_vec();
    buf.extend_from_slice(data);
    let Ok(Some((head, _))) = parse_request_head(&buf, &Limits::default()) else {
        return;
    };
    let Ok(req) = ConnectRequest::from_head(&head) else {
        return;
    };
    if let Some(m) = req.base_mtu {
        assert!((800..=16384).contains(&m));
    }
    if let Some(h) = &req.hostname {
        assert!(
            h.len() <= 64
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        );
    }
    let mtu = wolfguard_proto::mtu::data_mtu(1500, req.base_mtu, false, 38);
    let resp = ConnectResponse {
        client: req.client,
        hostname: req.hostname.clone(),
        full_ipv6: req.full_ipv6,
        banner: Some(req.user_agent.clone()),
        custom_headers: vec![("X-CSTP-Agent".into(), req.user_agent.clone())],
        base_mtu: Some(mtu.base_mtu),
        mtu: mtu.data_mtu,
        ..ConnectResponse::default()
    };
    let out = resp.to_bytes();
    let end = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("head terminator");
    assert_eq!(end + 4, out.len(), "no early blank line");
    assert!(
        !out.iter()
            .enumerate()
            .any(|(i, &b)| b == b'\n' && (i == 0 || out[i - 1] != b'\r'))
    );
    assert!(
        !out.iter()
            .enumerate()
            .any(|(i, &b)| b == b'\r' && out.get(i + 1) != Some(&b'\n'))
    );
});
