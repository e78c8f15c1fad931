//! Arbitrary bytes as an HTTP request head, then every accessor on what parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wolfguard_proto::http::{Limits, parse_request_head};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_head: 2048,
        max_headers: 16,
        max_body: 4096,
    };
    if let Ok(Some((head, consumed))) = parse_request_head(data, &limits) {
        assert!(consumed <= data.len() && consumed <= limits.max_head);
        let _ = head.header("Content-Type");
        let _ = head.cookie("webvpn");
        let _ = head.keep_alive();
        if let Ok(n) = head.content_length(&limits) {
            assert!(n <= limits.max_body);
        }
        let _ = wolfguard_proto::auth::webvpn_cookie_from_head(&head);
        let _ = wolfguard_proto::urls::static_get(&head.path);
        let _ = wolfguard_proto::urls::is_auth_path(&head.path);
    }
});
