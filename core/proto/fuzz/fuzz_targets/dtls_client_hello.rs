//! The UDP demultiplexer's ClientHello peek never panics and only returns ids it found in place.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wolfguard_proto::dtls;

fuzz_target!(|data: &[u8]| {
    if let Some(id) = dtls::client_hello_session_id(data) {
        assert!(dtls::is_client_hello(data));
        assert!(!id.is_empty() && id.len() <= 32);
        assert_eq!(&data[dtls::SESSION_ID_LEN_OFFSET + 1..][..id.len()], id);
    }
});
