//! `[server]`: where to listen, with which certificate, and how many clients to admit.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::num::NonZeroUsize;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::Checker;
use crate::value;

/// The `[server]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Addresses to listen on: TCP for TLS (CSTP), and UDP on the same port for DTLS.
    /// ocserv: `tcp-port`, `udp-port`, `listen-host`.
    #[serde(deserialize_with = "value::list")]
    pub listen: Vec<SocketAddr>,
    /// PEM certificate chain presented to clients. Required. ocserv: `server-cert`.
    pub certificate: PathBuf,
    /// PEM private key of the certificate. Required; must be readable by its owner only.
    /// ocserv: `server-key`.
    pub private_key: PathBuf,
    /// Sent as `X-CSTP-Server-Name`. ocserv: none (it sends its own version).
    pub server_name: String,
    /// Data-path worker threads; 0 means one per CPU. See [`ServerConfig::worker_count`].
    pub workers: usize,
    /// Directory for the database and runtime state.
    pub state_dir: PathBuf,
    /// Most sessions at once; 0 means unlimited. ocserv: `max-clients`.
    pub max_clients: u32,
    /// Most sessions at once per user; 0 means unlimited. ocserv: `max-same-clients`.
    pub max_same_clients: u32,
    /// Seconds a client may take to authenticate before the connection is closed.
    /// ocserv: `auth-timeout`.
    pub auth_timeout_secs: u32,
    /// Offer the DTLS data channel on the UDP port of each listen address; `false` keeps every
    /// client on CSTP (TLS over TCP). ocserv: `udp-port` (unset = off).
    pub dtls: bool,
}

impl ServerConfig {
    /// The number of data-path workers: `workers`, or the number of CPUs when it is 0.
    pub fn worker_count(&self) -> usize {
        NonZeroUsize::new(self.workers)
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get)
    }

    pub(crate) fn validate(&self, check: &mut Checker) {
        if self.listen.is_empty() {
            check.push(
                "server.listen",
                "no address is given, so the server could not accept any client",
                "add at least one",
            );
        }
        let mut seen = HashSet::new();
        for (i, addr) in self.listen.iter().enumerate() {
            let key = format!("server.listen[{i}]");
            if addr.port() == 0 {
                check.push(
                    &key,
                    format!("\"{addr}\" has port 0"),
                    "give the port clients connect to, usually 443",
                );
            }
            if !seen.insert(addr) {
                check.push(&key, format!("\"{addr}\" is listed twice"), "remove one");
            }
        }
        check.required_path("server.certificate", &self.certificate);
        check.required_path("server.private_key", &self.private_key);
        check.required_path("server.state_dir", &self.state_dir);
        if self.server_name.is_empty()
            || self.server_name.len() > 64
            || !self
                .server_name
                .bytes()
                .all(|b| b.is_ascii_graphic() || b == b' ')
        {
            check.push(
                "server.server_name",
                format!(
                    "{:?} cannot be sent as an HTTP header value (it must be 1 to 64 printable \
                     ASCII characters)",
                    self.server_name
                ),
                "use a short plain name",
            );
        }
        check.range(
            "server.workers",
            self.workers as u64,
            0,
            1024,
            "(0 = one per CPU)",
        );
        check.range(
            "server.auth_timeout_secs",
            self.auth_timeout_secs.into(),
            10,
            3600,
            "seconds",
        );
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: vec![SocketAddr::from((Ipv4Addr::UNSPECIFIED, 443))],
            certificate: PathBuf::new(),
            private_key: PathBuf::new(),
            server_name: "wolfguard".into(),
            workers: 0,
            state_dir: "/var/lib/wolfguard".into(),
            max_clients: 1024,
            max_same_clients: 2,
            auth_timeout_secs: 240,
            dtls: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_count_is_never_zero() {
        let config = ServerConfig::default();
        assert!(config.worker_count() >= 1);
        let config = ServerConfig {
            workers: 3,
            ..ServerConfig::default()
        };
        assert_eq!(config.worker_count(), 3);
    }

    #[test]
    fn port_zero_and_duplicates_are_reported() {
        let config = ServerConfig {
            listen: ["0.0.0.0:0", "[::]:443", "[::]:443"]
                .iter()
                .map(|a| a.parse().unwrap())
                .collect(),
            certificate: "/c".into(),
            private_key: "/k".into(),
            ..ServerConfig::default()
        };
        let mut check = Checker::default();
        config.validate(&mut check);
        let keys: Vec<_> = check.issues().iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["server.listen[0]", "server.listen[2]"]);
    }
}
