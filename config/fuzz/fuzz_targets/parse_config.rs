//! Arbitrary UTF-8 as a configuration file: loading must return `Ok` or an error that
//! displays, never panic. The value parsers behind the newtypes get the same text.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use wolfguard_config::{CipherList, DomainName, TlsGroup, TunName};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match wolfguard_config::from_str(text, Path::new("/etc/wolfguard/wolfguard.toml")) {
        Ok(config) => {
            // A loaded config re-validates cleanly and serializes.
            assert!(config.validate().is_empty());
            let _ = toml::to_string(&config);
        }
        Err(err) => {
            let message = err.to_string();
            assert!(
                message.starts_with("/etc/wolfguard/wolfguard.toml"),
                "{message}"
            );
        }
    }
    let _ = text.parse::<CipherList>();
    let _ = text.parse::<DomainName>();
    let _ = text.parse::<TlsGroup>();
    let _ = text.parse::<TunName>();
});
