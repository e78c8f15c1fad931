//! `[network]`: the TUN device, the address pools, and what clients route and resolve through
//! the tunnel.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use crate::config::Checker;
use crate::value::{self, InvalidValue, text_serde};

/// The `[network]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Name of the TUN device. ocserv: `device`.
    pub tun_name: TunName,
    /// IPv4 addresses leased to clients, or `"none"`. ocserv: `ipv4-network` + `ipv4-netmask`.
    #[serde(
        deserialize_with = "value::none_or",
        serialize_with = "value::serialize_none_or"
    )]
    pub ipv4_pool: Option<Ipv4Net>,
    /// IPv6 prefixes leased to clients, or `"none"`. ocserv: `ipv6-network`.
    #[serde(
        deserialize_with = "value::none_or",
        serialize_with = "value::serialize_none_or"
    )]
    pub ipv6_pool: Option<Ipv6Net>,
    /// Prefix length given to each client out of `ipv6_pool`. ocserv: `ipv6-subnet-prefix`.
    pub ipv6_prefix: u8,
    /// DNS servers pushed to clients (`X-CSTP-DNS`). ocserv: `dns`.
    #[serde(deserialize_with = "value::list")]
    pub dns: Vec<IpAddr>,
    /// DNS search domain (`X-CSTP-Default-Domain`). ocserv: `default-domain`.
    pub default_domain: Option<DomainName>,
    /// Domains resolved through the tunnel's DNS only (`X-CSTP-Split-DNS`). ocserv: `split-dns`.
    pub split_dns: Vec<DomainName>,
    /// Networks routed through the tunnel; empty means everything (the default route).
    /// ocserv: `route`.
    #[serde(deserialize_with = "value::list")]
    pub routes: Vec<IpNet>,
    /// Networks kept out of the tunnel (`X-CSTP-Split-Exclude`). ocserv: `no-route`.
    #[serde(deserialize_with = "value::list")]
    pub no_routes: Vec<IpNet>,
    /// Send all DNS queries through the tunnel even with split routes. ocserv: `tunnel-all-dns`.
    pub tunnel_all_dns: bool,
    /// Link MTU before tunnel overheads (`X-CSTP-Base-MTU`). ocserv: `mtu`.
    pub mtu: u16,
    /// Masquerade traffic from the pools behind the server's own address.
    pub nat: bool,
}

impl NetworkConfig {
    pub(crate) fn validate(&self, check: &mut Checker) {
        if self.ipv4_pool.is_none() && self.ipv6_pool.is_none() {
            check.push(
                "network.ipv4_pool",
                "neither ipv4_pool nor ipv6_pool is set, so clients would get no address",
                "set at least one of them",
            );
        }
        if let Some(pool) = self.ipv4_pool {
            check.network_address("network.ipv4_pool", IpNet::V4(pool));
            if !(8..=30).contains(&pool.prefix_len()) {
                check.push(
                    "network.ipv4_pool",
                    format!("\"{pool}\" has prefix /{}", pool.prefix_len()),
                    "use a prefix from /8 to /30 so the pool holds clients but not the whole \
                     address space",
                );
            }
        }
        check.range(
            "network.ipv6_prefix",
            self.ipv6_prefix.into(),
            1,
            128,
            "bits",
        );
        if let Some(pool) = self.ipv6_pool {
            check.network_address("network.ipv6_pool", IpNet::V6(pool));
            if pool.prefix_len() > self.ipv6_prefix {
                check.push(
                    "network.ipv6_prefix",
                    format!(
                        "/{} is shorter than the pool \"{pool}\" itself",
                        self.ipv6_prefix
                    ),
                    format!(
                        "use a per-client prefix from {} to 128 (128 = one address per client)",
                        pool.prefix_len()
                    ),
                );
            }
        }
        for (name, nets) in [("routes", &self.routes), ("no_routes", &self.no_routes)] {
            for (i, net) in nets.iter().enumerate() {
                check.network_address(&format!("network.{name}[{i}]"), *net);
            }
        }
        check.range("network.mtu", self.mtu.into(), 1280, 9000, "bytes");
    }
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            tun_name: TunName("wgvpn0".into()),
            ipv4_pool: Some(Ipv4Net::new([192, 168, 77, 0].into(), 24).expect("24 <= 32")),
            ipv6_pool: None,
            ipv6_prefix: 128,
            dns: Vec::new(),
            default_domain: None,
            split_dns: Vec::new(),
            routes: Vec::new(),
            no_routes: Vec::new(),
            tunnel_all_dns: false,
            mtu: 1500,
            nat: false,
        }
    }
}

/// A Linux network interface name: 1 to 15 bytes of `[A-Za-z0-9_-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TunName(String);

impl TunName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for TunName {
    type Err = InvalidValue;
    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let fix = "use 1 to 15 letters, digits, '_' or '-', e.g. \"wgvpn0\"";
        if text.is_empty() || text.len() > 15 {
            return Err(InvalidValue::new(
                format!(
                    "{text:?} is {} bytes long, but Linux interface names have 1 to 15",
                    text.len()
                ),
                fix,
            ));
        }
        if let Some(c) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "_-".contains(*c)))
        {
            return Err(InvalidValue::new(
                format!("{text:?} contains {c:?}, which is not allowed in an interface name"),
                fix,
            ));
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for TunName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A DNS domain name such as `corp.example.com` (a trailing dot is dropped).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DomainName(String);

impl DomainName {
    /// The name, without a trailing dot.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for DomainName {
    type Err = InvalidValue;
    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let name = text.strip_suffix('.').unwrap_or(text);
        let label_ok = |label: &str| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !label.starts_with('-')
                && !label.ends_with('-')
        };
        if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
            return Err(InvalidValue::new(
                format!("{text:?} is not a domain name"),
                "write one name of dot-separated labels (letters, digits, '-'), e.g. \
                 \"corp.example.com\"",
            ));
        }
        Ok(Self(name.to_owned()))
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

text_serde!(TunName, DomainName);

#[cfg(test)]
mod tests {
    use test_case::test_case;

    use super::*;

    #[test_case("wgvpn0")]
    #[test_case("vpns_0-a")]
    #[test_case("abcdefghijklmno")]
    fn good_tun_names(text: &str) {
        assert_eq!(text.parse::<TunName>().unwrap().as_str(), text);
    }

    #[test_case("", "0 bytes")]
    #[test_case("abcdefghijklmnop", "16 bytes")]
    #[test_case("vpn 0", "' '")]
    #[test_case("vpn%d", "'%'")]
    #[test_case("../x", "'.'")]
    fn bad_tun_names(text: &str, says: &str) {
        let err = text.parse::<TunName>().unwrap_err();
        assert!(err.problem.contains(says), "{err}");
    }

    #[test_case("corp.example.com", Some("corp.example.com"))]
    #[test_case("example.com.", Some("example.com"))]
    #[test_case("_msdcs.corp", Some("_msdcs.corp"))]
    #[test_case("a..b", None)]
    #[test_case("-a.com", None)]
    #[test_case("a b.com", None)]
    #[test_case(".", None)]
    fn domain_names(text: &str, parsed: Option<&str>) {
        let got = text.parse::<DomainName>().ok();
        assert_eq!(got.as_ref().map(DomainName::as_str), parsed);
    }

    #[test]
    fn pool_rules() {
        let mut config = NetworkConfig {
            ipv4_pool: Some("10.0.0.0/31".parse().unwrap()),
            ipv6_pool: Some("fd00::/64".parse().unwrap()),
            ipv6_prefix: 48,
            routes: vec!["10.1.2.3/16".parse().unwrap()],
            ..NetworkConfig::default()
        };
        let mut check = Checker::default();
        config.validate(&mut check);
        let keys: Vec<_> = check.issues().iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "network.ipv4_pool",
                "network.ipv6_prefix",
                "network.routes[0]"
            ]
        );
        assert!(
            check.issues()[2].fix.contains("\"10.1.0.0/16\""),
            "{:?}",
            check.issues()[2]
        );

        config.ipv4_pool = None;
        config.ipv6_pool = None;
        config.routes.clear();
        let mut check = Checker::default();
        config.validate(&mut check);
        assert!(check.issues()[0].problem.contains("no address"));
    }
}
