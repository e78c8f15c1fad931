//! Arbitrary bytes as the JSON an extension hook returns (a WASM plugin is untrusted): decoding
//! never panics, and whatever decodes encodes and decodes back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wolfguard_plugin_api::{SessionInfo, Verdict, ext};

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = ext::decode::<Verdict>("fuzz", data) {
        assert_eq!(ext::decode::<Verdict>("fuzz", &ext::encode(&v)).ok(), Some(v));
    }
    if let Ok(s) = ext::decode::<SessionInfo>("fuzz", data) {
        assert_eq!(ext::decode::<SessionInfo>("fuzz", &ext::encode(&s)).ok(), Some(s));
    }
    if let Err(e) = ext::decode::<Verdict>("fuzz", data) {
        assert!(e.starts_with("fuzz: malformed extension value"));
        assert!(!ext::is_unknown(&e));
    }
});
