//! The auth-local plugin's ocpasswd parser never panics, every entry it returns is well-formed,
//! and it accepts exactly the files the config crate's parser accepts (the two must not drift:
//! the daemon's `passwd` command writes with one, logins read with the other).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let plugin = wolfguard_plugin_auth_local::parse_passwd(text);
        if let Ok(entries) = &plugin {
            for (user, e) in entries {
                assert!(!user.is_empty() && !e.hash.is_empty());
                assert!(!user.contains(':'));
            }
        }
        let config = wolfguard_config::passwd::parse_passwd(text);
        assert_eq!(plugin.is_ok(), config.is_ok(), "parsers disagree on {text:?}");
    }
});
