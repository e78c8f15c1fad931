//! The typed configuration of wolfguard: one TOML file, parsed into plain structs, checked as a
//! whole, and explained precisely when it is wrong.
//!
//! ```text
//!   wolfguard.toml ──read──► text ──toml_edit──► syntax ok? ──serde + path──► Config
//!                                    │ no                    │ wrong key/type/value
//!                                    ▼                       ▼
//!                          ConfigError::Syntax      ConfigError::Invalid (one issue)
//!
//!   Config ──resolve relative paths──► Config::validate ──► all semantic issues at once
//!                                                     └──► ConfigError::Invalid (N issues)
//!   Config ──check_files (the daemon calls it)──► permissions and readability issues
//! ```
//!
//! # What it does
//!
//! * [`load`] and [`from_str`] turn a file into a [`Config`]: every table and key is declared once,
//!   as a struct field with `deny_unknown_fields`; defaults live only in the `Default` impls.
//! * Values with rules are newtypes ([`TunName`], [`DomainName`], [`CipherList`], [`TlsGroup`],
//!   …) that cannot hold an invalid value; they implement `FromStr` so other front ends (an
//!   ocserv.conf importer, the REST API) reuse the same rules and messages.
//! * Every error names the file, the key as a dotted path (`network.ipv4_pool`,
//!   `auth.groups[1].name`), the line and column when known, what is wrong, and the fix. The fix
//!   quotes the matching line of the annotated example ([`EXAMPLE`]) where that helps, so the
//!   messages and the documentation cannot disagree. Unknown keys list the valid keys of their
//!   table and suggest the nearest one.
//! * Problems the parser cannot see (ranges, cross-key rules, missing required paths) are
//!   collected by [`Config::validate`] and reported together.
//! * [`check_files`] checks the certificate, key and password files: present, readable, and not
//!   writable (nor, for the key, readable) by other users.
//!
//! # What it does not do
//!
//! It performs no I/O beyond reading the one file (and, in [`check_files`], stat-ing the files it
//! names); it starts nothing, and it does not know how the daemon applies a setting (live, on
//! reconnect, or after a restart). Syntax and type errors stop at the first one, since the parser
//! cannot continue past them; semantic issues are all reported. The `[plugins]` table is passed
//! through untouched for the plugin host to interpret. Environment and command-line layers,
//! the JSON schema and the generated reference are not implemented yet.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod auth;
mod config;
mod error;
mod example;
mod files;
mod logging;
mod metrics;
mod network;
mod parse;
mod pool;
mod server;
mod timeouts;
mod tls;
mod value;

use std::path::Path;

pub use auth::{AuthConfig, GroupDef};
pub use config::Config;
pub use error::{ConfigError, ConfigIssue, Position};
pub use files::check_files;
pub use logging::{LogFormat, LoggingConfig};
pub use metrics::MetricsConfig;
pub use network::{DomainName, NetworkConfig, TunName};
pub use pool::PoolSection;
pub use server::ServerConfig;
pub use timeouts::{RekeyMethod, TimeoutsConfig};
pub use tls::{CipherList, TlsConfig, TlsGroup, TlsVersion};
pub use value::InvalidValue;

/// The annotated example configuration: every key, its meaning, its default and the name of the
/// ocserv option it replaces. Tests keep it complete and parseable.
pub const EXAMPLE: &str = include_str!("../wolfguard.example.toml");

/// Reads, parses and validates the configuration file at `path`.
///
/// Relative paths inside the file are resolved against the file's directory.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    from_str(&text, path)
}

/// Parses and validates configuration `text` that was read from `origin`.
///
/// `origin` names the file in messages, and its directory is the base of relative paths in the
/// text. Nothing is read from disk.
pub fn from_str(text: &str, origin: &Path) -> Result<Config, ConfigError> {
    let mut config = parse::parse(text, origin)?;
    config.resolve_paths(origin.parent().unwrap_or(Path::new("")));
    let issues = config.validate();
    if issues.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid {
            path: origin.to_path_buf(),
            issues: parse::locate_all(text, issues),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_parses_and_validates() {
        let config = from_str(EXAMPLE, Path::new("/etc/wolfguard/wolfguard.toml"))
            .unwrap_or_else(|e| panic!("the example must load:\n{e}"));
        assert_eq!(
            config.server.certificate,
            Path::new("/etc/wolfguard/server.crt")
        );
        assert_eq!(
            config.server.private_key,
            Path::new("/etc/wolfguard/server.key")
        );
        assert_eq!(
            config.auth.password_file,
            Path::new("/etc/wolfguard/passwd")
        );
    }

    #[test]
    fn example_uses_the_defaults() {
        // The example's active lines show the defaults, except the three required paths; so
        // loading it must give `Config::default()` with those paths filled in.
        let loaded = from_str(EXAMPLE, Path::new("/etc/wolfguard/wolfguard.toml")).unwrap();
        let mut expected = Config::default();
        expected.server.certificate = "/etc/wolfguard/server.crt".into();
        expected.server.private_key = "/etc/wolfguard/server.key".into();
        expected.auth.password_file = "/etc/wolfguard/passwd".into();
        assert_eq!(format!("{loaded:?}"), format!("{expected:?}"));
    }

    #[test]
    fn example_documents_every_key() {
        let missing: Vec<String> = example::leaf_keys(&config::tests::everything_set())
            .into_iter()
            .filter(|key| example::line_for(key).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "keys not documented in the example: {missing:?}"
        );
    }

    #[test]
    fn truncated_and_mutated_examples_never_panic() {
        // A deterministic stand-in for the fuzz target, run by `cargo test`: every prefix of
        // the example, and the example with each byte position overwritten by a few
        // troublesome bytes.
        let origin = Path::new("/etc/wolfguard/wolfguard.toml");
        let ends = (0..=EXAMPLE.len()).filter(|&i| EXAMPLE.is_char_boundary(i));
        for end in ends.step_by(7) {
            if let Err(err) = from_str(&EXAMPLE[..end], origin) {
                assert!(err.to_string().starts_with("/etc/wolfguard/wolfguard.toml"));
            }
        }
        let mut bytes = EXAMPLE.as_bytes().to_vec();
        for i in (0..bytes.len()).step_by(13) {
            for replacement in [b'"', b'[', b'=', b'0', b'\n', b'.'] {
                let original = std::mem::replace(&mut bytes[i], replacement);
                if let Ok(text) = std::str::from_utf8(&bytes) {
                    let _ = from_str(text, origin).map_err(|e| e.to_string());
                }
                bytes[i] = original;
            }
        }
    }

    #[test]
    fn load_reports_unreadable_file() {
        let err = load(Path::new("/nonexistent/wolfguard.toml")).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("/nonexistent/wolfguard.toml: cannot read"),
            "{text}"
        );
        assert!(text.contains("check the path"), "{text}");
    }

    #[test]
    fn relative_paths_resolve_against_the_config_directory() {
        let text = "[server]\ncertificate = \"server.crt\"\nprivate_key = \"/abs/server.key\"\n\
                    state_dir = \"state\"\n[auth]\npassword_file = \"../passwd\"\n";
        let config = from_str(text, Path::new("/etc/wolfguard/wolfguard.toml")).unwrap();
        assert_eq!(
            config.server.certificate,
            Path::new("/etc/wolfguard/server.crt")
        );
        assert_eq!(config.server.private_key, Path::new("/abs/server.key"));
        assert_eq!(config.server.state_dir, Path::new("/etc/wolfguard/state"));
        assert_eq!(
            config.auth.password_file,
            Path::new("/etc/wolfguard/../passwd")
        );
    }
}
