//! The JSON-lines event log: every daemon event becomes one line of JSON in a file,
//!
//! ```text
//! {"ts":1732400000.123,"kind":"auth-result","session":null,"user":"alice","ok":"true",...}
//! ```
//!
//! with the event's fields as string members after `ts`, `kind` and `session`. Lines are written
//! whole under a lock and flushed, so `tail -f | jq` sees complete events.
//!
//! Settings (`[plugins.log-json.settings]`): `path` (required), the file, opened for appending.
//! As a WASM plugin, the manifest must grant the file's directory (`files = ["/var/log/wg"]`).

use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use wolfguard_sdk::prelude::*;

/// The plugin.
pub struct LogJson {
    out: Mutex<File>,
    host: Host,
}

/// The JSON object of `event`, stamped with `ts` (seconds since the epoch).
pub fn to_json(event: &LogEvent, ts: f64) -> Value {
    let mut obj = Map::new();
    obj.insert("ts".into(), Value::from(ts));
    obj.insert("kind".into(), Value::from(event.kind.as_str()));
    obj.insert(
        "session".into(),
        event.session.map_or(Value::Null, Value::from),
    );
    for (k, v) in &event.fields {
        // Fixed members win over a field that happens to share their name.
        obj.entry(k.as_str())
            .or_insert_with(|| Value::from(v.as_str()));
    }
    Value::Object(obj)
}

impl LogJson {
    fn out(&self) -> MutexGuard<'_, File> {
        // A poisoned lock only means a write panicked midway; later lines are still whole.
        self.out.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Plugin for LogJson {
    const NAME: &'static str = "log-json";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn provides() -> Vec<String> {
        vec!["log:json".into()]
    }

    fn new(config: &Config, host: Host) -> Result<Self, PluginError> {
        let path = config.require_str("path")?;
        let out = File::options()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| PluginError::new(format!("{path}: {e}")))?;
        Ok(Self {
            out: Mutex::new(out),
            host,
        })
    }
}

impl LogPlugin for LogJson {
    fn log_event(&self, event: &LogEvent) {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let mut line = to_json(event, ts).to_string();
        line.push('\n');
        let written = {
            let mut out = self.out();
            out.write_all(line.as_bytes()).and_then(|()| out.flush())
        };
        match written {
            Ok(()) => self.host.counter_add("lines", 1),
            Err(e) => {
                self.host.counter_add("write_errors", 1);
                self.host.warn(&format!("cannot write event: {e}"));
            }
        }
    }
}

wolfguard_sdk::export_plugin!(LogJson, logging);

#[cfg(test)]
mod tests {
    use wolfguard_sdk::testing::MockHost;

    use super::*;

    #[test]
    fn events_become_json_lines() {
        let path = std::env::temp_dir().join(format!("wg-log-json-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mock = MockHost::new();
        let settings = format!("path = {:?}", path.display().to_string());
        let p: LogJson = mock.instantiate(&settings).unwrap();
        let ev = LogEvent {
            kind: "auth-result".into(),
            session: Some(5),
            fields: vec![
                ("user".into(), "al\"ice".into()),
                ("kind".into(), "x".into()),
            ],
        };
        p.log_event(&ev);
        p.log_event(&ev);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["kind"], "auth-result");
        assert_eq!(lines[0]["session"], 5);
        assert_eq!(lines[0]["user"], "al\"ice");
        assert_eq!(mock.counter("lines"), 2);
        let _ = std::fs::remove_file(&path);
    }
}
