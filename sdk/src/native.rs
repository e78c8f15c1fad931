//! The native glue: extern "C" functions, generic over the plugin type, that fill the abi_stable
//! root module. Panics are caught here so they never cross the C ABI (which would abort).

// `DynTrait` (the instance) is `#[repr(C)]` but holds a zero-sized phantom rustc cannot prove
// FFI-safe; abi_stable checks the whole layout at load time instead.
#![allow(improper_ctypes_definitions)]

use std::panic::{AssertUnwindSafe, catch_unwind};

use abi_stable::DynTrait;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::{RResult, RSlice, RStr, RString, RVec};
use wolfguard_plugin_api::model::{AuthStep, Hook, Packet, PacketVerdict, Verdict};
use wolfguard_plugin_api::native::{
    FfiAuthFailure, FfiAuthRequest, FfiAuthResult, FfiConnect, FfiHostBox, FfiInstance,
    FfiListener, FfiLogEvent, FfiManifest, FfiPacket, FfiVerdictResult, PluginMod, PluginModRef,
};

use crate::rt::{Exported, State};
use crate::{Config, Host};

pub use abi_stable;

/// The root module of plugin type `P`, built once when the host loads the library.
pub fn root_module<P: Exported>() -> PluginModRef {
    PluginMod {
        manifest: manifest::<P>,
        instantiate: instantiate::<P>,
        auth_begin: auth_begin::<P>,
        auth_continue: auth_continue::<P>,
        filter_connect: filter_connect::<P>,
        filter_packets: filter_packets::<P>,
        log_event: log_event::<P>,
        transport_listeners: transport_listeners::<P>,
        filter_auth_failure: filter_auth_failure::<P>,
        extension: extension::<P>,
    }
    .leak_into_prefix()
}

/// Runs `f`, turning a panic into an error message.
fn guard<T>(f: impl FnOnce() -> Result<T, String>) -> RResult<T, RString> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => RResult::ROk(v),
        Ok(Err(e)) => RResult::RErr(e.into()),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic payload".to_owned());
            RResult::RErr(format!("plugin panicked: {msg}").into())
        }
    }
}

fn state<P: Exported>(inst: &FfiInstance) -> Result<&State<P>, String> {
    inst.downcast_as::<State<P>>()
        .map_err(|_| "instance does not belong to this plugin".to_owned())
}

extern "C" fn manifest<P: Exported>() -> FfiManifest {
    (&P::hooks().manifest()).into()
}

extern "C" fn instantiate<P: Exported>(
    settings: RStr<'_>,
    host: FfiHostBox,
) -> RResult<FfiInstance, RString> {
    guard(|| {
        let config = Config::parse(settings.as_str()).map_err(|e| e.to_string())?;
        let plugin = P::new(&config, Host::native(host)).map_err(|e| e.to_string())?;
        Ok(DynTrait::from_value(State {
            plugin,
            hooks: P::hooks(),
        }))
    })
}

fn auth<P: Exported>(inst: &FfiInstance, req: &FfiAuthRequest, hook: Hook) -> FfiAuthResult {
    guard(|| {
        let s = state::<P>(inst)?;
        let f = match hook {
            Hook::AuthBegin => s.hooks.auth_begin,
            _ => s.hooks.auth_continue,
        };
        let step: AuthStep = s.auth(f, hook, &req.into())?;
        Ok((&step).into())
    })
}

extern "C" fn auth_begin<P: Exported>(inst: &FfiInstance, req: &FfiAuthRequest) -> FfiAuthResult {
    auth::<P>(inst, req, Hook::AuthBegin)
}

extern "C" fn auth_continue<P: Exported>(
    inst: &FfiInstance,
    req: &FfiAuthRequest,
) -> FfiAuthResult {
    auth::<P>(inst, req, Hook::AuthContinue)
}

extern "C" fn filter_connect<P: Exported>(
    inst: &FfiInstance,
    info: &FfiConnect,
) -> FfiVerdictResult {
    guard(|| {
        let v: Verdict = state::<P>(inst)?.filter_connect(&info.into())?;
        Ok((&v).into())
    })
}

extern "C" fn filter_auth_failure<P: Exported>(
    inst: &FfiInstance,
    failure: &FfiAuthFailure,
) -> FfiVerdictResult {
    guard(|| {
        let v: Verdict = state::<P>(inst)?.filter_auth_failure(&failure.into())?;
        Ok((&v).into())
    })
}

extern "C" fn filter_packets<P: Exported>(
    inst: &FfiInstance,
    batch: RSlice<'_, FfiPacket<'_>>,
    out: &mut RVec<u8>,
) -> RResult<(), RString> {
    guard(|| {
        let s = state::<P>(inst)?;
        let packets: Vec<Packet<'_>> = batch
            .iter()
            .map(|p| Packet {
                session: p.session,
                ingress: p.ingress,
                data: p.data.as_slice(),
            })
            .collect();
        let mut verdicts: Vec<PacketVerdict> = Vec::with_capacity(packets.len());
        s.filter_packets(&packets, &mut verdicts)?;
        out.extend(verdicts.iter().map(|v| *v as u8));
        Ok(())
    })
}

extern "C" fn log_event<P: Exported>(inst: &FfiInstance, event: &FfiLogEvent) {
    // A logging hook has no result to carry an error in; a panic is contained and dropped.
    let _ = guard(|| {
        state::<P>(inst)?.log_event(&event.into());
        Ok(())
    });
}

extern "C" fn transport_listeners<P: Exported>(inst: &FfiInstance) -> RVec<FfiListener> {
    match guard(|| Ok(state::<P>(inst)?.listeners())) {
        RResult::ROk(v) => v.iter().map(FfiListener::from).collect(),
        RResult::RErr(_) => RVec::new(),
    }
}

extern "C" fn extension<P: Exported>(
    inst: &FfiInstance,
    name: RStr<'_>,
    input: RSlice<'_, u8>,
) -> RResult<RVec<u8>, RString> {
    guard(|| {
        Ok(state::<P>(inst)?
            .extension(name.as_str(), input.as_slice())?
            .into())
    })
}
