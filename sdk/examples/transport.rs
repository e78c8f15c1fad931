//! A transport plugin: asks the daemon for an extra listener from its settings.
//!
//! ```toml
//! [plugins.example-transport]
//! path = "target/debug/examples/libtransport.so"
//! settings = { bind = "127.0.0.1:8443" }
//! ```

use wolfguard_sdk::prelude::*;

/// Declares one TCP listener.
pub struct ExtraListener {
    bind: String,
}

impl Plugin for ExtraListener {
    const NAME: &'static str = "example-transport";

    fn new(config: &Config, _host: Host) -> Result<Self, PluginError> {
        Ok(Self {
            bind: config.str("bind").unwrap_or("127.0.0.1:8443").to_owned(),
        })
    }
}

impl TransportPlugin for ExtraListener {
    fn listeners(&self) -> Vec<Listener> {
        vec![Listener {
            name: "extra".into(),
            bind: self.bind.clone(),
            protocol: "tcp".into(),
        }]
    }
}

wolfguard_sdk::export_plugin!(ExtraListener, transport);
