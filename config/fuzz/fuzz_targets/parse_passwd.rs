//! The ocpasswd parser (the auth-local plugin's, which the daemon links for
//! `auth.password_file`) never panics, and every entry it returns is well-formed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(entries) = wolfguard_plugin_auth_local::parse_passwd(text) {
            for (user, e) in entries {
                assert!(!user.is_empty() && !e.hash.is_empty());
                assert!(!user.contains(':'));
                for g in &e.groups {
                    assert!(!g.is_empty() && g != "*" && !g.contains(','));
                }
            }
        }
    }
});
