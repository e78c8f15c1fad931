//! WASM plugins: components of the world `wolfguard:plugin/plugin`, run by wasmtime. Untrusted
//! code: every call runs under an epoch deadline, optional fuel and a memory limit, and every
//! host call passes the plugin's capability gate.
//!
//! ```text
//!   load / reload: file ──compile once──► Compiled { generation, InstancePre, manifest }
//!                                              │ (ArcSwap: reload swaps it atomically)
//!   call on thread T: T's own instance of this plugin (thread-local, created on first use
//!                     or when the generation changed) ──► arm limits ──► call export
//!                     trap / timeout / OOM ──► instance discarded, CallError, policy applies
//! ```
//!
//! One instance per calling thread means pool workers and data-path workers never share a
//! store, so calls need no lock. A call already running keeps its instance (and the old
//! generation's code) until it returns; the next call on that thread instantiates the new one.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, ResourceLimiter, Store, Trap};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wolfguard_plugin_api::{
    AuthFailure, AuthRequest, AuthStep, ConnectInfo, Hook, Listener, LogEvent, Manifest, Packet,
    PacketVerdict, Verdict,
};

use crate::backend::Backend;
use crate::error::{CallError, PluginLoadError};
use crate::hostcalls::HostState;
use crate::spec::{HostCall, Sandbox};

mod bindings;
mod ticker;

use bindings::{Plugin, PluginPre, guest, t};
pub(crate) use ticker::Ticker;

/// A wasm page, in bytes.
const PAGE: usize = 64 * 1024;

static NEXT_UID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's instance of each WASM plugin, by plugin uid.
    static INSTANCES: RefCell<HashMap<u64, Live>> = RefCell::new(HashMap::new());
}

/// A loaded WASM plugin: its runtime and the current compilation.
pub(crate) struct WasmPlugin {
    rt: Runtime,
    current: ArcSwap<Compiled>,
}

/// Everything a plugin needs to compile and instantiate its component.
struct Runtime {
    uid: u64,
    path: PathBuf,
    settings: String,
    sandbox: Sandbox,
    engine: Engine,
    linker: Linker<StoreData>,
    network: Arc<Vec<SocketAddr>>,
    state: Arc<HostState>,
    generations: AtomicU64,
}

/// One compiled version of the component.
struct Compiled {
    generation: u64,
    pre: PluginPre<StoreData>,
    manifest: Manifest,
}

/// A thread's instance.
struct Live {
    generation: u64,
    store: Store<StoreData>,
    bindings: Plugin,
}

/// What a store holds: WASI state, the memory limiter and the plugin's host-call state.
pub(crate) struct StoreData {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: Limits,
    state: Arc<HostState>,
    denied: Option<&'static str>,
}

/// Refuses memory growth past the limit and remembers that it did, so the resulting trap is
/// reported as out-of-memory.
struct Limits {
    max_bytes: usize,
    hit: bool,
}

impl WasmPlugin {
    /// Compiles the component at `path`, instantiates it once on this thread (which checks its
    /// settings) and reads its manifest.
    pub(crate) fn load(
        path: &Path,
        settings: &str,
        sandbox: &Sandbox,
        state: Arc<HostState>,
        ticker: &Ticker,
    ) -> Result<Self, PluginLoadError> {
        let wasm_err = |reason: String| PluginLoadError::Wasm {
            path: path.to_owned(),
            reason,
        };
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.consume_fuel(sandbox.fuel.is_some());
        let engine = Engine::new(&config).map_err(|e| wasm_err(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .and_then(|()| Plugin::add_to_linker::<_, HasSelf<StoreData>>(&mut linker, |d| d))
            .map_err(|e| wasm_err(format!("{e:#}")))?;
        let network = resolve(&sandbox.network).map_err(wasm_err)?;
        ticker.add(engine.clone());
        let rt = Runtime {
            uid: NEXT_UID.fetch_add(1, Ordering::Relaxed),
            path: path.to_owned(),
            settings: settings.to_owned(),
            sandbox: sandbox.clone(),
            engine,
            linker,
            network: Arc::new(network),
            state,
            generations: AtomicU64::new(0),
        };
        let compiled = rt.compile()?;
        Ok(Self {
            rt,
            current: ArcSwap::from_pointee(compiled),
        })
    }

    /// Runs `f` on this thread's instance, creating it if needed. A failed call discards the
    /// instance: after a trap its state cannot be trusted.
    fn call<R>(
        &self,
        f: impl FnOnce(&mut Store<StoreData>, &guest::Guest) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let compiled = self.current.load_full();
        let uid = self.rt.uid;
        let cached = INSTANCES.with(|m| m.borrow_mut().remove(&uid));
        let mut live = match cached {
            Some(l) if l.generation == compiled.generation => l,
            _ => self.rt.instantiate(&compiled)?,
        };
        self.rt.arm(&mut live.store);
        match f(&mut live.store, live.bindings.wolfguard_plugin_hooks()) {
            Ok(r) => {
                INSTANCES.with(|m| m.borrow_mut().insert(uid, live));
                Ok(r)
            }
            Err(e) => Err(classify(&e, live.store.data())),
        }
    }

    fn hook_allowed(&self, hook: Hook) -> bool {
        let hooks = self.rt.sandbox.hooks.as_ref();
        hooks.is_none_or(|h| h.contains(&hook))
    }
}

impl Runtime {
    /// Compiles the file as it is now and checks it by instantiating it on this thread.
    fn compile(&self) -> Result<Compiled, PluginLoadError> {
        let wasm_err = |reason: String| PluginLoadError::Wasm {
            path: self.path.clone(),
            reason,
        };
        if !self.path.is_file() {
            return Err(wasm_err(
                "no such file (check the table's `path`; relative paths start at the \
                 configuration file's directory)"
                    .into(),
            ));
        }
        let component = Component::from_file(&self.engine, &self.path)
            .map_err(|e| wasm_err(format!("{e:#}")))?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .and_then(PluginPre::new)
            .map_err(|e| wasm_err(format!("{e:#}")))?;
        let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        let mut compiled = Compiled {
            generation,
            pre,
            manifest: Manifest::default(),
        };
        let mut live = self.instantiate(&compiled).map_err(|e| match e {
            CallError::Plugin(msg) => PluginLoadError::Instantiate(msg),
            other => wasm_err(other.to_string()),
        })?;
        let hooks = live.bindings.wolfguard_plugin_hooks();
        self.arm(&mut live.store);
        let m = hooks
            .call_describe(&mut live.store)
            .map_err(|e| wasm_err(classify(&e, live.store.data()).to_string()))?;
        compiled.manifest = bindings::manifest(m);
        INSTANCES.with(|m| m.borrow_mut().insert(self.uid, live));
        Ok(compiled)
    }

    /// A fresh instance of `compiled`, instantiated with the plugin's settings.
    fn instantiate(&self, compiled: &Compiled) -> Result<Live, CallError> {
        let mut wasi = WasiCtxBuilder::new();
        for (dirs, perms) in [
            (&self.sandbox.files, FsPerms::ReadOnly),
            (&self.sandbox.files_rw, FsPerms::ReadWrite),
        ] {
            for dir in dirs {
                let guest = dir.to_string_lossy();
                wasi.preopened_dir(dir, guest, perms)
                    .map_err(|e| CallError::Plugin(format!("{}: {e}", dir.display())))?;
            }
        }
        let allowed = self.network.clone();
        wasi.allow_ip_name_lookup(false);
        wasi.socket_addr_check(move |addr, _use| {
            let ok = allowed.contains(&addr);
            Box::pin(async move { ok })
        });
        let data = StoreData {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limits: Limits {
                max_bytes: self.sandbox.max_memory_pages as usize * PAGE,
                hit: false,
            },
            state: self.state.clone(),
            denied: None,
        };
        let mut store = Store::new(&self.engine, data);
        store.limiter(|d| &mut d.limits);
        self.arm(&mut store);
        let bindings = compiled
            .pre
            .instantiate(&mut store)
            .map_err(|e| classify(&e, store.data()))?;
        bindings
            .wolfguard_plugin_hooks()
            .call_instantiate(&mut store, &self.settings)
            .map_err(|e| classify(&e, store.data()))?
            .map_err(CallError::Plugin)?;
        Ok(Live {
            generation: compiled.generation,
            store,
            bindings,
        })
    }

    /// Sets the per-call limits: epoch deadline, fuel, and clears the failure markers.
    fn arm(&self, store: &mut Store<StoreData>) {
        store.set_epoch_deadline(Ticker::ticks_for(self.sandbox.timeout_ms));
        if let Some(fuel) = self.sandbox.fuel {
            // Fuel is enabled on this engine exactly when the sandbox sets it.
            let _ = store.set_fuel(fuel);
        }
        let data = store.data_mut();
        data.limits.hit = false;
        data.denied = None;
    }
}

impl Backend for WasmPlugin {
    fn manifest(&self) -> Manifest {
        self.current.load().manifest.clone()
    }

    fn has_hook(&self, hook: Hook) -> bool {
        self.hook_allowed(hook) && self.current.load().manifest.hooks.contains(&hook)
    }

    fn auth(&self, hook: Hook, req: &AuthRequest) -> Result<AuthStep, CallError> {
        let req = bindings::auth_request(req);
        let r = self.call(|store, g| match hook {
            Hook::AuthBegin => g.call_auth_begin(store, &req),
            _ => g.call_auth_continue(store, &req),
        })?;
        r.map(bindings::auth_step).map_err(CallError::Plugin)
    }

    fn filter_connect(&self, info: &ConnectInfo) -> Result<Verdict, CallError> {
        let info = bindings::connect_info(info);
        let r = self.call(|store, g| g.call_filter_connect(store, &info))?;
        r.map(bindings::verdict).map_err(CallError::Plugin)
    }

    fn filter_auth_failure(&self, failure: &AuthFailure) -> Result<Verdict, CallError> {
        let failure = bindings::auth_failure(failure);
        let r = self.call(|store, g| g.call_filter_auth_failure(store, &failure))?;
        r.map(bindings::verdict).map_err(CallError::Plugin)
    }

    fn filter_packets(
        &self,
        batch: &[Packet<'_>],
        out: &mut Vec<PacketVerdict>,
    ) -> Result<(), CallError> {
        let bytes: usize = batch.iter().map(|p| p.data.len()).sum();
        let mut flat = t::PacketBatch {
            sessions: Vec::with_capacity(batch.len()),
            ingress: Vec::with_capacity(batch.len()),
            offsets: Vec::with_capacity(batch.len() + 1),
            data: Vec::with_capacity(bytes),
        };
        flat.offsets.push(0);
        for p in batch {
            flat.sessions.push(p.session);
            flat.ingress.push(p.ingress);
            flat.data.extend_from_slice(p.data);
            let end = u32::try_from(flat.data.len())
                .map_err(|_| CallError::Plugin("packet batch larger than 4 GiB".into()))?;
            flat.offsets.push(end);
        }
        let verdicts = self
            .call(|store, g| g.call_filter_packets(store, &flat))?
            .map_err(CallError::Plugin)?;
        if verdicts.len() != batch.len() {
            return Err(CallError::Plugin(format!(
                "filter-packets gave {} verdicts for {} packets",
                verdicts.len(),
                batch.len()
            )));
        }
        out.extend(verdicts.into_iter().map(bindings::packet_verdict));
        Ok(())
    }

    fn extension(&self, hook: Hook, input: &[u8]) -> Result<Vec<u8>, CallError> {
        let r = self.call(|store, g| g.call_extension(store, hook.as_str(), input))?;
        r.map_err(|e| crate::native::extension_error(hook, e))
    }

    fn log_event(&self, event: &LogEvent) -> Result<(), CallError> {
        let event = bindings::log_event(event);
        self.call(|store, g| g.call_log_event(store, &event))
    }

    fn listeners(&self) -> Result<Vec<Listener>, CallError> {
        let ls = self.call(|store, g| g.call_transport_listeners(store))?;
        Ok(ls.into_iter().map(bindings::listener).collect())
    }

    fn reload(&self) -> Result<(), PluginLoadError> {
        let compiled = self.rt.compile()?;
        self.current.store(Arc::new(compiled));
        Ok(())
    }
}

/// Names the failure of a call from the trap and the store's markers.
fn classify(e: &wasmtime::Error, data: &StoreData) -> CallError {
    if data.limits.hit {
        return CallError::OutOfMemory;
    }
    if let Some(call) = data.denied {
        return CallError::Denied(call);
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => CallError::Timeout,
        Some(Trap::OutOfFuel) => CallError::OutOfFuel,
        _ => CallError::Trap(format!("{e:#}")),
    }
}

/// Resolves the `host:port` network grants once, at load.
fn resolve(grants: &[String]) -> Result<Vec<SocketAddr>, String> {
    let mut out = Vec::new();
    for g in grants {
        let addrs = g
            .to_socket_addrs()
            .map_err(|e| format!("sandbox.network {g:?}: {e}"))?;
        out.extend(addrs);
    }
    Ok(out)
}

impl StoreData {
    /// The permission gate every host call passes.
    fn gate(&mut self, call: HostCall) -> wasmtime::Result<()> {
        self.state.check(call).map_err(|e| {
            self.denied = Some(call.as_str());
            wasmtime::Error::msg(e.to_string())
        })
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl bindings::wolfguard::plugin::types::Host for StoreData {}

impl bindings::wolfguard::plugin::host::Host for StoreData {
    fn log(&mut self, level: t::Level, message: String) -> wasmtime::Result<()> {
        self.gate(HostCall::Log)?;
        self.state.log(bindings::level(level), &message);
        Ok(())
    }

    fn counter_add(&mut self, name: String, delta: u64) -> wasmtime::Result<()> {
        self.gate(HostCall::Metrics)?;
        self.state.counter_add(&name, delta);
        Ok(())
    }

    fn kv_get(&mut self, key: String) -> wasmtime::Result<Option<Vec<u8>>> {
        self.gate(HostCall::Kv)?;
        Ok(self.state.kv_get(&key))
    }

    fn kv_put(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<()> {
        self.gate(HostCall::Kv)?;
        self.state.kv_put(&key, &value);
        Ok(())
    }
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a plugin needing more than this is misbehaving.
        Ok(desired <= 100_000)
    }
}
