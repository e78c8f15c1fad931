//! The UDP demultiplexer's peeks (ClientHello session id, DTLS 1.3 PSK identity, record
//! connection id) never panic and only return bytes they found in place.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wolfguard_proto::dtls;

fuzz_target!(|data: &[u8]| {
    if let Some(id) = dtls::client_hello_session_id(data) {
        assert!(dtls::is_client_hello(data));
        assert!(!id.is_empty() && id.len() <= 32);
        assert_eq!(&data[dtls::SESSION_ID_LEN_OFFSET + 1..][..id.len()], id);
    }
    if let Some(identity) = dtls::client_hello_psk_identity(data) {
        assert!(dtls::is_client_hello(data));
        assert!(!identity.is_empty() && identity.len() < data.len());
    }
    if dtls::client_hello_app_id(data).is_some() {
        assert!(dtls::is_client_hello(data));
    }
    if let Some(cid) = dtls::record_connection_id(data, dtls::SERVER_CID_LEN) {
        assert_eq!(cid.len(), dtls::SERVER_CID_LEN);
    }
});
