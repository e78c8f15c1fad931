//! Forwarding and source NAT for the address pools, through the kernel's nftables.
//!
//! With `network.nat = true` the daemon enables IP forwarding and installs one table of its own,
//! `inet wolfguard_<tun>`, that masquerades traffic from the pools leaving through any interface
//! but the tunnel device. The table is removed when the returned guard drops, so a stopped server
//! leaves no rules behind, and it never touches other tables: an operator's own firewall stays as
//! it is. The `nft` command (Debian package `nftables`) applies the rules atomically.

use std::io::{self, Write as _};
use std::process::{Command, Stdio};

/// Keeps the NAT table installed; removes it on drop.
#[derive(Debug)]
pub struct NatGuard {
    table: String,
}

/// What to masquerade.
#[derive(Debug, Clone)]
pub struct NatConfig {
    /// The tunnel device name (traffic leaving through it is not translated).
    pub tun: String,
    /// IPv4 pool in CIDR form, e.g. `192.168.77.0/24`.
    pub ipv4_pool: Option<String>,
    /// IPv6 pool in CIDR form.
    pub ipv6_pool: Option<String>,
}

impl NatGuard {
    /// Enables forwarding for the pools' families and installs the masquerade table.
    pub fn install(config: &NatConfig) -> io::Result<Self> {
        let table = format!("wolfguard_{}", config.tun.replace('-', "_"));
        if config.ipv4_pool.is_some() {
            std::fs::write("/proc/sys/net/ipv4/ip_forward", "1")?;
        }
        if config.ipv6_pool.is_some() {
            std::fs::write("/proc/sys/net/ipv6/conf/all/forwarding", "1")?;
        }
        let ruleset = ruleset(&table, config);
        // Re-running after a crash: drop a stale table of ours first (failure = none existed).
        let _ = nft(&format!("delete table inet {table}\n"));
        nft(&ruleset)?;
        Ok(Self { table })
    }
}

impl Drop for NatGuard {
    fn drop(&mut self) {
        let _ = nft(&format!("delete table inet {}\n", self.table));
    }
}

fn ruleset(table: &str, config: &NatConfig) -> String {
    let mut rules = String::new();
    if let Some(net) = &config.ipv4_pool {
        rules.push_str(&format!(
            "    ip saddr {net} oifname != \"{}\" masquerade\n",
            config.tun
        ));
    }
    if let Some(net) = &config.ipv6_pool {
        rules.push_str(&format!(
            "    ip6 saddr {net} oifname != \"{}\" masquerade\n",
            config.tun
        ));
    }
    format!(
        "table inet {table} {{\n  chain postrouting {{\n    type nat hook postrouting priority srcnat; policy accept;\n{rules}  }}\n}}\n"
    )
}

fn nft(script: &str) -> io::Result<()> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot run nft (apt-get install nftables): {e}"),
            )
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "nft rejected the ruleset: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruleset_masquerades_each_pool_except_on_the_tunnel() {
        let r = ruleset(
            "wolfguard_wgvpn0",
            &NatConfig {
                tun: "wgvpn0".into(),
                ipv4_pool: Some("192.168.77.0/24".into()),
                ipv6_pool: Some("fd00:77::/48".into()),
            },
        );
        assert!(r.contains("table inet wolfguard_wgvpn0"));
        assert!(r.contains("ip saddr 192.168.77.0/24 oifname != \"wgvpn0\" masquerade"));
        assert!(r.contains("ip6 saddr fd00:77::/48 oifname != \"wgvpn0\" masquerade"));
        assert!(r.contains("type nat hook postrouting priority srcnat"));
    }
}
