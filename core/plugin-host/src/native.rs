//! Native plugins: abi_stable root modules in `cdylib`s. Trusted code: the host checks the
//! contract version and the root module's layout, then calls straight in, with no limits.
//!
//! Libraries are never unloaded (abi_stable's rule), so a loaded plugin stays mapped until exit.

use std::path::Path;
use std::sync::Arc;

use abi_stable::library::lib_header_from_path;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{ROption, RSlice, RStr, RVec};
use wolfguard_plugin_api::native::{
    FfiAuthFailure, FfiAuthRequest, FfiConnect, FfiHost, FfiHost_TO, FfiInstance, FfiLevel,
    FfiLogEvent, FfiPacket, PluginModRef,
};
use wolfguard_plugin_api::{
    ABI_VERSION, AuthFailure, AuthRequest, AuthStep, ConnectInfo, Hook, Listener, LogEvent,
    Manifest, Packet, PacketVerdict, Verdict, ext,
};

use crate::backend::Backend;
use crate::error::{CallError, PluginLoadError};
use crate::hostcalls::HostState;

/// A loaded native plugin instance.
pub(crate) struct NativePlugin {
    module: PluginModRef,
    instance: FfiInstance,
    manifest: Manifest,
}

/// The host calls handed to a native plugin.
struct Calls(Arc<HostState>);

impl FfiHost for Calls {
    fn log(&self, level: FfiLevel, message: RStr<'_>) {
        self.0.log(level.into(), message.as_str());
    }

    fn counter_add(&self, name: RStr<'_>, delta: u64) {
        self.0.counter_add(name.as_str(), delta);
    }

    fn kv_get(&self, key: RStr<'_>) -> ROption<RVec<u8>> {
        self.0.kv_get(key.as_str()).map(RVec::from).into()
    }

    fn kv_put(&self, key: RStr<'_>, value: RSlice<'_, u8>) {
        self.0.kv_put(key.as_str(), value.as_slice());
    }
}

/// `major.minor` of this host's contract.
pub(crate) fn host_version() -> String {
    format!("{}.{}", ABI_VERSION.0, ABI_VERSION.1)
}

impl NativePlugin {
    /// Opens `path`, checks its contract version and layout, and instantiates it.
    pub(crate) fn load(
        path: &Path,
        settings: &str,
        state: Arc<HostState>,
    ) -> Result<Self, PluginLoadError> {
        let native_err = |reason: String| PluginLoadError::Native {
            path: path.to_owned(),
            reason,
        };
        if !path.is_file() {
            return Err(native_err(
                "no such file (check the table's `path`; relative paths start at the \
                 configuration file's directory)"
                    .into(),
            ));
        }
        // abi_stable's message spans several indented lines; the log wants one.
        let header = lib_header_from_path(path).map_err(|e| {
            native_err(
                e.to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        })?;
        // The major is compared here, not by abi_stable, so that the refusal names both
        // versions and so that older minors (shorter prefix modules) are accepted.
        let vs = header.version_strings();
        let plugin_version = vs
            .parsed()
            .map(|v| (v.major, v.minor))
            .map_err(|e| native_err(format!("unreadable contract version: {e}")))?;
        if plugin_version.0 != u32::from(ABI_VERSION.0) {
            return Err(PluginLoadError::IncompatibleAbi {
                path: path.to_owned(),
                plugin_version: format!("{}.{}", plugin_version.0, plugin_version.1),
                host_version: host_version(),
            });
        }
        let module = header.check_layout::<PluginModRef>().map_err(|e| {
            if plugin_version.1 < u32::from(ABI_VERSION.1) {
                PluginLoadError::OlderMinor {
                    path: path.to_owned(),
                    plugin_version: format!("{}.{}", plugin_version.0, plugin_version.1),
                    host_version: host_version(),
                }
            } else {
                native_err(format!("{e}"))
            }
        })?;
        let manifest = Manifest::from(&(module.manifest())());
        let host = FfiHost_TO::from_value(Calls(state), TD_Opaque);
        let instance = (module.instantiate())(RStr::from(settings), host)
            .into_result()
            .map_err(|e| PluginLoadError::Instantiate(e.into()))?;
        Ok(Self {
            module,
            instance,
            manifest,
        })
    }
}

impl Backend for NativePlugin {
    fn manifest(&self) -> Manifest {
        self.manifest.clone()
    }

    fn has_hook(&self, hook: Hook) -> bool {
        self.manifest.hooks.contains(&hook)
    }

    fn auth(&self, hook: Hook, req: &AuthRequest) -> Result<AuthStep, CallError> {
        let f = match hook {
            Hook::AuthBegin => self.module.auth_begin(),
            _ => self.module.auth_continue(),
        };
        f(&self.instance, &FfiAuthRequest::from(req))
            .into_result()
            .map(|s| AuthStep::from(&s))
            .map_err(|e| CallError::Plugin(e.into()))
    }

    fn filter_connect(&self, info: &ConnectInfo) -> Result<Verdict, CallError> {
        (self.module.filter_connect())(&self.instance, &FfiConnect::from(info))
            .into_result()
            .map(|v| Verdict::from(&v))
            .map_err(|e| CallError::Plugin(e.into()))
    }

    fn filter_auth_failure(&self, failure: &AuthFailure) -> Result<Verdict, CallError> {
        (self.module.filter_auth_failure())(&self.instance, &FfiAuthFailure::from(failure))
            .into_result()
            .map(|v| Verdict::from(&v))
            .map_err(|e| CallError::Plugin(e.into()))
    }

    fn filter_packets(
        &self,
        batch: &[Packet<'_>],
        out: &mut Vec<PacketVerdict>,
    ) -> Result<(), CallError> {
        let ffi: Vec<FfiPacket<'_>> = batch
            .iter()
            .map(|p| FfiPacket {
                session: p.session,
                ingress: p.ingress,
                data: RSlice::from(p.data),
            })
            .collect();
        let mut codes = RVec::with_capacity(batch.len());
        (self.module.filter_packets())(&self.instance, RSlice::from(&ffi[..]), &mut codes)
            .into_result()
            .map_err(|e| CallError::Plugin(e.into()))?;
        if codes.len() != batch.len() {
            return Err(CallError::Plugin(format!(
                "filter-packets gave {} verdicts for {} packets",
                codes.len(),
                batch.len()
            )));
        }
        out.extend(codes.iter().map(|c| PacketVerdict::from_code(*c)));
        Ok(())
    }

    fn extension(&self, hook: Hook, input: &[u8]) -> Result<Vec<u8>, CallError> {
        (self.module.extension())(&self.instance, hook.as_str().into(), RSlice::from(input))
            .into_result()
            .map(RVec::into_vec)
            .map_err(|e| extension_error(hook, e.into()))
    }

    fn log_event(&self, event: &LogEvent) -> Result<(), CallError> {
        (self.module.log_event())(&self.instance, &FfiLogEvent::from(event));
        Ok(())
    }

    fn listeners(&self) -> Result<Vec<Listener>, CallError> {
        let ls = (self.module.transport_listeners())(&self.instance);
        Ok(ls.iter().map(Listener::from).collect())
    }
}

/// An `extension` error: "unknown hook" means not implemented (an older contract minor).
pub(crate) fn extension_error(hook: Hook, message: String) -> CallError {
    if ext::is_unknown(&message) {
        CallError::NotImplemented(hook)
    } else {
        CallError::Plugin(message)
    }
}
