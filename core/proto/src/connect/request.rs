//! The client's `CONNECT /CSCOSSLC/tunnel` request headers (§3.1).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::auth::{SessionCookie, webvpn_cookie_from_head};
use crate::connect::{ClientKind, classify_user_agent};
use crate::http::RequestHead;

/// Smallest client-supplied MTU taken into account; smaller values are ignored (§5.6).
pub const MIN_CLIENT_MTU: u16 = 800;
/// Largest client-supplied MTU taken into account; larger values are ignored (§5.6).
pub const MAX_CLIENT_MTU: u16 = 16384;

/// Longest `X-CSTP-Hostname` accepted.
const MAX_HOSTNAME: usize = 64;

/// What the client asked for in its CONNECT request.
///
/// Choices for doubtful input, so the daemon can rely on them:
/// - Values no real client sends in that shape are errors ([`ConnectError`]): a non-decimal
///   `X-CSTP-Base-MTU` / `X-CSTP-MTU`, or an `X-DTLS-Master-Secret` that is not 96 hex digits.
/// - Well-formed but implausible values are ignored (`None`), as §5.6 requires: MTUs below
///   [`MIN_CLIENT_MTU`] or above [`MAX_CLIENT_MTU`]; a hostname with characters outside
///   `[A-Za-z0-9.-]` or longer than 64; a requested `X-CSTP-Address` that is not an IP address.
/// - A missing or undecodable cookie is `None`; the daemon answers 503 / 401 (§3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRequest {
    /// The `webvpn` cookie, if present and 32 bytes of base64.
    pub cookie: Option<SessionCookie>,
    /// `User-Agent`, empty when absent.
    pub user_agent: String,
    /// The client family derived from `user_agent`.
    pub client: ClientKind,
    /// `X-CSTP-Hostname`, when it is a plausible host name.
    pub hostname: Option<String>,
    /// `X-CSTP-Base-MTU` within bounds.
    pub base_mtu: Option<u16>,
    /// `X-CSTP-MTU` within bounds.
    pub mtu: Option<u16>,
    /// `X-CSTP-Address-Type` lists `IPv4` (true when the header is absent).
    pub want_ipv4: bool,
    /// `X-CSTP-Address-Type` lists `IPv6` (true when the header is absent).
    pub want_ipv6: bool,
    /// `X-CSTP-Full-IPv6-Capability: true`.
    pub full_ipv6: bool,
    /// The IPv4 `X-CSTP-Address` a reconnecting client asks for (informational).
    pub requested_ipv4: Option<Ipv4Addr>,
    /// The IPv6 `X-CSTP-Address` a reconnecting client asks for (informational).
    pub requested_ipv6: Option<Ipv6Addr>,
    /// `X-DTLS-Master-Secret` (legacy DTLS resumption, §5.3/§5.4).
    pub dtls_master_secret: Option<[u8; 48]>,
    /// `X-DTLS-CipherSuite`, split on `:`.
    pub dtls_ciphersuites: Vec<String>,
    /// `X-DTLS12-CipherSuite`, split on `:`.
    pub dtls12_ciphersuites: Vec<String>,
    /// `X-CSTP-Accept-Encoding`, split on `,`.
    pub cstp_accept_encoding: Vec<String>,
    /// `X-DTLS-Accept-Encoding`, split on `,`.
    pub dtls_accept_encoding: Vec<String>,
    /// `X-AnyConnect-Identifier-Platform` starts with `apple-ios` or `android`: the daemon
    /// should use the mobile DPD and idle timeouts.
    pub mobile: bool,
}

/// Why a CONNECT request's headers were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// A numeric header is not a decimal number.
    #[error("{header} is not a number")]
    BadNumber {
        /// The header name.
        header: &'static str,
    },
    /// A hex header has the wrong length or a non-hex digit.
    #[error("{header} is not {expected} hex digits")]
    BadHex {
        /// The header name.
        header: &'static str,
        /// The required number of hex digits.
        expected: usize,
    },
}

impl ConnectRequest {
    /// Extracts the CONNECT parameters from a request head. Path and method are not checked;
    /// see [`is_tunnel_path`](super::is_tunnel_path).
    ///
    /// # Errors
    ///
    /// Malformed numbers or hex, see [`ConnectError`] and the type-level notes.
    pub fn from_head(head: &RequestHead) -> Result<Self, ConnectError> {
        let user_agent = head.header("User-Agent").unwrap_or("").to_owned();
        let client = classify_user_agent(&user_agent);
        let (want_ipv4, want_ipv6) = match head.header("X-CSTP-Address-Type") {
            None => (true, true),
            Some(v) => {
                let has = |t: &str| v.split(',').any(|x| x.trim().eq_ignore_ascii_case(t));
                (has("IPv4"), has("IPv6"))
            }
        };
        let mut requested_ipv4 = None;
        let mut requested_ipv6 = None;
        for value in head.headers_named("X-CSTP-Address") {
            match value.parse::<IpAddr>() {
                Ok(IpAddr::V4(a)) => {
                    requested_ipv4.get_or_insert(a);
                }
                Ok(IpAddr::V6(a)) => {
                    requested_ipv6.get_or_insert(a);
                }
                Err(_) => {}
            }
        }
        let dtls_master_secret = match head.header("X-DTLS-Master-Secret") {
            None => None,
            Some(v) => Some(parse_hex::<48>(v).ok_or(ConnectError::BadHex {
                header: "X-DTLS-Master-Secret",
                expected: 96,
            })?),
        };
        let mobile = head
            .header("X-AnyConnect-Identifier-Platform")
            .is_some_and(|p| {
                let p = p.to_ascii_lowercase();
                p.starts_with("apple-ios") || p.starts_with("android")
            });
        Ok(Self {
            cookie: webvpn_cookie_from_head(head),
            user_agent,
            client,
            hostname: head
                .header("X-CSTP-Hostname")
                .filter(|h| valid_hostname(h))
                .map(Into::into),
            base_mtu: mtu_header(head, "X-CSTP-Base-MTU")?,
            mtu: mtu_header(head, "X-CSTP-MTU")?,
            want_ipv4,
            want_ipv6,
            full_ipv6: head
                .header("X-CSTP-Full-IPv6-Capability")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            requested_ipv4,
            requested_ipv6,
            dtls_master_secret,
            dtls_ciphersuites: split_list(head.header("X-DTLS-CipherSuite"), ':'),
            dtls12_ciphersuites: split_list(head.header("X-DTLS12-CipherSuite"), ':'),
            cstp_accept_encoding: split_list(head.header("X-CSTP-Accept-Encoding"), ','),
            dtls_accept_encoding: split_list(head.header("X-DTLS-Accept-Encoding"), ','),
            mobile,
        })
    }

    /// Whether the client offers DTLS PSK-NEGOTIATE (§5.2) in either cipher-suite header.
    pub fn offers_psk_negotiate(&self) -> bool {
        self.dtls_ciphersuites
            .iter()
            .chain(&self.dtls12_ciphersuites)
            .any(|s| s == "PSK-NEGOTIATE")
    }

    /// Whether the client sent any DTLS cipher-suite header, i.e. wants a DTLS channel.
    pub fn wants_dtls(&self) -> bool {
        !self.dtls_ciphersuites.is_empty() || !self.dtls12_ciphersuites.is_empty()
    }
}

fn mtu_header(head: &RequestHead, name: &'static str) -> Result<Option<u16>, ConnectError> {
    let Some(v) = head.header(name) else {
        return Ok(None);
    };
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConnectError::BadNumber { header: name });
    }
    // All digits: overflow is the only failure, and an overflowing value is out of range.
    Ok(v.parse::<u16>()
        .ok()
        .filter(|m| (MIN_CLIENT_MTU..=MAX_CLIENT_MTU).contains(m)))
}

fn valid_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= MAX_HOSTNAME
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

fn split_list(value: Option<&str>, sep: char) -> Vec<String> {
    value
        .into_iter()
        .flat_map(|v| v.split(sep))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Decodes exactly `2 * N` hex digits (either case).
fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let bytes = s.as_bytes();
    if bytes.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let digit = |b: u8| {
            char::from(b)
                .to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
        };
        *slot = digit(*pair.first()?)? << 4 | digit(*pair.get(1)?)?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Limits, parse_request_head};

    /// §3.1, verbatim shape of openconnect 9.01's request (HPKE headers elided).
    const OC_CONNECT: &str = "CONNECT /CSCOSSLC/tunnel HTTP/1.1\r\n\
Host: 10.99.0.1:4443\r\n\
User-Agent: Open AnyConnect VPN Agent v9.01-3\r\n\
Cookie: webvpn=APpLTTlk60QE6bwyuC8MjJU+NBigS8YpAoZVDl4K/JI=\r\n\
X-CSTP-Version: 1\r\n\
X-CSTP-Hostname: vm\r\n\
X-CSTP-Accept-Encoding: oc-lz4,lzs\r\n\
X-CSTP-Base-MTU: 1500\r\n\
X-CSTP-MTU: 1390\r\n\
X-CSTP-Address-Type: IPv6,IPv4\r\n\
X-CSTP-Full-IPv6-Capability: true\r\n\
X-DTLS-Master-Secret: 2B7E151628AED2A6ABF7158809CF4F3C2B7E151628AED2A6ABF7158809CF4F3C2B7E151628AED2A6ABF7158809CF4F3C\r\n\
X-DTLS-CipherSuite: PSK-NEGOTIATE:OC-DTLS1_2-AES256-GCM:OC2-DTLS1_2-CHACHA20-POLY1305:OC-DTLS1_2-AES128-GCM:DHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA:AES256-SHA:AES128-SHA\r\n\
X-DTLS12-CipherSuite: ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-GCM-SHA256:DHE-RSA-AES256-SHA:DHE-RSA-AES128-SHA:AES256-SHA:AES128-SHA\r\n\
X-DTLS-Accept-Encoding: oc-lz4,lzs\r\n\
\r\n";

    fn request(raw: &str) -> Result<ConnectRequest, ConnectError> {
        let (head, n) = parse_request_head(raw.as_bytes(), &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(n, raw.len());
        ConnectRequest::from_head(&head)
    }

    fn with(extra: &str) -> String {
        OC_CONNECT.replace(
            "X-CSTP-Version: 1\r\n",
            &format!("X-CSTP-Version: 1\r\n{extra}"),
        )
    }

    #[test]
    fn openconnect_9_01_request() {
        let r = request(OC_CONNECT).unwrap();
        assert_eq!(
            r.cookie.as_ref().map(SessionCookie::to_base64).as_deref(),
            Some("APpLTTlk60QE6bwyuC8MjJU+NBigS8YpAoZVDl4K/JI=")
        );
        assert_eq!(r.client, ClientKind::OpenConnect);
        assert_eq!(r.hostname.as_deref(), Some("vm"));
        assert_eq!((r.base_mtu, r.mtu), (Some(1500), Some(1390)));
        assert!(r.want_ipv4 && r.want_ipv6 && r.full_ipv6);
        assert_eq!(r.dtls_master_secret.unwrap()[..4], [0x2b, 0x7e, 0x15, 0x16]);
        assert_eq!(r.dtls_ciphersuites.len(), 8);
        assert_eq!(r.dtls_ciphersuites[0], "PSK-NEGOTIATE");
        assert_eq!(
            r.dtls12_ciphersuites.last().map(String::as_str),
            Some("AES128-SHA")
        );
        assert_eq!(r.cstp_accept_encoding, ["oc-lz4", "lzs"]);
        assert_eq!(r.dtls_accept_encoding, ["oc-lz4", "lzs"]);
        assert!(r.offers_psk_negotiate() && r.wants_dtls());
        assert!(!r.mobile);
        assert_eq!((r.requested_ipv4, r.requested_ipv6), (None, None));
    }

    #[test]
    fn reconnect_and_disable_ipv6() {
        let raw = with("X-CSTP-Address: 192.168.77.50\r\nX-CSTP-Address: fd00:77::5\r\n")
            .replace("IPv6,IPv4", "IPv4")
            .replace("X-CSTP-Full-IPv6-Capability: true\r\n", "");
        let r = request(&raw).unwrap();
        assert_eq!(r.requested_ipv4, Some(Ipv4Addr::new(192, 168, 77, 50)));
        assert_eq!(r.requested_ipv6, "fd00:77::5".parse().ok());
        assert!(r.want_ipv4 && !r.want_ipv6 && !r.full_ipv6);
    }

    #[test]
    fn minimal_request() {
        let r = request("CONNECT /CSCOSSLC/tunnel HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(r.cookie, None);
        assert_eq!(r.client, ClientKind::Unknown);
        assert!(r.want_ipv4 && r.want_ipv6 && !r.full_ipv6);
        assert!(!r.wants_dtls() && !r.offers_psk_negotiate());
        assert_eq!(
            (r.base_mtu, r.mtu, r.dtls_master_secret),
            (None, None, None)
        );
    }

    #[test]
    fn out_of_range_values_are_ignored() {
        for (base, want) in [
            ("799", None),
            ("800", Some(800)),
            ("16384", Some(16384)),
            ("16385", None),
            ("0", None),
            ("99999999999", None),
        ] {
            let raw =
                OC_CONNECT.replace("X-CSTP-Base-MTU: 1500", &format!("X-CSTP-Base-MTU: {base}"));
            assert_eq!(request(&raw).unwrap().base_mtu, want, "{base}");
        }
        for host in ["", "a b", "host_name", "x;rm", &"a".repeat(65), "h\u{e9}"] {
            let raw =
                OC_CONNECT.replace("X-CSTP-Hostname: vm", &format!("X-CSTP-Hostname: {host}"));
            assert_eq!(request(&raw).unwrap().hostname, None, "{host:?}");
        }
        let raw = with("X-CSTP-Address: not-an-ip\r\n");
        assert_eq!(request(&raw).unwrap().requested_ipv4, None);
        let raw = OC_CONNECT.replace("IPv6,IPv4", "");
        let r = request(&raw).unwrap();
        assert!(!r.want_ipv4 && !r.want_ipv6);
    }

    #[test]
    fn malformed_values_are_errors() {
        for bad in ["-1", "1500 ", "15OO", "0x5dc", "+1500"] {
            let raw = OC_CONNECT.replace("X-CSTP-MTU: 1390", &format!("X-CSTP-MTU: {bad}"));
            let res = request(&raw);
            // Trailing space is trimmed by the head parser, so that one is valid.
            if bad == "1500 " {
                assert_eq!(res.unwrap().mtu, Some(1500));
            } else {
                assert_eq!(
                    res,
                    Err(ConnectError::BadNumber {
                        header: "X-CSTP-MTU"
                    }),
                    "{bad}"
                );
            }
        }
        let secret = "2B7E151628AED2A6ABF7158809CF4F3C2B7E151628AED2A6ABF7158809CF4F3C2B7E151628AED2A6ABF7158809CF4F3C";
        let bad_secrets = [
            secret[..94].to_owned(),
            format!("{secret}00"),
            secret.replacen('2', "g", 1),
            secret.replacen("2B", "\u{e9}", 1),
        ];
        for bad in bad_secrets {
            let raw = OC_CONNECT.replace(secret, &bad);
            assert_eq!(
                request(&raw),
                Err(ConnectError::BadHex {
                    header: "X-DTLS-Master-Secret",
                    expected: 96
                })
            );
        }
    }

    #[test]
    fn mobile_and_lowercase_hex() {
        let raw = with("X-AnyConnect-Identifier-Platform: Apple-iOS\r\n").replace("2B7E", "2b7e");
        let r = request(&raw).unwrap();
        assert!(r.mobile);
        assert_eq!(r.dtls_master_secret.unwrap()[..2], [0x2b, 0x7e]);
    }
}
