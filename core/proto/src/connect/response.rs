//! The `HTTP/1.1 200 CONNECTED` response (§3.3) and CONNECT error answers (§3.2).

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::connect::{ClientKind, Ipv4Lease, Ipv6Lease, Route};
use crate::http::{ResponseHead, strip_controls, write_header};

/// `X-CSTP-Rekey-Time` sent when the daemon wants no rekey: a year, as ocserv HEAD does on
/// TLS 1.3. Advertising `none` breaks Cisco Secure Client and `UINT_MAX` overflows 32-bit
/// clients (§8.8).
pub const REKEY_FAR_FUTURE: u32 = 31_536_000;

/// How the client should rekey (`X-CSTP-Rekey-Method`). There is deliberately no `None`
/// variant (§8.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RekeyMethod {
    /// `ssl`: TLS renegotiation (a KeyUpdate on TLS 1.3).
    Ssl,
    /// `new-tunnel`: the client reconnects with its cookie.
    NewTunnel,
}

impl RekeyMethod {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ssl => "ssl",
            Self::NewTunnel => "new-tunnel",
        }
    }
}

/// How the DTLS channel is keyed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DtlsMode {
    /// PSK-NEGOTIATE (§5.2): `X-DTLS-App-ID` + `X-DTLS-CipherSuite: PSK-NEGOTIATE`.
    Psk {
        /// The App-ID the client puts in its ClientHello session id; new on every CONNECT.
        app_id: [u8; 32],
    },
    /// Legacy resumption of a session that never existed (§5.3, §5.4).
    Resume {
        /// `X-DTLS-Session-ID`.
        session_id: [u8; 32],
        /// The chosen suite name, e.g. `AES256-GCM-SHA384` or `OC-DTLS1_2-AES256-GCM`.
        cipher: String,
        /// Whether the suite came from `X-DTLS12-CipherSuite` (and is echoed under that name).
        dtls12: bool,
        /// `X-DTLS-MTU`: the DTLS data MTU.
        mtu: u16,
    },
}

/// The DTLS block of the response; only sent when the client asked for DTLS and UDP is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DtlsHeaders {
    /// `X-DTLS-Port`: the server's UDP port (must not be 0).
    pub port: u16,
    /// `X-DTLS-DPD` in seconds.
    pub dpd: Option<u32>,
    /// `X-DTLS-Keepalive` in seconds.
    pub keepalive: Option<u32>,
    /// `X-DTLS-Rekey-Time` in seconds (ocserv: CSTP rekey time + 10).
    pub rekey_time: Option<u32>,
    /// `X-DTLS-Rekey-Method`; ocserv sends it only for `ssl` (absent means none).
    pub rekey_method: Option<RekeyMethod>,
    /// Keying mode.
    pub mode: DtlsMode,
    /// `X-DTLS-Content-Encoding`, if compression was negotiated.
    pub content_encoding: Option<String>,
}

/// Everything a `200 CONNECTED` answer can say. See [`write`](Self::write) for the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectResponse {
    /// The client family; selects the IPv6 DNS header name and the iOS default route.
    pub client: ClientKind,
    /// Admin headers sent verbatim right after the status line (`included-http-headers`).
    pub included_http_headers: Vec<(String, String)>,
    /// `X-CSTP-Server-Name`.
    pub server_name: Option<String>,
    /// `X-CSTP-Hostname`.
    pub hostname: Option<String>,
    /// `X-CSTP-DPD` in seconds (omitted when `None` or 0).
    pub dpd: Option<u32>,
    /// `X-CSTP-Default-Domain`.
    pub default_domain: Option<String>,
    /// IPv4 address and netmask.
    pub ipv4: Option<Ipv4Lease>,
    /// IPv6 address and prefix; only written when `full_ipv6`.
    pub ipv6: Option<Ipv6Lease>,
    /// The client sent `X-CSTP-Full-IPv6-Capability: true` and IPv6 is allowed (MTU ≥ 1280,
    /// client family): gates every IPv6 header.
    pub full_ipv6: bool,
    /// DNS servers, in order (IPv6 ones only with `full_ipv6`).
    pub dns: Vec<IpAddr>,
    /// `X-CSTP-NBNS` servers.
    pub nbns: Vec<IpAddr>,
    /// `X-CSTP-Split-DNS` domains.
    pub split_dns: Vec<String>,
    /// Routes into the tunnel; none at all means the default route.
    pub split_include: Vec<Route>,
    /// Routes kept out of the tunnel.
    pub split_exclude: Vec<Route>,
    /// Force `X-CSTP-Tunnel-All-DNS: true` (it is also true whenever the tunnel is the default
    /// route).
    pub tunnel_all_dns: bool,
    /// `X-CSTP-Client-Bypass-Protocol`.
    pub client_bypass_protocol: bool,
    /// `X-CSTP-Keepalive` in seconds.
    pub keepalive: Option<u32>,
    /// `X-CSTP-Idle-Timeout` in seconds; `none` when unset.
    pub idle_timeout: Option<u32>,
    /// `X-CSTP-DynDNS: true`.
    pub dyndns: bool,
    /// `X-CSTP-Rekey-Time`; `None` writes [`REKEY_FAR_FUTURE`].
    pub rekey_time: Option<u32>,
    /// `X-CSTP-Rekey-Method`.
    pub rekey_method: RekeyMethod,
    /// `X-CSTP-MSIE-Proxy-PAC-URL` (openconnect's spelling).
    pub proxy_pac_url: Option<String>,
    /// `X-CSTP-Session-Timeout` in seconds; `none` when unset.
    pub session_timeout: Option<u32>,
    /// `X-CSTP-Session-Timeout-Remaining`, only when set.
    pub session_timeout_remaining: Option<u32>,
    /// Admin `custom-header` lines, after the fixed CSTP headers.
    pub custom_headers: Vec<(String, String)>,
    /// The DTLS block.
    pub dtls: Option<DtlsHeaders>,
    /// `X-CSTP-Base-MTU`: the link MTU.
    pub base_mtu: Option<u16>,
    /// `X-CSTP-MTU`: the data (tun) MTU. Required by clients; see [`crate::mtu`]. The default,
    /// 1434, is `data_mtu(1500, None, false, PSK_AES_GCM_OVERHEAD)`.
    pub mtu: u16,
    /// `X-CSTP-Banner`.
    pub banner: Option<String>,
    /// `X-CSTP-Content-Encoding`, if compression was negotiated.
    pub cstp_content_encoding: Option<String>,
}

impl Default for ConnectResponse {
    fn default() -> Self {
        Self {
            client: ClientKind::OpenConnect,
            included_http_headers: Vec::new(),
            server_name: None,
            hostname: None,
            dpd: None,
            default_domain: None,
            ipv4: None,
            ipv6: None,
            full_ipv6: false,
            dns: Vec::new(),
            nbns: Vec::new(),
            split_dns: Vec::new(),
            split_include: Vec::new(),
            split_exclude: Vec::new(),
            tunnel_all_dns: false,
            client_bypass_protocol: false,
            keepalive: None,
            idle_timeout: None,
            dyndns: false,
            rekey_time: None,
            rekey_method: RekeyMethod::Ssl,
            proxy_pac_url: None,
            session_timeout: None,
            session_timeout_remaining: None,
            custom_headers: Vec::new(),
            dtls: None,
            base_mtu: None,
            mtu: 1434,
            banner: None,
            cstp_content_encoding: None,
        }
    }
}

/// Appends header lines with a fixed name; values are stripped of control characters.
struct Writer<'a>(&'a mut Vec<u8>);

impl Writer<'_> {
    fn h(&mut self, name: &str, value: &str) {
        write_header(
            self.0,
            &strip_controls(name).replace([':', ' '], ""),
            &strip_controls(value),
        );
    }

    fn h_opt(&mut self, name: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.h(name, v);
        }
    }

    fn num(&mut self, name: &str, value: Option<u32>) {
        if let Some(v) = value {
            self.h(name, &v.to_string());
        }
    }

    fn num_or_none(&mut self, name: &str, value: Option<u32>) {
        match value {
            Some(v) => self.h(name, &v.to_string()),
            None => self.h(name, "none"),
        }
    }
}

impl ConnectResponse {
    /// Writes the status line, the headers in exact case and ocserv order (§3.3), and the
    /// blank line that starts CSTP.
    ///
    /// Rules applied here rather than by the caller:
    /// - IPv6 address, routes and DNS servers are only written when `full_ipv6`.
    /// - IPv6 DNS servers go in `X-CSTP-DNS-IP6` for AnyConnect, in `X-CSTP-DNS` otherwise.
    /// - iOS AnyConnect with IPv6 but no IPv6 split-include gets `X-CSTP-Split-Include-IP6:
    ///   2000::/3`.
    /// - `X-CSTP-Tunnel-All-DNS` is `true` when forced or when there is no split-include.
    /// - `X-CSTP-Idle-Timeout` / `X-CSTP-Session-Timeout` say `none` when unset.
    /// - No `X-CSTP-Lease-Duration`, never `Rekey-Method: none` (§2.14).
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"HTTP/1.1 200 CONNECTED\r\n");
        let mut w = Writer(out);
        for (name, value) in &self.included_http_headers {
            w.h(name, value);
        }
        w.h("X-CSTP-Version", "1");
        w.h_opt("X-CSTP-Server-Name", self.server_name.as_deref());
        w.h_opt("X-CSTP-Hostname", self.hostname.as_deref());
        w.num("X-CSTP-DPD", self.dpd.filter(|&d| d > 0));
        w.h_opt("X-CSTP-Default-Domain", self.default_domain.as_deref());
        if let Some(v4) = &self.ipv4 {
            w.h("X-CSTP-Address", &v4.address.to_string());
            w.h("X-CSTP-Netmask", &v4.netmask.to_string());
        }
        let v6 = self.full_ipv6;
        if let Some(lease) = self.ipv6.as_ref().filter(|_| v6) {
            w.h(
                "X-CSTP-Address-IP6",
                &format!("{}/{}", lease.address, lease.prefix.min(128)),
            );
        }
        for dns in &self.dns {
            match dns {
                IpAddr::V4(_) => w.h("X-CSTP-DNS", &dns.to_string()),
                IpAddr::V6(_) if !v6 => {}
                IpAddr::V6(_) if self.client.is_anyconnect() => {
                    w.h("X-CSTP-DNS-IP6", &dns.to_string())
                }
                IpAddr::V6(_) => w.h("X-CSTP-DNS", &dns.to_string()),
            }
        }
        for nbns in &self.nbns {
            w.h("X-CSTP-NBNS", &nbns.to_string());
        }
        for domain in &self.split_dns {
            w.h("X-CSTP-Split-DNS", domain);
        }
        self.write_routes(&mut w, "X-CSTP-Split-Include", &self.split_include);
        let ios_default = matches!(self.client, ClientKind::AnyConnect { ios: true })
            && v6
            && self.ipv6.is_some()
            && !self.split_include.iter().any(|r| r.addr.is_ipv6());
        if ios_default {
            w.h("X-CSTP-Split-Include-IP6", "2000::/3");
        }
        let default_route = self.split_include.is_empty();
        w.h(
            "X-CSTP-Tunnel-All-DNS",
            bool_str(self.tunnel_all_dns || default_route),
        );
        w.h(
            "X-CSTP-Client-Bypass-Protocol",
            bool_str(self.client_bypass_protocol),
        );
        self.write_routes(&mut w, "X-CSTP-Split-Exclude", &self.split_exclude);
        w.num("X-CSTP-Keepalive", self.keepalive);
        w.num_or_none("X-CSTP-Idle-Timeout", self.idle_timeout);
        w.h("X-CSTP-Smartcard-Removal-Disconnect", "true");
        if self.dyndns {
            w.h("X-CSTP-DynDNS", "true");
        }
        w.num(
            "X-CSTP-Rekey-Time",
            Some(self.rekey_time.unwrap_or(REKEY_FAR_FUTURE)),
        );
        w.h("X-CSTP-Rekey-Method", self.rekey_method.as_str());
        w.h_opt("X-CSTP-MSIE-Proxy-PAC-URL", self.proxy_pac_url.as_deref());
        w.num_or_none("X-CSTP-Session-Timeout", self.session_timeout);
        w.num(
            "X-CSTP-Session-Timeout-Remaining",
            self.session_timeout_remaining,
        );
        w.h("X-CSTP-Disconnected-Timeout", "none");
        w.h("X-CSTP-Keep", "true");
        w.h("X-CSTP-TCP-Keepalive", "true");
        w.h("X-CSTP-License", "accept");
        for (name, value) in &self.custom_headers {
            w.h(name, value);
        }
        if let Some(dtls) = &self.dtls {
            write_dtls(&mut w, dtls);
        }
        w.num("X-CSTP-Base-MTU", self.base_mtu.map(u32::from));
        w.h("X-CSTP-MTU", &self.mtu.to_string());
        w.h_opt("X-CSTP-Banner", self.banner.as_deref());
        let dtls_enc = self
            .dtls
            .as_ref()
            .and_then(|d| d.content_encoding.as_deref());
        w.h_opt("X-DTLS-Content-Encoding", dtls_enc);
        w.h_opt(
            "X-CSTP-Content-Encoding",
            self.cstp_content_encoding.as_deref(),
        );
        out.extend_from_slice(b"\r\n");
    }

    /// The serialised response as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        self.write(&mut out);
        out
    }

    fn write_routes(&self, w: &mut Writer<'_>, name: &str, routes: &[Route]) {
        let mut buf = String::new();
        for route in routes {
            buf.clear();
            let _ = write!(buf, "{route}");
            if route.addr.is_ipv4() {
                w.h(name, &buf);
            } else if self.full_ipv6 {
                w.h(&format!("{name}-IP6"), &buf);
            }
        }
    }
}

fn write_dtls(w: &mut Writer<'_>, dtls: &DtlsHeaders) {
    w.num("X-DTLS-DPD", dtls.dpd.filter(|&d| d > 0));
    w.h("X-DTLS-Port", &dtls.port.to_string());
    w.num("X-DTLS-Rekey-Time", dtls.rekey_time);
    w.h_opt(
        "X-DTLS-Rekey-Method",
        dtls.rekey_method.map(RekeyMethod::as_str),
    );
    w.num("X-DTLS-Keepalive", dtls.keepalive);
    match &dtls.mode {
        DtlsMode::Psk { app_id } => {
            w.h("X-DTLS-App-ID", &lower_hex(app_id));
            w.h("X-DTLS-CipherSuite", "PSK-NEGOTIATE");
        }
        DtlsMode::Resume {
            session_id,
            cipher,
            dtls12,
            mtu,
        } => {
            w.h("X-DTLS-Session-ID", &lower_hex(session_id));
            let name = if *dtls12 {
                "X-DTLS12-CipherSuite"
            } else {
                "X-DTLS-CipherSuite"
            };
            w.h(name, cipher);
            w.h("X-DTLS-MTU", &mtu.to_string());
        }
    }
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

fn lower_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A CONNECT refusal: `HTTP/1.1 <status> <reason>`, optional `X-Reason`, `Content-Length: 0`,
/// `Connection: close`.
///
/// ocserv's cases (§3.2): `401 Cookie is not acceptable` (unknown or expired cookie),
/// `503 Service Unavailable` (no cookie; with `X-Reason: Server configuration error` when no
/// network is configured), `404 Not found` (wrong path). openconnect prints `X-Reason` on 503.
pub fn connect_error_response(status: u16, reason: &str, x_reason: Option<&str>) -> Vec<u8> {
    let mut head = ResponseHead::new(status, reason);
    if let Some(x) = x_reason {
        head.push_header("X-Reason", x);
    }
    head.header("Content-Length", "0")
        .header("Connection", "close")
        .to_bytes()
}

#[cfg(test)]
mod tests;
