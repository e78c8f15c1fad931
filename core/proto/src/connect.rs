//! `CONNECT /CSCOSSLC/tunnel` (§3): the request headers, client classification and the
//! `200 CONNECTED` response.
//!
//! The request carries the session cookie and the client's capabilities (MTU, address families,
//! DTLS suites and master secret, compression). The response assigns addresses, routes, timers
//! and the DTLS parameters; openconnect compares its header names case-sensitively (§8.1), so
//! [`ConnectResponse::write`] emits them in exact case and in ocserv's order. After the blank
//! line the same TLS stream carries [`cstp`](crate::cstp) frames.

mod dtls_choice;
mod request;
mod response;
mod route;

pub use self::dtls_choice::{DtlsChoice, KeyKind, choose_dtls};
pub use self::request::{ConnectError, ConnectRequest, MAX_CLIENT_MTU, MIN_CLIENT_MTU};
pub use self::response::{
    ConnectResponse, DtlsHeaders, DtlsMode, REKEY_FAR_FUTURE, RekeyMethod, connect_error_response,
};
pub use self::route::{Ipv4Lease, Ipv6Lease, Route};

/// Whether `path` is the tunnel endpoint: `/CSCOSSLC/tunnel`, or `CSCOSSLC/tunnel` as the
/// Clavister client sends it.
pub fn is_tunnel_path(path: &str) -> bool {
    path == "/CSCOSSLC/tunnel" || path == "CSCOSSLC/tunnel"
}

/// The client family, inferred from the `User-Agent` (§2.3).
///
/// It changes details of the protocol: IPv6 DNS header name for AnyConnect, the iOS default IPv6
/// route, and no IPv6 for openconnect ≤ v3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientKind {
    /// openconnect ≥ v4, or another agent that presents itself as OpenConnect.
    OpenConnect,
    /// openconnect v3 or older: bare `<auth>` XML, no IPv6.
    OpenConnectV3,
    /// Cisco AnyConnect / Secure Client (and compatible agents calling themselves AnyConnect).
    AnyConnect {
        /// The iOS client, which needs `X-CSTP-Split-Include-IP6: 2000::/3`.
        ios: bool,
    },
    /// Clavister OneConnect.
    Clavister,
    /// AnyLink's client.
    AnyLink,
    /// A Cisco IP phone (`/svc` endpoint).
    IpPhone,
    /// Anything else; treated as IPv6-capable, as ocserv ≥ 1.2.3 does.
    Unknown,
}

impl ClientKind {
    /// Whether the client is Cisco's (IPv6 DNS then goes in `X-CSTP-DNS-IP6`).
    pub fn is_anyconnect(self) -> bool {
        matches!(self, Self::AnyConnect { .. })
    }

    /// Whether IPv6 may be offered to this client at all.
    pub fn supports_ipv6(self) -> bool {
        !matches!(self, Self::OpenConnectV3 | Self::IpPhone)
    }
}

/// Classifies a `User-Agent` the way ocserv HEAD does: case-insensitive prefixes, first match
/// wins (§2.3).
pub fn classify_user_agent(ua: &str) -> ClientKind {
    const OPEN_ANYCONNECT: &str = "Open AnyConnect VPN Agent v";
    if let Some(rest) = strip_prefix_ci(ua, OPEN_ANYCONNECT) {
        let major: String = rest
            .chars()
            .take_while(char::is_ascii_digit)
            .take(6)
            .collect();
        return match major.parse::<u32>() {
            Ok(n) if n <= 3 => ClientKind::OpenConnectV3,
            _ => ClientKind::OpenConnect,
        };
    }
    let table: &[(&str, ClientKind)] = &[
        (
            "Cisco AnyConnect VPN Agent for Apple",
            ClientKind::AnyConnect { ios: true },
        ),
        ("OpenConnect VPN Agent", ClientKind::OpenConnect),
        ("Cisco AnyConnect", ClientKind::AnyConnect { ios: false }),
        // Must precede the bare "AnyConnect" prefix.
        ("AnyConnect-compatible OpenConnect", ClientKind::OpenConnect),
        ("AnyConnect", ClientKind::AnyConnect { ios: false }),
        ("Clavister OneConnect VPN", ClientKind::Clavister),
        ("AnyLink Secure Client", ClientKind::AnyLink),
        ("Cisco SVC IPPhone Client", ClientKind::IpPhone),
    ];
    table
        .iter()
        .find(|(prefix, _)| strip_prefix_ci(ua, prefix).is_some())
        .map_or(ClientKind::Unknown, |&(_, kind)| kind)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tunnel_paths() {
        assert!(is_tunnel_path("/CSCOSSLC/tunnel"));
        assert!(is_tunnel_path("CSCOSSLC/tunnel"));
        for p in [
            "/CSCOSSLC/tunnel/",
            "/cscosslc/tunnel",
            "/CSCOSSLC/tunnel?x",
            "/",
            "",
        ] {
            assert!(!is_tunnel_path(p), "{p}");
        }
    }

    #[test]
    fn user_agents() {
        let cases = [
            ("Open AnyConnect VPN Agent v9.01-3", ClientKind::OpenConnect),
            ("Open AnyConnect VPN Agent v9.01", ClientKind::OpenConnect),
            ("open anyconnect vpn agent v3.02", ClientKind::OpenConnectV3),
            ("Open AnyConnect VPN Agent v", ClientKind::OpenConnect),
            (
                "Open AnyConnect VPN Agent v99999999999999",
                ClientKind::OpenConnect,
            ),
            (
                "Cisco AnyConnect VPN Agent for Apple iPhone 4.10",
                ClientKind::AnyConnect { ios: true },
            ),
            (
                "Cisco AnyConnect VPN Agent for Windows 4.10.07061",
                ClientKind::AnyConnect { ios: false },
            ),
            ("OpenConnect VPN Agent (Android)", ClientKind::OpenConnect),
            (
                "AnyConnect-compatible OpenConnect VPN Agent v9.12",
                ClientKind::OpenConnect,
            ),
            (
                "AnyConnect Linux_64 5.0.01242",
                ClientKind::AnyConnect { ios: false },
            ),
            (
                "AnyConnect AppleSSLVPN_Darwin_ARM (iPhone) 5.1.11.347",
                ClientKind::AnyConnect { ios: false },
            ),
            ("Clavister OneConnect VPN 1.0", ClientKind::Clavister),
            ("AnyLink Secure Client 0.9", ClientKind::AnyLink),
            ("Cisco SVC IPPhone Client v1.0", ClientKind::IpPhone),
            ("curl/8.0", ClientKind::Unknown),
            ("", ClientKind::Unknown),
            ("Open AnyConnect VPN Agent \u{e9}", ClientKind::Unknown),
            (
                "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
                ClientKind::Unknown,
            ),
        ];
        for (ua, want) in cases {
            assert_eq!(classify_user_agent(ua), want, "{ua:?}");
        }
        assert!(ClientKind::AnyConnect { ios: true }.is_anyconnect());
        assert!(!ClientKind::OpenConnectV3.supports_ipv6());
        assert!(ClientKind::Unknown.supports_ipv6());
    }
}
