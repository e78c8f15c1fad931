//! A logging plugin: counts events by kind and logs session changes through the host.
//!
//! ```toml
//! [plugins.example-logging]
//! path = "target/debug/examples/liblogging.so"
//! ```

use wolfguard_sdk::prelude::*;

/// Counts and echoes events.
pub struct EventCounter {
    host: Host,
}

impl Plugin for EventCounter {
    const NAME: &'static str = "example-logging";

    fn new(_config: &Config, host: Host) -> Result<Self, PluginError> {
        Ok(Self { host })
    }
}

impl LogPlugin for EventCounter {
    fn log_event(&self, event: &LogEvent) {
        self.host.counter_add(&format!("events.{}", event.kind), 1);
        if event.kind.starts_with("session-") {
            let user = event.field("user").unwrap_or("?");
            self.host.info(&format!("{} for {user}", event.kind));
        }
    }
}

wolfguard_sdk::export_plugin!(EventCounter, logging);
