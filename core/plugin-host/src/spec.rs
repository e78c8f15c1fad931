//! What the daemon asks the host to load: one [`PluginSpec`] per `[plugins.<name>]` table.

use std::path::PathBuf;

use toml::{Table, Value};
use wolfguard_plugin_api::Hook;

/// How a plugin is built and loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Loader {
    /// A `cdylib` exporting the abi_stable root module: trusted code, runs in-process unlimited.
    Native,
    /// A WASM component of the world `wolfguard:plugin/plugin`: sandboxed per its [`Sandbox`].
    Wasm,
}

/// What a filter hook's failure (error, panic, trap, timeout, out of memory) counts as.
///
/// Auth hooks always fail closed: a failed auth step is a rejection whatever the policy says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Refuse: connects and auth failures are rejected, packets dropped.
    #[default]
    FailClosed,
    /// Let through: the failed plugin is treated as having accepted.
    FailOpen,
}

/// Which host calls a WASM plugin may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum HostCall {
    /// `log`.
    Log,
    /// `counter-add`.
    Metrics,
    /// `kv-get` and `kv-put`.
    Kv,
}

/// The capabilities and limits of a WASM plugin (its `[plugins.<name>.sandbox]` table). Native
/// plugins are trusted and ignore it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    /// Hooks the host may call; `None` means every hook the plugin's manifest declares.
    pub hooks: Option<Vec<Hook>>,
    /// Host calls the plugin may make; any other traps the calling hook.
    pub host_calls: Vec<HostCall>,
    /// Outbound network destinations, `host:port`, resolved at load; all others are refused.
    pub network: Vec<String>,
    /// Directories the plugin may read, visible at the same path inside the sandbox.
    pub files: Vec<PathBuf>,
    /// Directories the plugin may read and write.
    pub files_rw: Vec<PathBuf>,
    /// Wall-clock budget of one call (epoch deadline), in milliseconds.
    pub timeout_ms: u64,
    /// Fuel (roughly, wasm instructions) per call; `None` disables fuel metering.
    pub fuel: Option<u64>,
    /// Linear memory limit, in 64 KiB wasm pages.
    pub max_memory_pages: u32,
}

/// One plugin to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSpec {
    /// Instance name: the `<name>` of `[plugins.<name>]`.
    pub name: String,
    /// The `.so` (native) or `.wasm` component file.
    pub path: PathBuf,
    /// Native or WASM.
    pub kind: Loader,
    /// Higher runs earlier in each chain (among plugins whose dependencies allow it).
    pub priority: i32,
    /// A critical plugin that fails to load stops start-up; others are reported and skipped.
    pub critical: bool,
    /// What a failed filter hook counts as.
    pub failure_policy: FailurePolicy,
    /// The plugin's own settings, as TOML text (its `settings` table).
    pub settings: String,
    /// WASM capabilities and limits.
    pub sandbox: Sandbox,
}

/// A `[plugins.<name>]` table the host cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[plugins.{plugin}]: {reason}")]
pub struct SpecError {
    /// The table's name.
    pub plugin: String,
    /// What is wrong, naming the key.
    pub reason: String,
}

impl Default for Sandbox {
    /// Every declared hook, logging only, no network, no files, 100 ms per call, no fuel, 16 MiB.
    fn default() -> Self {
        Self {
            hooks: None,
            host_calls: vec![HostCall::Log],
            network: Vec::new(),
            files: Vec::new(),
            files_rw: Vec::new(),
            timeout_ms: 100,
            fuel: None,
            max_memory_pages: 256,
        }
    }
}

impl HostCall {
    /// The name in `host_calls = [...]`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::Metrics => "metrics",
            Self::Kv => "kv",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Log, Self::Metrics, Self::Kv]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

impl PluginSpec {
    /// A native plugin with default settings: priority 0, not critical, fail-closed.
    pub fn native(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self::new(name.into(), path.into(), Loader::Native)
    }

    /// A WASM plugin with default settings and the default [`Sandbox`].
    pub fn wasm(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self::new(name.into(), path.into(), Loader::Wasm)
    }

    fn new(name: String, path: PathBuf, kind: Loader) -> Self {
        Self {
            name,
            path,
            kind,
            priority: 0,
            critical: false,
            failure_policy: FailurePolicy::default(),
            settings: String::new(),
            sandbox: Sandbox::default(),
        }
    }

    /// Parses the body of a `[plugins.<name>]` table (TOML text), the shape the daemon's config
    /// accepts:
    ///
    /// ```toml
    /// path = "/usr/lib/wolfguard/plugins/libwolfguard_plugin_auth_local.so"
    /// kind = "native"            # or "wasm"
    /// priority = 10
    /// critical = true
    /// failure_policy = "fail-closed"   # or "fail-open"
    /// settings = { path = "/etc/wolfguard/passwd" }
    ///
    /// [sandbox]                   # WASM only
    /// hooks = ["auth-begin", "auth-continue"]
    /// host_calls = ["log", "metrics", "kv"]
    /// network = ["radius.example.net:1812"]
    /// files = ["/etc/wolfguard"]
    /// files_rw = ["/var/log/wolfguard"]
    /// timeout_ms = 100
    /// fuel = 10_000_000
    /// max_memory_pages = 256
    /// ```
    pub fn from_toml(name: &str, text: &str) -> Result<Self, SpecError> {
        let err = |reason: String| SpecError {
            plugin: name.to_owned(),
            reason,
        };
        let table: Table = text.parse().map_err(|e| err(format!("{e}")))?;
        Self::from_table(name, &table).map_err(err)
    }

    fn from_table(name: &str, t: &Table) -> Result<Self, String> {
        let path = str_key(t, "path")?.ok_or("`path` is required")?;
        let kind = match str_key(t, "kind")?.unwrap_or("native") {
            "native" => Loader::Native,
            "wasm" => Loader::Wasm,
            other => {
                return Err(format!(
                    "`kind` must be \"native\" or \"wasm\", not {other:?}"
                ));
            }
        };
        let mut spec = Self::new(name.to_owned(), PathBuf::from(path), kind);
        for (key, value) in t {
            match key.as_str() {
                "path" | "kind" => {}
                "priority" => {
                    let p = value.as_integer().ok_or("`priority` must be an integer")?;
                    spec.priority = i32::try_from(p).map_err(|_| "`priority` is out of range")?;
                }
                "critical" => spec.critical = value.as_bool().ok_or("`critical` must be a bool")?,
                "failure_policy" => {
                    spec.failure_policy = match value.as_str() {
                        Some("fail-closed") => FailurePolicy::FailClosed,
                        Some("fail-open") => FailurePolicy::FailOpen,
                        _ => {
                            return Err(
                                "`failure_policy` must be \"fail-closed\" or \"fail-open\"".into(),
                            );
                        }
                    }
                }
                "settings" => {
                    let s = value.as_table().ok_or("`settings` must be a table")?;
                    spec.settings = s.to_string();
                }
                "sandbox" => {
                    let s = value.as_table().ok_or("`sandbox` must be a table")?;
                    spec.sandbox = Sandbox::from_table(s)?;
                }
                other => return Err(format!("unknown key `{other}`")),
            }
        }
        Ok(spec)
    }
}

impl Sandbox {
    fn from_table(t: &Table) -> Result<Self, String> {
        let mut s = Self::default();
        for (key, value) in t {
            match key.as_str() {
                "hooks" => {
                    let names = strings(value, "sandbox.hooks")?;
                    let hooks = names
                        .iter()
                        .map(|n| Hook::parse(n).ok_or(format!("unknown hook {n:?}")))
                        .collect::<Result<_, _>>()?;
                    s.hooks = Some(hooks);
                }
                "host_calls" => {
                    s.host_calls = strings(value, "sandbox.host_calls")?
                        .iter()
                        .map(|n| HostCall::parse(n).ok_or(format!("unknown host call {n:?}")))
                        .collect::<Result<_, _>>()?;
                }
                "network" => s.network = strings(value, "sandbox.network")?,
                "files" => s.files = paths(value, "sandbox.files")?,
                "files_rw" => s.files_rw = paths(value, "sandbox.files_rw")?,
                "timeout_ms" => s.timeout_ms = positive(value, "sandbox.timeout_ms")?,
                "fuel" => s.fuel = Some(positive(value, "sandbox.fuel")?),
                "max_memory_pages" => {
                    let p = positive(value, "sandbox.max_memory_pages")?;
                    s.max_memory_pages =
                        u32::try_from(p).map_err(|_| "`sandbox.max_memory_pages` is too large")?;
                }
                other => return Err(format!("unknown key `sandbox.{other}`")),
            }
        }
        Ok(s)
    }

    /// Whether the plugin may make host call `call`.
    pub fn allows(&self, call: HostCall) -> bool {
        self.host_calls.contains(&call)
    }
}

fn str_key<'a>(t: &'a Table, key: &str) -> Result<Option<&'a str>, String> {
    match t.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .map(Some)
            .ok_or_else(|| format!("`{key}` must be a string")),
    }
}

fn strings(v: &Value, key: &str) -> Result<Vec<String>, String> {
    let arr = v
        .as_array()
        .ok_or_else(|| format!("`{key}` must be a list of strings"))?;
    arr.iter()
        .map(|x| {
            x.as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("`{key}` must be a list of strings"))
        })
        .collect()
}

fn paths(v: &Value, key: &str) -> Result<Vec<PathBuf>, String> {
    Ok(strings(v, key)?.into_iter().map(PathBuf::from).collect())
}

fn positive(v: &Value, key: &str) -> Result<u64, String> {
    v.as_integer()
        .and_then(|i| u64::try_from(i).ok())
        .filter(|i| *i > 0)
        .ok_or_else(|| format!("`{key}` must be a positive integer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_table_parses() {
        let text = r#"
            path = "/p/x.wasm"
            kind = "wasm"
            priority = 10
            critical = true
            failure_policy = "fail-open"
            settings = { path = "/etc/passwd", n = 3 }
            [sandbox]
            hooks = ["auth-begin"]
            host_calls = ["log", "kv"]
            timeout_ms = 50
            fuel = 1000
            max_memory_pages = 32
        "#;
        let s = PluginSpec::from_toml("x", text).unwrap();
        assert_eq!(s.kind, Loader::Wasm);
        assert_eq!(s.priority, 10);
        assert!(s.critical);
        assert_eq!(s.failure_policy, FailurePolicy::FailOpen);
        assert!(s.settings.contains("path = \"/etc/passwd\""));
        assert_eq!(s.sandbox.hooks, Some(vec![Hook::AuthBegin]));
        assert!(s.sandbox.allows(HostCall::Kv) && !s.sandbox.allows(HostCall::Metrics));
        assert_eq!(
            (
                s.sandbox.timeout_ms,
                s.sandbox.fuel,
                s.sandbox.max_memory_pages
            ),
            (50, Some(1000), 32)
        );
    }

    #[test]
    fn mistakes_name_the_key() {
        let e = PluginSpec::from_toml("x", "kind = \"native\"").unwrap_err();
        assert_eq!(e.to_string(), "[plugins.x]: `path` is required");
        let e = PluginSpec::from_toml("x", "path = \"p\"\nkind = \"elf\"").unwrap_err();
        assert!(e.reason.contains("`kind`"), "{e}");
        let e = PluginSpec::from_toml("x", "path = \"p\"\nbogus = 1").unwrap_err();
        assert!(e.reason.contains("`bogus`"), "{e}");
        let e = PluginSpec::from_toml("x", "path = \"p\"\n[sandbox]\nhooks = [\"nope\"]");
        assert!(e.unwrap_err().reason.contains("nope"));
    }
}
