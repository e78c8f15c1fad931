//! `[logging]`: what to log and in which format. The daemon installs the subscriber; this crate
//! only describes it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::config::Checker;
use crate::value::{InvalidValue, text_serde};

/// Level names a `tracing` filter directive accepts.
const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// The `[logging]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    /// A `tracing` `EnvFilter` directive such as `"info"` or `"info,wolfguard_proto=debug"`;
    /// the `WOLFGUARD_LOG` environment variable overrides it. ocserv: `log-level`.
    pub level: String,
    /// Output format.
    pub format: LogFormat,
}

impl LoggingConfig {
    pub(crate) fn validate(&self, check: &mut Checker) {
        let fix = "write a level (trace, debug, info, warn, error, off), optionally followed by \
                   TARGET=LEVEL directives, e.g. \"info,wolfguard_proto=debug\"";
        if self.level.trim().is_empty() {
            check.push("logging.level", "is empty", fix);
            return;
        }
        for directive in self.level.split(',') {
            let directive = directive.trim();
            let level = directive
                .rsplit_once('=')
                .map(|(_, level)| level)
                .filter(|level| !level.contains([']', '}']));
            let bad_level =
                level.is_some_and(|l| !LEVELS.contains(&l.to_ascii_lowercase().as_str()));
            if directive.is_empty() || directive.contains(char::is_whitespace) || bad_level {
                check.push(
                    "logging.level",
                    format!("{directive:?} is not a log filter directive"),
                    fix,
                );
                return;
            }
        }
    }
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Compact,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LogFormat {
    /// One short line per event, for journald and terminals.
    Compact,
    /// Multi-line, human-oriented output for debugging.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

impl LogFormat {
    /// The format as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compact => "compact",
            Self::Pretty => "pretty",
            Self::Json => "json",
        }
    }
}

impl FromStr for LogFormat {
    type Err = InvalidValue;
    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        match text {
            "compact" => Ok(Self::Compact),
            "pretty" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            _ => Err(InvalidValue::new(
                format!("{text:?} is not a log format"),
                "write \"compact\", \"pretty\" or \"json\"",
            )),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

text_serde!(LogFormat);

#[cfg(test)]
mod tests {
    use test_case::test_case;

    use super::*;

    #[test_case("info", true)]
    #[test_case("warn,wolfguard_proto=debug", true)]
    #[test_case("wolfguard", true)]
    #[test_case("wolfguard[session{user=bob}]=trace", true)]
    #[test_case("wolfguard[session{user=bob}]", true)]
    #[test_case("", false)]
    #[test_case("info,,debug", false)]
    #[test_case("wolfguard=loud", false)]
    #[test_case("info debug", false)]
    fn level_directives(level: &str, ok: bool) {
        let config = LoggingConfig {
            level: level.into(),
            ..LoggingConfig::default()
        };
        let mut check = Checker::default();
        config.validate(&mut check);
        assert_eq!(check.issues().is_empty(), ok, "{:?}", check.issues());
    }

    #[test]
    fn formats() {
        assert_eq!("json".parse::<LogFormat>().unwrap(), LogFormat::Json);
        assert!(
            "JSON"
                .parse::<LogFormat>()
                .unwrap_err()
                .fix
                .contains("\"json\"")
        );
    }
}
