//! A filter plugin: refuses connects from listed address prefixes and drops IPv6 packets when
//! `ipv4_only = true`.
//!
//! ```toml
//! [plugins.example-filter]
//! path = "target/debug/examples/libfilter.so"
//! failure_policy = "fail-open"
//! settings = { deny = ["203.0.113."], ipv4_only = true }
//! ```

use wolfguard_sdk::prelude::*;

/// Prefix deny-list and IP-version filter.
pub struct PrefixFilter {
    deny: Vec<String>,
    ipv4_only: bool,
}

impl Plugin for PrefixFilter {
    const NAME: &'static str = "example-filter";

    fn new(config: &Config, _host: Host) -> Result<Self, PluginError> {
        let deny = config
            .value("deny")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            deny,
            ipv4_only: config.bool("ipv4_only").unwrap_or(false),
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

    fn filter_packets(
        &self,
        batch: &[Packet<'_>],
        out: &mut Vec<PacketVerdict>,
    ) -> Result<(), PluginError> {
        out.extend(batch.iter().map(|p| match p.data.first() {
            Some(b) if self.ipv4_only && b >> 4 == 6 => PacketVerdict::Drop,
            _ => PacketVerdict::Accept,
        }));
        Ok(())
    }
}

wolfguard_sdk::export_plugin!(PrefixFilter, filter);
