//! A plugin written against a frozen copy of the contract, straight on the root module (no SDK).
//! It accepts `old` / `old-pw` and implements the rest as no-ops. Three builds:
//!
//! - default: contract 1.0, which knows no extension hooks (1.1 added `filter-session`);
//! - `v1_2`: a future minor whose `extension` knows `filter-session` and a `future-hook` the
//!   host has never heard of, both declared in its manifest;
//! - `pretend-major-2`: claims contract 2.0 and must be refused.
#![deny(unsafe_code)]
// `DynTrait` holds a zero-sized phantom rustc cannot prove FFI-safe; abi_stable checks layouts.
#![allow(improper_ctypes_definitions)]

use abi_stable::DynTrait;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::std_types::{RResult, RSlice, RStr, RString, RVec};
use wolfguard_plugin_api::native::{
    FfiAuthRequest, FfiAuthResult, FfiAuthStep, FfiConnect, FfiHostBox, FfiInstance, FfiLevel,
    FfiListener, FfiLogEvent, FfiManifest, FfiPacket, FfiVerdict, FfiVerdictResult, PluginMod,
    PluginModRef,
};

struct Old {
    host: FfiHostBox,
}

/// The root module. `export_root_module` emits an unsafe `no_mangle` static: the macro's own.
#[allow(unsafe_code)]
#[abi_stable::export_root_module]
pub fn root() -> PluginModRef {
    PluginMod {
        manifest,
        instantiate,
        auth_begin,
        auth_continue,
        filter_connect,
        filter_packets,
        log_event,
        transport_listeners,
        filter_auth_failure,
        extension,
    }
    .leak_into_prefix()
}

extern "C" fn manifest() -> FfiManifest {
    let s = |v: &[&str]| v.iter().map(|x| RString::from(*x)).collect::<RVec<_>>();
    FfiManifest {
        name: "old".into(),
        version: "0.1.0".into(),
        kinds: s(&["auth", "filter"]),
        provides: s(&["auth:old"]),
        depends: RVec::new(),
        hooks: s(&[
            "auth-begin",
            "auth-continue",
            "filter-connect",
            "filter-packets",
            "filter-auth-failure",
            #[cfg(feature = "v1_2")]
            "filter-session",
            #[cfg(feature = "v1_2")]
            "future-hook",
        ]),
    }
}

extern "C" fn instantiate(_settings: RStr<'_>, host: FfiHostBox) -> RResult<FfiInstance, RString> {
    host.log(FfiLevel::Info, "old plugin instantiated".into());
    RResult::ROk(DynTrait::from_value(Old { host }))
}

extern "C" fn auth_begin(inst: &FfiInstance, req: &FfiAuthRequest) -> FfiAuthResult {
    let Ok(old) = inst.downcast_as::<Old>() else {
        return RResult::RErr("foreign instance".into());
    };
    old.host.counter_add("auth".into(), 1);
    let get = |n: &str| {
        req.answers
            .iter()
            .find(|a| a.name == n)
            .map(|a| a.value.as_str())
    };
    RResult::ROk(match (get("username"), get("password")) {
        (Some("old"), Some("old-pw")) => FfiAuthStep::Accept {
            user: "old".into(),
            groups: RVec::new(),
            attributes: RVec::new(),
        },
        _ => FfiAuthStep::Reject {
            reason: "old plugin says no".into(),
        },
    })
}

extern "C" fn auth_continue(inst: &FfiInstance, req: &FfiAuthRequest) -> FfiAuthResult {
    auth_begin(inst, req)
}

extern "C" fn filter_connect(_: &FfiInstance, _: &FfiConnect) -> FfiVerdictResult {
    RResult::ROk(FfiVerdict::Accept)
}

extern "C" fn filter_packets(
    _: &FfiInstance,
    batch: RSlice<'_, FfiPacket<'_>>,
    out: &mut RVec<u8>,
) -> RResult<(), RString> {
    out.extend(batch.iter().map(|_| 0u8));
    RResult::ROk(())
}

extern "C" fn filter_auth_failure(
    _: &FfiInstance,
    f: &wolfguard_plugin_api::native::FfiAuthFailure,
) -> FfiVerdictResult {
    RResult::ROk(if f.user == "mallory" {
        FfiVerdict::Drop
    } else {
        FfiVerdict::Accept
    })
}

/// Contract 1.0 knows no extension hooks; the 1.2 build knows two. JSON is written by hand here
/// so this copy never depends on how later SDKs encode.
extern "C" fn extension(
    _: &FfiInstance,
    name: RStr<'_>,
    input: RSlice<'_, u8>,
) -> RResult<RVec<u8>, RString> {
    match name.as_str() {
        #[cfg(feature = "v1_2")]
        "filter-session" => {
            let text = String::from_utf8_lossy(input.as_slice());
            let verdict: &[u8] = if text.contains("\"user\":\"mallory\"") {
                br#"{"reject":"1.2 plugin says no"}"#
            } else {
                br#""accept""#
            };
            RResult::ROk(verdict.into())
        }
        #[cfg(feature = "v1_2")]
        "future-hook" => RResult::ROk(RVec::new()),
        other => {
            let _ = input;
            RResult::RErr(wolfguard_plugin_api::ext::unknown(other).into())
        }
    }
}

extern "C" fn log_event(_: &FfiInstance, _: &FfiLogEvent) {}

extern "C" fn transport_listeners(_: &FfiInstance) -> RVec<FfiListener> {
    RVec::new()
}
