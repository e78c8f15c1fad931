//! Loads and supervises wolfguard plugins.
//!
//! The daemon hands [`PluginHost::load`] one [`PluginSpec`] per `[plugins.<name>]` table and a
//! [`PriorityPool`]. The host loads each plugin — native `cdylib`s through abi_stable (trusted,
//! version- and layout-checked) or WASM components through wasmtime (sandboxed: epoch deadline,
//! optional fuel, memory limit, capability-gated host calls) — orders them by what they provide
//! and depend on, and then runs their hooks:
//!
//! ```text
//!   daemon                        PluginHost                              plugins
//!   ──────                        ──────────                              ───────
//!   auth_begin(name, req) ──► job on PriorityPool (Low) ──► Backend::auth ──► native | wasm
//!        ◄── JobHandle<AuthStep> (await or wait)     failure ─► Reject (always fail-closed)
//!   filter_connect(info)  ──► job: chain in order, first non-Accept wins; failure ─► policy
//!   filter_session(info)  ──► same chain, through `extension` (contract 1.1); 1.0 plugins skip
//!   filter_packets(batch) ──► inline on the data-path worker, each filter in order;
//!                             worst verdict per packet wins; failure ─► all Accept | all Drop
//!   subscribe(&bus)       ──► one bus subscriber per logging plugin ──► log-event
//!   reload(name)          ──► WASM: recompile, swap atomically; in-flight calls finish on old
//! ```
//!
//! # What it deliberately does not do
//!
//! - It does not parse the daemon's config file: [`PluginSpec::from_toml`] takes one table's
//!   text, the config crate owns the rest.
//! - It does not time out native plugins: they are trusted code, like the daemon itself.
//! - It never unloads native libraries (abi_stable keeps them mapped until exit).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod backend;
mod error;
pub mod events;
mod hostcalls;
mod native;
mod order;
mod spec;
mod wasm;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wolfguard_plugin_api::{
    AuthFailure, AuthRequest, AuthStep, ConnectInfo, Hook, Listener, LogEvent, Manifest, Packet,
    PacketVerdict, PluginKind, SessionInfo, Verdict, ext,
};
use wolfguard_runtime::{
    EventBus, EventFilter, JobHandle, Keep, Priority, PriorityPool, SubscriptionId,
};

use backend::Backend;
pub use error::{CallError, HostError, LoadError, PluginLoadError};
pub use hostcalls::{KV_MAX_KEYS, KV_MAX_VALUE};
pub use spec::{FailurePolicy, HostCall, Loader, PluginSpec, Sandbox, SpecError};
pub use wolfguard_plugin_api as api;
pub use wolfguard_plugin_api::ABI_VERSION;

/// Pool class of auth calls: plugins may block (PAM, RADIUS), so they never take the threads
/// reserved for critical and high-priority work.
pub const AUTH_PRIORITY: Priority = Priority::Low;
/// Events queued per logging plugin before the bus drops that plugin's events.
pub const LOG_QUEUE: usize = 4096;
/// Pool class of connect and auth-failure filter calls.
pub const FILTER_PRIORITY: Priority = Priority::Medium;

/// The loaded plugins and the way to call them. Cheap to clone (one shared inner state).
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

struct Inner {
    /// In load order.
    plugins: Vec<Arc<Loaded>>,
    skipped: Vec<SkippedPlugin>,
    pool: Arc<PriorityPool>,
    /// Kept alive for the WASM plugins' epoch deadlines; stops when the host drops.
    _ticker: wasm::Ticker,
}

/// One loaded plugin.
struct Loaded {
    spec: PluginSpec,
    backend: Box<dyn Backend>,
    state: Arc<hostcalls::HostState>,
    stats: Counters,
}

#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    failures: AtomicU64,
    timeouts: AtomicU64,
    out_of_memory: AtomicU64,
    traps: AtomicU64,
}

/// A plugin that did not load and was left out (it was not critical).
#[derive(Debug)]
#[non_exhaustive]
pub struct SkippedPlugin {
    /// Its instance name.
    pub name: String,
    /// Why.
    pub error: PluginLoadError,
}

/// What the host knows about one loaded plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PluginInfo {
    /// Instance name.
    pub name: String,
    /// Native or WASM.
    pub kind: Loader,
    /// Its position in every chain (0 runs first).
    pub position: usize,
    /// What it declared.
    pub manifest: Manifest,
}

/// Call counters of one plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PluginStats {
    /// Hook calls made.
    pub calls: u64,
    /// Calls that failed for any reason (the failure policy was applied).
    pub failures: u64,
    /// … of which ran past their deadline or out of fuel.
    pub timeouts: u64,
    /// … of which hit the memory limit.
    pub out_of_memory: u64,
    /// … of which trapped otherwise (including denied host calls).
    pub traps: u64,
}

impl PluginHost {
    /// Loads `specs`, orders them and returns the host.
    ///
    /// A critical plugin that fails to load (including a missing dependency) fails the whole
    /// load with [`LoadError::Critical`]; other failures are logged, the plugin is left out and
    /// reported by [`skipped`](Self::skipped). Blocking calls run on `pool`.
    pub fn load(specs: Vec<PluginSpec>, pool: Arc<PriorityPool>) -> Result<Self, LoadError> {
        let mut names = std::collections::BTreeSet::new();
        for s in &specs {
            if !names.insert(s.name.clone()) {
                return Err(LoadError::DuplicateName(s.name.clone()));
            }
        }
        let ticker = wasm::Ticker::start().map_err(wolfguard_runtime::PoolError::Spawn)?;
        let mut loaded = Vec::new();
        let mut skipped = Vec::new();
        for spec in specs {
            match load_one(&spec, &ticker) {
                Ok(l) => loaded.push(l),
                Err(e) => skip_or_fail(&spec, e, &mut skipped)?,
            }
        }

        let manifests: Vec<Manifest> = loaded.iter().map(|l| l.backend.manifest()).collect();
        let nodes: Vec<order::Node<'_>> = loaded
            .iter()
            .zip(&manifests)
            .map(|(l, m)| order::Node {
                name: &l.spec.name,
                priority: l.spec.priority,
                manifest: m,
            })
            .collect();
        let order = order::sort(&nodes).map_err(LoadError::Cycle)?;
        let mut slots: Vec<Option<Loaded>> = loaded.into_iter().map(Some).collect();
        for (i, feature) in order.missing {
            if let Some(l) = slots[i].take() {
                skip_or_fail(
                    &l.spec,
                    PluginLoadError::MissingDependency(feature),
                    &mut skipped,
                )?;
            }
        }
        let plugins = order
            .order
            .into_iter()
            .filter_map(|i| slots[i].take().map(Arc::new))
            .collect::<Vec<_>>();
        for (pos, p) in plugins.iter().enumerate() {
            tracing::info!(plugin = %p.spec.name, position = pos, kind = ?p.spec.kind, "plugin loaded");
        }
        Ok(Self {
            inner: Arc::new(Inner {
                plugins,
                skipped,
                pool,
                _ticker: ticker,
            }),
        })
    }

    /// The loaded plugins, in chain order.
    pub fn plugins(&self) -> Vec<PluginInfo> {
        self.inner
            .plugins
            .iter()
            .enumerate()
            .map(|(position, p)| PluginInfo {
                name: p.spec.name.clone(),
                kind: p.spec.kind,
                position,
                manifest: p.backend.manifest(),
            })
            .collect()
    }

    /// The plugins that failed to load and were left out.
    pub fn skipped(&self) -> &[SkippedPlugin] {
        &self.inner.skipped
    }

    /// Names of the plugins that implement `auth-begin`, in chain order.
    pub fn auth_plugins(&self) -> Vec<String> {
        self.inner
            .plugins
            .iter()
            .filter(|p| p.backend.has_hook(Hook::AuthBegin))
            .map(|p| p.spec.name.clone())
            .collect()
    }

    /// Starts an auth conversation with plugin `plugin` on the pool.
    pub fn auth_begin(
        &self,
        plugin: &str,
        req: AuthRequest,
    ) -> Result<JobHandle<AuthStep>, HostError> {
        self.submit_auth(plugin, Hook::AuthBegin, req)
    }

    /// Continues an auth conversation (the client's answers; `req.state` as the plugin's last
    /// challenge returned it) on the pool.
    pub fn auth_continue(
        &self,
        plugin: &str,
        req: AuthRequest,
    ) -> Result<JobHandle<AuthStep>, HostError> {
        self.submit_auth(plugin, Hook::AuthContinue, req)
    }

    /// Runs one auth step on the calling thread. Any failure is a rejection (fail-closed)
    /// whose reason names the plugin and the failure.
    pub fn auth_blocking(
        &self,
        plugin: &str,
        hook: Hook,
        req: &AuthRequest,
    ) -> Result<AuthStep, HostError> {
        let p = self.find(plugin)?;
        Ok(run_auth(&p, hook, req))
    }

    /// Runs the connect filters on the pool: the first non-`Accept` verdict wins.
    pub fn filter_connect(&self, info: ConnectInfo) -> Result<JobHandle<Verdict>, HostError> {
        let host = self.clone();
        self.submit(FILTER_PRIORITY, move || host.filter_connect_blocking(&info))
    }

    /// [`filter_connect`](Self::filter_connect) on the calling thread.
    pub fn filter_connect_blocking(&self, info: &ConnectInfo) -> Verdict {
        self.verdict_chain(Hook::FilterConnect, |b| b.filter_connect(info))
    }

    /// Runs the auth-failure filters on the pool: the first non-`Accept` verdict wins.
    pub fn filter_auth_failure(
        &self,
        failure: AuthFailure,
    ) -> Result<JobHandle<Verdict>, HostError> {
        let host = self.clone();
        self.submit(FILTER_PRIORITY, move || {
            host.filter_auth_failure_blocking(&failure)
        })
    }

    /// [`filter_auth_failure`](Self::filter_auth_failure) on the calling thread.
    pub fn filter_auth_failure_blocking(&self, failure: &AuthFailure) -> Verdict {
        self.verdict_chain(Hook::FilterAuthFailure, |b| b.filter_auth_failure(failure))
    }

    /// Runs the session filters (contract 1.1) on the pool: the first non-`Accept` verdict wins.
    /// Plugins built against contract 1.0 do not have the hook and are skipped.
    pub fn filter_session(&self, session: SessionInfo) -> Result<JobHandle<Verdict>, HostError> {
        let host = self.clone();
        self.submit(FILTER_PRIORITY, move || {
            host.filter_session_blocking(&session)
        })
    }

    /// [`filter_session`](Self::filter_session) on the calling thread.
    pub fn filter_session_blocking(&self, session: &SessionInfo) -> Verdict {
        let input = ext::encode(session);
        self.verdict_chain(Hook::FilterSession, |b| {
            let out = b.extension(Hook::FilterSession, &input)?;
            ext::decode(Hook::FilterSession.as_str(), &out).map_err(CallError::Plugin)
        })
    }

    /// Runs the data-path filters on `batch`, inline on the calling (data-path) thread, and
    /// writes one verdict per packet into `out` (cleared first). Each filter sees the whole
    /// batch in chain order; per packet the first non-`Accept` verdict wins. A failing filter
    /// counts as all-`Accept` (fail-open) or all-`Drop` (fail-closed).
    pub fn filter_packets(&self, batch: &[Packet<'_>], out: &mut Vec<PacketVerdict>) {
        out.clear();
        out.resize(batch.len(), PacketVerdict::Accept);
        let mut scratch = Vec::with_capacity(batch.len());
        for p in self.with_hook(Hook::FilterPackets) {
            scratch.clear();
            let r = p.call(|b| b.filter_packets(batch, &mut scratch));
            let verdicts: &[PacketVerdict] = match r {
                Ok(()) => &scratch,
                Err(e) => match p.policy_failure(Hook::FilterPackets, &e) {
                    FailurePolicy::FailOpen => continue,
                    _ => {
                        out.fill(PacketVerdict::Drop);
                        return;
                    }
                },
            };
            for (o, v) in out.iter_mut().zip(verdicts) {
                if *o == PacketVerdict::Accept {
                    *o = *v;
                }
            }
        }
    }

    /// Hands `event` to every logging plugin, in chain order, on the calling thread.
    pub fn publish(&self, event: &LogEvent) {
        for p in self.with_hook(Hook::LogEvent) {
            if let Err(e) = p.call(|b| b.log_event(event)) {
                p.policy_failure(Hook::LogEvent, &e);
            }
        }
    }

    /// Subscribes each logging plugin to `bus`, each with its own queue and delivery thread
    /// (a slow plugin drops its own events, never others'). Returns the subscriptions.
    pub fn subscribe(&self, bus: &EventBus) -> Vec<SubscriptionId> {
        self.with_hook(Hook::LogEvent)
            .map(|p| {
                let p = p.clone();
                let name = format!("plugin:{}", p.spec.name);
                bus.subscribe(&name, LOG_QUEUE, EventFilter::ALL, move |ev| {
                    let le = events::log_event(ev);
                    if let Err(e) = p.call(|b| b.log_event(&le)) {
                        p.policy_failure(Hook::LogEvent, &e);
                    }
                    Keep::Keep
                })
            })
            .collect()
    }

    /// The listeners transport plugins ask for, with the plugin that asked.
    pub fn listeners(&self) -> Vec<(String, Listener)> {
        let mut out = Vec::new();
        for p in self.with_hook(Hook::TransportListeners) {
            match p.call(|b| b.listeners()) {
                Ok(ls) => out.extend(ls.into_iter().map(|l| (p.spec.name.clone(), l))),
                Err(e) => {
                    p.policy_failure(Hook::TransportListeners, &e);
                }
            }
        }
        out
    }

    /// Hot-reloads WASM plugin `name` from its file: compiles and checks the new component,
    /// then swaps it in atomically. Calls already running finish on the old code; on error the
    /// old code stays in service.
    pub fn reload(&self, name: &str) -> Result<(), PluginLoadError> {
        let p = self
            .inner
            .plugins
            .iter()
            .find(|p| p.spec.name == name)
            .ok_or_else(|| PluginLoadError::Unknown(name.to_owned()))?;
        p.backend.reload()?;
        tracing::info!(plugin = name, "plugin reloaded");
        Ok(())
    }

    /// Call counters of plugin `name`.
    pub fn stats(&self, name: &str) -> Option<PluginStats> {
        let p = self.find(name).ok()?;
        let c = &p.stats;
        Some(PluginStats {
            calls: c.calls.load(Ordering::Relaxed),
            failures: c.failures.load(Ordering::Relaxed),
            timeouts: c.timeouts.load(Ordering::Relaxed),
            out_of_memory: c.out_of_memory.load(Ordering::Relaxed),
            traps: c.traps.load(Ordering::Relaxed),
        })
    }

    /// The counters plugin `name` bumped through the host (for the metrics endpoint).
    pub fn counters(&self, name: &str) -> Option<BTreeMap<String, u64>> {
        Some(self.find(name).ok()?.state.counters())
    }

    /// Reads `key` from plugin `name`'s key-value store.
    pub fn kv_get(&self, name: &str, key: &str) -> Option<Vec<u8>> {
        self.find(name).ok()?.state.kv_get(key)
    }

    fn find(&self, name: &str) -> Result<Arc<Loaded>, HostError> {
        self.inner
            .plugins
            .iter()
            .find(|p| p.spec.name == name)
            .cloned()
            .ok_or_else(|| HostError::UnknownPlugin(name.to_owned()))
    }

    fn with_hook(&self, hook: Hook) -> impl Iterator<Item = &Arc<Loaded>> {
        self.inner
            .plugins
            .iter()
            .filter(move |p| p.backend.has_hook(hook))
    }

    fn submit_auth(
        &self,
        plugin: &str,
        hook: Hook,
        req: AuthRequest,
    ) -> Result<JobHandle<AuthStep>, HostError> {
        let p = self.find(plugin)?;
        self.submit(AUTH_PRIORITY, move || run_auth(&p, hook, &req))
    }

    fn submit<T: Send + 'static>(
        &self,
        class: Priority,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<JobHandle<T>, HostError> {
        self.inner
            .pool
            .submit(class, job)
            .map_err(|e| HostError::Pool(e.to_string()))
    }

    fn verdict_chain(
        &self,
        hook: Hook,
        f: impl Fn(&dyn Backend) -> Result<Verdict, CallError>,
    ) -> Verdict {
        for p in self.with_hook(hook) {
            match p.call(&f) {
                Ok(Verdict::Accept) => {}
                Ok(v) => return v,
                // An extension hook the plugin's contract version predates: it has no opinion.
                Err(CallError::NotImplemented(_)) => {}
                Err(e) => match p.policy_failure(hook, &e) {
                    FailurePolicy::FailOpen => {}
                    _ => return Verdict::Reject(format!("plugin `{}` failed: {e}", p.spec.name)),
                },
            }
        }
        Verdict::Accept
    }
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self
            .inner
            .plugins
            .iter()
            .map(|p| p.spec.name.as_str())
            .collect();
        f.debug_struct("PluginHost")
            .field("plugins", &names)
            .field("skipped", &self.inner.skipped.len())
            .finish()
    }
}

impl Loaded {
    /// Calls the backend, counting the call.
    fn call<R>(
        &self,
        f: impl FnOnce(&dyn Backend) -> Result<R, CallError>,
    ) -> Result<R, CallError> {
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        f(self.backend.as_ref())
    }

    /// Counts and logs a failed call; returns the policy to apply.
    fn policy_failure(&self, hook: Hook, e: &CallError) -> FailurePolicy {
        let c = &self.stats;
        c.failures.fetch_add(1, Ordering::Relaxed);
        let class = match e {
            CallError::Timeout | CallError::OutOfFuel => Some(&c.timeouts),
            CallError::OutOfMemory => Some(&c.out_of_memory),
            CallError::Trap(_) | CallError::Denied(_) => Some(&c.traps),
            _ => None,
        };
        if let Some(class) = class {
            class.fetch_add(1, Ordering::Relaxed);
        }
        let policy = if hook.kind() == PluginKind::Auth {
            FailurePolicy::FailClosed
        } else {
            self.spec.failure_policy
        };
        tracing::warn!(plugin = %self.spec.name, %hook, error = %e, ?policy, "plugin call failed");
        policy
    }
}

/// One auth step on plugin `p`; every failure is a rejection.
fn run_auth(p: &Loaded, hook: Hook, req: &AuthRequest) -> AuthStep {
    if !p.backend.has_hook(hook) {
        return AuthStep::reject(format!("plugin `{}` has no hook {hook}", p.spec.name));
    }
    match p.call(|b| b.auth(hook, req)) {
        Ok(step) => step,
        Err(e) => {
            p.policy_failure(hook, &e);
            AuthStep::reject(format!("plugin `{}` failed: {e}", p.spec.name))
        }
    }
}

fn load_one(spec: &PluginSpec, ticker: &wasm::Ticker) -> Result<Loaded, PluginLoadError> {
    let sandbox = (spec.kind == Loader::Wasm).then_some(&spec.sandbox);
    let state = Arc::new(hostcalls::HostState::new(&spec.name, sandbox));
    let backend: Box<dyn Backend> = match spec.kind {
        Loader::Native => Box::new(native::NativePlugin::load(
            &spec.path,
            &spec.settings,
            state.clone(),
        )?),
        Loader::Wasm => Box::new(wasm::WasmPlugin::load(
            &spec.path,
            &spec.settings,
            &spec.sandbox,
            state.clone(),
            ticker,
        )?),
    };
    Ok(Loaded {
        spec: spec.clone(),
        backend,
        state,
        stats: Counters::default(),
    })
}

fn skip_or_fail(
    spec: &PluginSpec,
    error: PluginLoadError,
    skipped: &mut Vec<SkippedPlugin>,
) -> Result<(), LoadError> {
    if spec.critical {
        return Err(LoadError::Critical {
            plugin: spec.name.clone(),
            source: Box::new(error),
        });
    }
    tracing::error!(plugin = %spec.name, %error, "plugin not loaded; continuing without it");
    skipped.push(SkippedPlugin {
        name: spec.name.clone(),
        error,
    });
    Ok(())
}
