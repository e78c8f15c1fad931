//! Errors of loading and of calling plugins.

use std::path::PathBuf;

use wolfguard_plugin_api::Hook;

use crate::spec::SpecError;

/// Why [`PluginHost::load`](crate::PluginHost::load) failed: a critical plugin did not load, or
/// the plugin set as a whole is inconsistent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A critical plugin failed to load; start-up must stop.
    #[error("critical plugin `{plugin}` failed to load: {source}")]
    Critical {
        /// The plugin's instance name.
        plugin: String,
        /// Why.
        #[source]
        source: Box<PluginLoadError>,
    },
    /// Two plugins have the same instance name.
    #[error("two plugins are named `{0}`")]
    DuplicateName(String),
    /// Plugins depend on each other in a cycle.
    #[error("plugin dependency cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    /// The priority pool refused to start.
    #[error("cannot start the plugin call pool")]
    Pool(#[from] wolfguard_runtime::PoolError),
}

/// Why one plugin did not load. For a non-critical plugin this is reported in
/// [`PluginHost::skipped`](crate::PluginHost::skipped) and the plugin is left out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PluginLoadError {
    /// The plugin was built against a plugin contract with another major version.
    #[error(
        "`{path}` was built against plugin contract {plugin_version}, \
         but this host implements {host_version}; rebuild the plugin against \
         wolfguard-plugin-api {host_version}"
    )]
    IncompatibleAbi {
        /// The plugin file.
        path: PathBuf,
        /// The contract version the plugin was built against, `major.minor`.
        plugin_version: String,
        /// The contract version of this host, `major.minor`.
        host_version: String,
    },
    /// The plugin was built against an older minor version of the contract. Its root module is
    /// shorter than this host's, and abi_stable's layout check accepts only plugins built
    /// against the same or a newer minor (newer ones load; their extra hooks are not called).
    #[error(
        "`{path}` was built against plugin contract {plugin_version}, older than this host's \
         {host_version}; native plugins must be built against {host_version} or a newer minor"
    )]
    OlderMinor {
        /// The plugin file.
        path: PathBuf,
        /// The contract version the plugin was built against, `major.minor`.
        plugin_version: String,
        /// The contract version of this host, `major.minor`.
        host_version: String,
    },
    /// The library could not be opened or its root module has an unexpected layout.
    #[error("cannot load native plugin `{path}`: {reason}")]
    Native {
        /// The plugin file.
        path: PathBuf,
        /// abi_stable's explanation.
        reason: String,
    },
    /// The component could not be read, compiled or linked.
    #[error("cannot load WASM plugin `{path}`: {reason}")]
    Wasm {
        /// The plugin file.
        path: PathBuf,
        /// wasmtime's explanation.
        reason: String,
    },
    /// The plugin refused its settings.
    #[error("plugin refused its settings: {0}")]
    Instantiate(String),
    /// A feature this plugin depends on is provided by no loaded plugin.
    #[error("depends on `{0}`, which no loaded plugin provides")]
    MissingDependency(String),
    /// The spec itself is unusable.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// Hot reload is only possible for WASM plugins.
    #[error("native plugins cannot be reloaded; restart the daemon")]
    ReloadUnsupported,
    /// No plugin has that name.
    #[error("no plugin named `{0}`")]
    Unknown(String),
}

/// Why one hook call produced no answer. The host then applies the plugin's failure policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The plugin returned an error or panicked.
    #[error("plugin error: {0}")]
    Plugin(String),
    /// The WASM plugin trapped.
    #[error("plugin trapped: {0}")]
    Trap(String),
    /// The WASM call ran past its epoch deadline (`timeout_ms`).
    #[error("plugin call exceeded its time limit")]
    Timeout,
    /// The WASM call ran out of fuel.
    #[error("plugin call ran out of fuel")]
    OutOfFuel,
    /// The WASM plugin tried to grow its memory past `max_memory_pages`.
    #[error("plugin exceeded its memory limit")]
    OutOfMemory,
    /// The WASM plugin made a host call its manifest does not allow.
    #[error("plugin made a host call it has no capability for: {0}")]
    Denied(&'static str),
    /// The plugin does not implement the hook, or its sandbox does not allow it.
    #[error("plugin does not implement hook {0}")]
    NotImplemented(Hook),
    /// The pool did not run the call (queue full or shutting down), or the job was lost.
    #[error("plugin call could not run: {0}")]
    Pool(String),
}

/// Why the host could not start a call at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// No loaded plugin has that name.
    #[error("no plugin named `{0}`")]
    UnknownPlugin(String),
    /// The pool refused the job.
    #[error("plugin call pool: {0}")]
    Pool(String),
}
