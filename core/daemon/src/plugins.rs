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
    let specs = specs(config)?;
    if specs.is_empty() {
        return Ok(None);
    }
    let host = PluginHost::load(specs, pool).map_err(|e| anyhow::anyhow!("{e}"))?;
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
