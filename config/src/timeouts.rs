//! `[timeouts]`: dead-peer detection, keepalive, idle and session limits, cookies and rekeying,
//! all in seconds.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Checker;
use crate::value::{InvalidValue, text_serde};

/// One year, the longest timer we accept (and what ocserv advertises on TLS 1.3 for rekey).
const YEAR: u64 = 31_536_000;

/// The `[timeouts]` table. Every value is in seconds; where 0 is allowed it switches the timer
/// off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimeoutsConfig {
    /// Dead-peer detection interval (`X-CSTP-DPD`, `X-DTLS-DPD`); 0 = off. ocserv: `dpd`.
    pub dpd: u32,
    /// DPD interval for mobile clients, which sleep; 0 = off. ocserv: `mobile-dpd`.
    pub mobile_dpd: u32,
    /// Client keepalive interval (`X-CSTP-Keepalive`); 0 = off. ocserv: `keepalive`.
    pub keepalive: u32,
    /// Disconnect after this long without traffic; 0 = never. ocserv: `idle-timeout`.
    pub idle_timeout: u32,
    /// Disconnect this long after login, reconnects included; 0 = never.
    /// ocserv: `session-timeout`.
    pub session_timeout: u32,
    /// How long a cookie stays valid after login or disconnect, for reconnects without a
    /// password. ocserv: `cookie-timeout`.
    pub cookie_timeout: u32,
    /// Interval between tunnel key refreshes (`X-CSTP-Rekey-Time`). ocserv: `rekey-time`.
    pub rekey_time: u32,
    /// How clients refresh keys (`X-CSTP-Rekey-Method`). ocserv: `rekey-method`.
    pub rekey_method: RekeyMethod,
}

impl TimeoutsConfig {
    /// `secs` as a duration, or `None` when it is 0 (off).
    pub fn enabled(secs: u32) -> Option<Duration> {
        (secs != 0).then(|| Duration::from_secs(secs.into()))
    }

    pub(crate) fn validate(&self, check: &mut Checker) {
        let t = "timeouts.";
        check.range_or_off(&format!("{t}dpd"), self.dpd.into(), 10, 86_400);
        check.range_or_off(
            &format!("{t}mobile_dpd"),
            self.mobile_dpd.into(),
            10,
            86_400,
        );
        check.range_or_off(&format!("{t}keepalive"), self.keepalive.into(), 10, 86_400);
        check.range_or_off(
            &format!("{t}idle_timeout"),
            self.idle_timeout.into(),
            30,
            YEAR,
        );
        check.range_or_off(
            &format!("{t}session_timeout"),
            self.session_timeout.into(),
            60,
            YEAR,
        );
        check.range(
            &format!("{t}cookie_timeout"),
            self.cookie_timeout.into(),
            1,
            86_400,
            "seconds",
        );
        if self.rekey_time == 0 {
            check.push(
                "timeouts.rekey_time",
                "0 would switch rekeying off (X-CSTP-Rekey-Method: none), which Cisco Secure \
                 Client 5.1 rejects",
                format!("use a value from 300 to {YEAR} seconds"),
            );
        } else {
            check.range(
                "timeouts.rekey_time",
                self.rekey_time.into(),
                300,
                YEAR,
                "seconds",
            );
        }
    }
}

impl Default for TimeoutsConfig {
    fn default() -> Self {
        Self {
            dpd: 90,
            mobile_dpd: 1800,
            keepalive: 32_400,
            idle_timeout: 1200,
            session_timeout: 0,
            cookie_timeout: 300,
            rekey_time: 172_800,
            rekey_method: RekeyMethod::Ssl,
        }
    }
}

/// How a client refreshes the tunnel keys every `rekey_time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RekeyMethod {
    /// `ssl`: renegotiate (TLS 1.2) or key-update (TLS 1.3) on the existing connections.
    Ssl,
    /// `new-tunnel`: reconnect with the session cookie, without asking for credentials.
    NewTunnel,
}

impl RekeyMethod {
    /// The method as written in the file and in `X-CSTP-Rekey-Method`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ssl => "ssl",
            Self::NewTunnel => "new-tunnel",
        }
    }
}

impl FromStr for RekeyMethod {
    type Err = InvalidValue;
    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let fix = "write \"ssl\" (the default) or \"new-tunnel\"";
        match text {
            "ssl" => Ok(Self::Ssl),
            "new-tunnel" => Ok(Self::NewTunnel),
            "none" => Err(InvalidValue::new(
                "\"none\" is not supported: Cisco Secure Client 5.1 rejects a tunnel that \
                 announces no rekey method",
                fix,
            )),
            _ => Err(InvalidValue::new(
                format!("{text:?} is not a rekey method"),
                fix,
            )),
        }
    }
}

impl fmt::Display for RekeyMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

text_serde!(RekeyMethod);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_switches_timers_off() {
        assert_eq!(TimeoutsConfig::enabled(0), None);
        assert_eq!(TimeoutsConfig::enabled(90), Some(Duration::from_secs(90)));
    }

    #[test]
    fn ranges_are_checked_together() {
        let config = TimeoutsConfig {
            dpd: 5,
            idle_timeout: 0,
            cookie_timeout: 0,
            rekey_time: 0,
            ..TimeoutsConfig::default()
        };
        let mut check = Checker::default();
        config.validate(&mut check);
        let keys: Vec<_> = check.issues().iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "timeouts.dpd",
                "timeouts.cookie_timeout",
                "timeouts.rekey_time"
            ]
        );
        assert!(
            check.issues()[0]
                .fix
                .contains("0 (off) or a value from 10 to 86400")
        );
        assert!(
            check.issues()[2]
                .problem
                .contains("Cisco Secure Client 5.1")
        );
    }

    #[test]
    fn rekey_none_says_why() {
        let err = "none".parse::<RekeyMethod>().unwrap_err();
        assert!(err.problem.contains("Cisco Secure Client 5.1"), "{err}");
        assert_eq!(
            "new-tunnel".parse::<RekeyMethod>().unwrap(),
            RekeyMethod::NewTunnel
        );
    }
}
