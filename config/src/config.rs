//! The whole document, and the checker that collects semantic issues across its tables.

use std::collections::BTreeMap;
use std::path::Path;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::ConfigIssue;
use crate::{
    AuthConfig, LoggingConfig, MetricsConfig, NetworkConfig, PoolSection, ServerConfig,
    TimeoutsConfig, TlsConfig, example,
};

/// The configuration of one wolfguard server: one field per TOML table.
///
/// `Config::default()` holds every default but leaves the three required paths
/// (`server.certificate`, `server.private_key`, `auth.password_file`) empty, so it does not pass
/// [`Config::validate`] until they are set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[server]`: listeners, certificate, limits.
    pub server: ServerConfig,
    /// `[tls]`: version floor, ciphers, key-exchange groups.
    pub tls: TlsConfig,
    /// `[network]`: TUN device, address pools, routes and DNS.
    pub network: NetworkConfig,
    /// `[timeouts]`: DPD, keepalive, idle/session limits, cookies, rekey.
    pub timeouts: TimeoutsConfig,
    /// `[auth]`: password file, banners, selectable groups.
    pub auth: AuthConfig,
    /// `[logging]`: filter and format.
    pub logging: LoggingConfig,
    /// `[metrics]`: the Prometheus endpoint.
    pub metrics: MetricsConfig,
    /// `[pool]`: the priority thread pool for blocking work.
    pub pool: PoolSection,
    /// `[plugins.<name>]`: one table per plugin, passed to the plugin host untouched.
    pub plugins: BTreeMap<String, toml::Table>,
}

impl Config {
    /// Every semantic problem: ranges, cross-key rules and required keys, in table order.
    ///
    /// [`crate::from_str`] calls it; call it again after changing a loaded config (for example
    /// from command-line overrides). Positions are not filled in here.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut check = Checker::default();
        self.server.validate(&mut check);
        self.tls.validate(&mut check);
        self.network.validate(&mut check);
        self.timeouts.validate(&mut check);
        self.auth.validate(&mut check, !self.plugins.is_empty());
        self.logging.validate(&mut check);
        self.metrics.validate(&mut check);
        self.pool.validate(&mut check);
        check.issues
    }

    /// Makes relative paths absolute against `base`, the directory of the configuration file.
    pub(crate) fn resolve_paths(&mut self, base: &Path) {
        for path in [
            &mut self.server.certificate,
            &mut self.server.private_key,
            &mut self.server.state_dir,
            &mut self.auth.password_file,
        ] {
            if !path.as_os_str().is_empty() && path.is_relative() {
                *path = base.join(&*path);
            }
        }
        // A plugin's `path` is the one key of the pass-through tables the daemon reads itself.
        for table in self.plugins.values_mut() {
            if let Some(toml::Value::String(p)) = table.get_mut("path") {
                let path = Path::new(p.as_str());
                if !p.is_empty() && path.is_relative() {
                    *p = base.join(path).to_string_lossy().into_owned();
                }
            }
        }
    }
}

/// Collects issues while the tables validate themselves; fixes that quote the example get the
/// example's line appended.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    issues: Vec<ConfigIssue>,
}

impl Checker {
    /// The issues so far.
    #[cfg(test)]
    pub(crate) fn issues(&self) -> &[ConfigIssue] {
        &self.issues
    }

    /// Records an issue as given.
    pub(crate) fn push(
        &mut self,
        key: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.issues.push(ConfigIssue::new(key, problem, fix));
    }

    /// Records an issue whose fix ends with the example's line for `key`.
    fn push_with_example(&mut self, key: &str, problem: String, fix: String) {
        let fix = match example::line_for(key) {
            Some(line) => format!("{fix}, e.g. {line}"),
            None => fix,
        };
        self.push(key, problem, fix);
    }

    /// Reports `value` outside `min..=max`.
    pub(crate) fn range(&mut self, key: &str, value: u64, min: u64, max: u64, unit: &str) {
        if !(min..=max).contains(&value) {
            self.push_with_example(
                key,
                format!("{value} is out of range"),
                format!("use a value from {min} to {max} {unit}"),
            );
        }
    }

    /// Reports a nonzero `value` outside `min..=max` seconds (0 switches the timer off).
    pub(crate) fn range_or_off(&mut self, key: &str, value: u64, min: u64, max: u64) {
        if value != 0 && !(min..=max).contains(&value) {
            self.push_with_example(
                key,
                format!("{value} is out of range"),
                format!("use 0 (off) or a value from {min} to {max} seconds"),
            );
        }
    }

    /// Reports a required path that was not set.
    pub(crate) fn required_path(&mut self, key: &str, path: &Path) {
        if path.as_os_str().is_empty() {
            let (table, name) = key.rsplit_once('.').unwrap_or(("", key));
            let fix = match example::line_for(key) {
                Some(line) => format!("add {line} under [{table}]"),
                None => format!("add {name} = \"PATH\" under [{table}]"),
            };
            self.push(key, "is required but not set", fix);
        }
    }

    /// Reports a network written with host bits set, e.g. `10.1.2.3/16`.
    pub(crate) fn network_address(&mut self, key: &str, net: IpNet) {
        if net != net.trunc() {
            self.push(
                key,
                format!("\"{net}\" has host bits set after the prefix"),
                format!("write the network address \"{}\"", net.trunc()),
            );
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
