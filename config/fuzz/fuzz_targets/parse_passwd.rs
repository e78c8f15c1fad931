//! The ocpasswd parser never panics, and every entry it returns is well-formed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(entries) = wolfguard_config::passwd::parse_passwd(text) {
            for e in entries {
                assert!(!e.user.is_empty() && !e.hash.is_empty());
                assert!(!e.user.contains(':'));
            }
        }
    }
});
