//! `[metrics]`: where the Prometheus text endpoint listens. Off unless configured.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::config::Checker;

/// The `[metrics]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Addresses serving `GET /metrics` (Prometheus text format 0.0.4) over plain HTTP. Empty
    /// (the default) serves nothing. The counters name no users, but they do tell an observer
    /// how busy the server is: keep it on loopback or a management network. ocserv: none (its
    /// numbers come from `occtl show stats`).
    pub listen: Vec<SocketAddr>,
}

impl MetricsConfig {
    pub(crate) fn validate(&self, check: &mut Checker) {
        for (i, addr) in self.listen.iter().enumerate() {
            if addr.port() == 0 {
                check.push(
                    format!("metrics.listen[{i}]"),
                    "has port 0",
                    "give the port scrapers use, e.g. \"127.0.0.1:9220\"",
                );
            }
        }
    }
}
