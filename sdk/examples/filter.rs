//! A filter plugin: refuses connects from listed address prefixes, refuses tunnels of listed
//! users (the `filter-session` hook of contract 1.1), drops IPv6 packets when `ipv4_only = true`,
//! and rejects IPv4 packets to listed destinations (the daemon answers those with an ICMP
//! "administratively prohibited" error).
//!
//! ```toml
//! [plugins.example-filter]
//! path = "target/debug/examples/libfilter.so"
//! failure_policy = "fail-open"
//! settings = { deny = ["203.0.113."], deny_users = ["mallory"], ipv4_only = true,
//!              reject_to = ["192.0.2.80"] }
//! ```

use wolfguard_sdk::prelude::*;

/// Prefix deny-list, user deny-list, IP-version and destination filter.
pub struct PrefixFilter {
    deny: Vec<String>,
    deny_users: Vec<String>,
    ipv4_only: bool,
    reject_to: Vec<std::net::Ipv4Addr>,
}

/// The strings of list `key` in `config`.
fn strings(config: &Config, key: &str) -> Vec<String> {
    config
        .value(key)
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl Plugin for PrefixFilter {
    const NAME: &'static str = "example-filter";

    fn new(config: &Config, _host: Host) -> Result<Self, PluginError> {
        let reject_to = strings(config, "reject_to")
            .iter()
            .map(|a| {
                a.parse().map_err(|_| {
                    PluginError::new(format!("reject_to: {a:?} is not an IPv4 address"))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            deny: strings(config, "deny"),
            deny_users: strings(config, "deny_users"),
            ipv4_only: config.bool("ipv4_only").unwrap_or(false),
            reject_to,
        })
    }
}

impl FilterPlugin for PrefixFilter {
    fn filter_connect(&self, info: &ConnectInfo) -> Result<Verdict, PluginError> {
        Ok(
            if self.deny.iter().any(|p| info.peer.starts_with(p.as_str())) {
                Verdict::Reject("address denied".into())
            } else {
                Verdict::Accept
            },
        )
    }

    fn filter_session(&self, session: &SessionInfo) -> Result<Verdict, PluginError> {
        Ok(if self.deny_users.contains(&session.user) {
            Verdict::Reject(format!("user {} may not connect", session.user))
        } else {
            Verdict::Accept
        })
    }

    fn filter_packets(
        &self,
        batch: &[Packet<'_>],
        out: &mut Vec<PacketVerdict>,
    ) -> Result<(), PluginError> {
        out.extend(batch.iter().map(|p| match p.data.first() {
            Some(b) if self.ipv4_only && b >> 4 == 6 => PacketVerdict::Drop,
            Some(b) if b >> 4 == 4 && p.ingress && p.data.len() >= 20 => {
                let dst = std::net::Ipv4Addr::new(p.data[16], p.data[17], p.data[18], p.data[19]);
                if self.reject_to.contains(&dst) {
                    PacketVerdict::Reject
                } else {
                    PacketVerdict::Accept
                }
            }
            _ => PacketVerdict::Accept,
        }));
        Ok(())
    }
}

wolfguard_sdk::export_plugin!(PrefixFilter, filter);
