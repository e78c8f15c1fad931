//! Arbitrary bytes as a refused tunnel packet: building its ICMP error never panics, and an error
//! that is built is well-formed, within the size limits, and never itself answered.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wolfguard_proto::icmp::{MAX_V4_ERROR, MAX_V6_ERROR, NoError, admin_prohibited, checksums_valid};

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    match admin_prohibited(data, &mut out) {
        Ok(()) => {
            assert!(checksums_valid(&out), "bad checksum for {data:?}");
            let max = if out[0] >> 4 == 4 { MAX_V4_ERROR } else { MAX_V6_ERROR };
            assert!(out.len() <= max);
            assert_eq!(
                admin_prohibited(&out, &mut Vec::new()),
                Err(NoError::IcmpError),
                "an error about an error"
            );
        }
        Err(_) => assert!(out.is_empty()),
    }
});
