//! The daemon's side of the plugin host: `[plugins.<name>]` tables become [`PluginSpec`]s, the
//! host is loaded once at start, and the first auth plugin in chain order becomes the password
//! backend behind the front end's [`Authenticator`] seam.
//!
//! ```text
//!  [plugins.local]  path = ".../libwolfguard_plugin_auth_local.so"   kind = "native"
//!  [plugins.audit]  path = ".../log_json.wasm"                       kind = "wasm"
//!        │ PluginSpec::from_toml                    PluginHost::load (critical ⇒ start fails)
//!        ▼
//!  front: password check on the pool ──► PluginAuth::check ──► host.auth_blocking(first auth plugin)
//!  front: new TCP connection         ──► host.filter_connect (connect filters, pool)
//!  front: wrong password             ──► host.filter_auth_failure (failure filters, pool)
//!  front: CONNECT, addresses leased  ──► host.filter_session (session filters, pool)
//!  event bus ──► host.subscribe: one bounded subscriber per logging plugin
//!  tunnel: each IP packet, both ways ──► host.filter_packets (inline, only if some plugin filters)
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use wolfguard_config::Config;
use wolfguard_plugin_host::api::{Answer, AuthRequest, AuthStep, Hook, Prompt};
use wolfguard_plugin_host::{HostError, PluginHost, PluginSpec};
use wolfguard_runtime::{EventBus, PriorityPool};

use crate::auth::{Authenticator, Challenge, Verdict};

/// Turns every `[plugins.<name>]` table into a spec; errors name the table and the key.
pub fn specs(config: &Config) -> anyhow::Result<Vec<PluginSpec>> {
    config
        .plugins
        .iter()
        .map(|(name, table)| {
            let text = toml::to_string(table)
                .with_context(|| format!("plugins.{name}: cannot re-read the table"))?;
            PluginSpec::from_toml(name, &text).map_err(|e| {
                anyhow::anyhow!(
                    "plugins.{name}: {}; fix: see docs/plugins/authoring.md for the keys \
                     (path, kind, priority, critical, failure_policy, settings, sandbox)",
                    e.reason
                )
            })
        })
        .collect()
}

/// Loads the configured plugins (none configured: no host) and subscribes the logging plugins
/// to `bus`. A critical plugin that fails stops start-up; others are logged and skipped.
pub fn load(
    config: &Config,
    pool: Arc<PriorityPool>,
    bus: &EventBus,
) -> anyhow::Result<Option<PluginHost>> {
    let Some(host) = load_host(config, pool)? else {
        return Ok(None);
    };
    for s in host.skipped() {
        tracing::warn!(plugin = %s.name, error = %s.error, "plugin not loaded (not critical)");
    }
    for p in host.plugins() {
        tracing::info!(plugin = %p.name, kind = ?p.kind, position = p.position,
            provides = ?p.manifest.provides, "plugin loaded");
    }
    host.subscribe(bus);
    Ok(Some(host))
}

/// The configured plugins plus the password-file instance, loaded and ordered (none: `None`).
fn load_host(config: &Config, pool: Arc<PriorityPool>) -> anyhow::Result<Option<PluginHost>> {
    let mut specs = specs(config)?;
    specs.extend(password_file_spec(config, &specs, &plugin_dirs()));
    if specs.is_empty() {
        return Ok(None);
    }
    let host = PluginHost::load(specs, pool).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Some(host))
}

/// `wolfguard check-config`: loads every plugin the configuration names, as start-up would
/// (instantiating them with their settings, so a bad path, a refused contract version or a
/// setting the plugin rejects shows now rather than at the next restart), and describes the
/// result, one line per plugin. A critical plugin that fails is an error, as at start-up.
pub fn check(config: &Config) -> anyhow::Result<Vec<String>> {
    let pool = Arc::new(PriorityPool::new(wolfguard_runtime::PoolConfig {
        threads: 2,
        reserved: [0; 4],
        queue_depth: 64,
    })?);
    let Some(host) = load_host(config, pool)? else {
        return Ok(Vec::new());
    };
    let mut lines = Vec::new();
    for p in host.plugins() {
        let hooks: Vec<&str> = p.manifest.hooks.iter().map(|h| h.as_str()).collect();
        lines.push(format!(
            "plugin {} ({:?}, {} {}): {}",
            p.name,
            p.kind,
            p.manifest.name,
            p.manifest.version,
            hooks.join(", ")
        ));
    }
    for (plugin, l) in host.listeners() {
        lines.push(format!(
            "plugin {plugin} asks for listener `{}` on {} ({})",
            l.name, l.bind, l.protocol
        ));
    }
    for s in host.skipped() {
        lines.push(format!(
            "plugin {} NOT loaded (not critical; start-up would skip it): {}",
            s.name, s.error
        ));
    }
    Ok(lines)
}

/// The instance name of the `auth-local` plugin that serves `auth.password_file`.
pub const PASSWORD_FILE_PLUGIN: &str = "password-file";
/// The `auth-local` plugin's library.
pub const AUTH_LOCAL_LIBRARY: &str = "libwolfguard_plugin_auth_local.so";

/// Where the shipped plugins are looked for: next to the daemon's executable (a cargo build puts
/// them side by side), then the packaged location the example config names.
pub fn plugin_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_owned))
        .into_iter()
        .collect();
    dirs.push(PathBuf::from("/usr/lib/wolfguard/plugins"));
    dirs
}

/// `auth.password_file` is served by the `auth-local` plugin, loaded natively like any other
/// (`password-file` in logs and metrics), when its library is found in `dirs`. It runs after
/// every configured plugin, so a configured auth plugin still takes the login form. Not
/// critical: when the library is missing or does not load (a stale build of another contract
/// version), the daemon's linked-in copy of the same code serves the file instead.
fn password_file_spec(
    config: &Config,
    configured: &[PluginSpec],
    dirs: &[PathBuf],
) -> Option<PluginSpec> {
    let file = &config.auth.password_file;
    if file.as_os_str().is_empty() || configured.iter().any(|s| s.name == PASSWORD_FILE_PLUGIN) {
        return None;
    }
    let Some(library) = dirs
        .iter()
        .map(|d| d.join(AUTH_LOCAL_LIBRARY))
        .find(|p| p.is_file())
    else {
        tracing::info!(looked_in = ?dirs, "auth-local plugin library not found; the built-in \
            copy of its code checks auth.password_file");
        return None;
    };
    let Some(path) = file.to_str() else {
        tracing::info!("auth.password_file is not UTF-8; the built-in copy checks it");
        return None;
    };
    let mut settings = toml::Table::new();
    settings.insert("path".into(), toml::Value::String(path.into()));
    let mut spec = PluginSpec::native(PASSWORD_FILE_PLUGIN, library);
    spec.settings = toml::to_string(&settings).ok()?;
    spec.priority = i32::MIN;
    spec.critical = false;
    Some(spec)
}

/// SIGHUP: reloads every WASM plugin from its file, on the pool (compiling is CPU work), and
/// publishes `config-reloaded` with what took effect. A component that no longer compiles or
/// instantiates is refused and its old code stays in service. Native plugins cannot be
/// swapped (libraries are never unloaded) and are listed as needing a restart.
pub async fn reload(server: &crate::server::Server) {
    let Some(host) = server.plugins.clone() else {
        tracing::info!("no plugins configured; nothing to reload");
        return;
    };
    let job = server
        .pool
        .submit(wolfguard_runtime::Priority::Low, move || {
            let (mut applied, mut needs_restart) = (Vec::new(), Vec::new());
            for p in host.plugins() {
                let key = format!("plugins.{}", p.name);
                if p.kind != wolfguard_plugin_host::Loader::Wasm {
                    needs_restart.push(key);
                    continue;
                }
                match host.reload(&p.name) {
                    Ok(()) => applied.push(key),
                    Err(e) => {
                        tracing::warn!(plugin = %p.name, error = %e,
                        "plugin reload refused; the old code stays in service");
                    }
                }
            }
            (applied, needs_restart)
        });
    let Ok(Ok((applied, needs_restart))) = (match job {
        Ok(job) => Ok(job.await),
        Err(e) => Err(e),
    }) else {
        tracing::warn!("plugin reload could not run on the pool");
        return;
    };
    tracing::info!(applied = ?applied, needs_restart = ?needs_restart, "plugins reloaded");
    server
        .bus
        .publish(wolfguard_runtime::Event::ConfigReloaded {
            applied,
            needs_restart,
        });
}

/// The optional hooks some loaded plugin implements.
#[derive(Debug, Clone, Copy, Default)]
pub struct HookSet {
    /// Some plugin filters connect attempts.
    pub filter_connect: bool,
    /// Some plugin filters auth failures.
    pub filter_auth_failure: bool,
    /// Some plugin filters data-path packets.
    pub filter_packets: bool,
    /// Some plugin filters sessions before their tunnel comes up (contract 1.1).
    pub filter_session: bool,
}

impl HookSet {
    /// The hooks of `host`'s plugins.
    pub fn of(host: Option<&PluginHost>) -> Self {
        let plugins = host.map(PluginHost::plugins).unwrap_or_default();
        let has = |h: Hook| plugins.iter().any(|p| p.manifest.hooks.contains(&h));
        Self {
            filter_connect: has(Hook::FilterConnect),
            filter_auth_failure: has(Hook::FilterAuthFailure),
            filter_packets: has(Hook::FilterPackets),
            filter_session: has(Hook::FilterSession),
        }
    }
}

/// The password backend of an auth plugin: the login form's user name and password open a
/// conversation with the plugin; its accept or reject is the verdict. Runs on a pool thread
/// (the front end submits the check there), so the plugin may block.
pub struct PluginAuth {
    host: PluginHost,
    plugin: String,
    conversations: AtomicU64,
}

impl PluginAuth {
    /// Uses the first auth plugin of `host` in chain order, if it has one.
    pub fn first(host: &PluginHost) -> Option<Self> {
        let plugin = host.auth_plugins().into_iter().next()?;
        tracing::info!(%plugin, "passwords are checked by an auth plugin");
        Some(Self {
            host: host.clone(),
            plugin,
            conversations: AtomicU64::new(1),
        })
    }
}

impl std::fmt::Debug for PluginAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginAuth")
            .field("plugin", &self.plugin)
            .finish_non_exhaustive()
    }
}

impl PluginAuth {
    /// Turns one plugin step into the front end's verdict.
    fn verdict(&self, conversation: u64, step: Result<AuthStep, HostError>) -> Verdict {
        match step {
            Ok(AuthStep::Accept { groups, .. }) => Verdict::Accept { groups },
            Ok(AuthStep::Reject { reason }) => Verdict::Reject(reason.into()),
            // The login form asks one question per round (ocserv's rule, and all openconnect
            // fills from `--form-entry`): a plugin with several questions asks them in turn.
            Ok(AuthStep::Challenge {
                message,
                prompts,
                state,
            }) => match <[Prompt; 1]>::try_from(prompts) {
                Ok([prompt]) => Verdict::Challenge(Challenge {
                    message,
                    label: prompt.label,
                    answer_name: prompt.name,
                    conversation,
                    state,
                }),
                Err(prompts) => Verdict::Reject(
                    format!(
                        "plugin {} asked {} questions in one challenge; the login form asks \
                         exactly one per round",
                        self.plugin,
                        prompts.len()
                    )
                    .into(),
                ),
            },
            Err(e) => Verdict::Reject(format!("plugin {}: {e}", self.plugin).into()),
        }
    }
}

impl Authenticator for PluginAuth {
    fn check(&self, user: &str, password: &str) -> Verdict {
        let conversation = self.conversations.fetch_add(1, Ordering::Relaxed);
        let req = AuthRequest {
            conversation,
            answers: vec![
                Answer {
                    name: "username".into(),
                    value: user.into(),
                },
                Answer {
                    name: "password".into(),
                    value: password.into(),
                },
            ],
            ..AuthRequest::default()
        };
        let step = self.host.auth_blocking(&self.plugin, Hook::AuthBegin, &req);
        self.verdict(conversation, step)
    }

    fn priority(&self) -> wolfguard_runtime::pool::Priority {
        wolfguard_plugin_host::AUTH_PRIORITY
    }

    fn answer(&self, user: &str, challenge: &Challenge, answer: &str) -> Verdict {
        let req = AuthRequest {
            conversation: challenge.conversation,
            state: challenge.state.clone(),
            answers: vec![
                Answer {
                    name: "username".into(),
                    value: user.into(),
                },
                Answer {
                    name: challenge.answer_name.clone(),
                    value: answer.into(),
                },
            ],
            ..AuthRequest::default()
        };
        let step = self
            .host
            .auth_blocking(&self.plugin, Hook::AuthContinue, &req);
        self.verdict(challenge.conversation, step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(password_file: &str) -> Config {
        let mut c = wolfguard_config::from_str(
            wolfguard_config::EXAMPLE,
            Path::new("/etc/wolfguard/wolfguard.toml"),
        )
        .expect("the example config is valid");
        c.auth.password_file = PathBuf::from(password_file);
        c
    }

    #[test]
    fn the_password_file_is_served_by_auth_local_when_its_library_is_installed() {
        let dir = std::env::temp_dir().join(format!("wg-pf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dirs = [dir.join("missing"), dir.clone()];
        // Not installed: the built-in copy serves the file.
        assert!(password_file_spec(&config("/etc/p\"w"), &[], &dirs).is_none());
        std::fs::write(dir.join(AUTH_LOCAL_LIBRARY), b"").unwrap();
        let spec = password_file_spec(&config("/etc/p\"w"), &[], &dirs).unwrap();
        assert_eq!(spec.name, PASSWORD_FILE_PLUGIN);
        assert_eq!(spec.path, dir.join(AUTH_LOCAL_LIBRARY));
        assert!(
            !spec.critical,
            "a stale library falls back, never stops start-up"
        );
        assert_eq!(spec.priority, i32::MIN, "configured plugins run first");
        // The path is quoted as TOML, whatever it contains.
        let settings: toml::Table = spec.settings.parse().unwrap();
        assert_eq!(settings["path"].as_str(), Some("/etc/p\"w"));
        // No password file, or an instance of that name already configured: nothing added.
        assert!(password_file_spec(&config(""), &[], &dirs).is_none());
        let taken = [PluginSpec::native(PASSWORD_FILE_PLUGIN, "/x.so")];
        assert!(password_file_spec(&config("/etc/pw"), &taken, &dirs).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn check_config_reports_a_missing_plugin_and_fails_on_a_missing_critical_one() {
        let mut c = config("");
        let mut table = toml::Table::new();
        table.insert("path".into(), "/nonexistent/ghost.so".into());
        c.plugins.insert("ghost".into(), table.clone());
        let lines = check(&c).unwrap();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("plugin ghost NOT loaded") && l.contains("no such file")),
            "{lines:?}"
        );
        table.insert("critical".into(), true.into());
        c.plugins.insert("ghost".into(), table);
        let err = format!("{:#}", check(&c).unwrap_err());
        assert!(
            err.contains("ghost") && err.contains("no such file"),
            "{err}"
        );
        assert!(!err.contains('\n'), "one line: {err}");
    }
}
