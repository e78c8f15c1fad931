//! The root module of native plugins.
// The prefix-type derive expands accessors (with `unsafe` blocks) next to the struct, so the
// allow has to cover this module, which holds nothing but the root module. No hand-written unsafe.
#![allow(unsafe_code)]
// `DynTrait` is `#[repr(C)]` but holds a zero-sized phantom rustc cannot prove FFI-safe;
// abi_stable checks the whole layout at load time instead.
#![allow(improper_ctypes_definitions)]

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RResult, RSlice, RStr, RString, RVec};
use abi_stable::{StableAbi, declare_root_module_statics};

use super::{
    ABI_VERSION_STRING, FfiAuthFailure, FfiAuthRequest, FfiAuthResult, FfiConnect, FfiHostBox,
    FfiInstance, FfiListener, FfiLogEvent, FfiManifest, FfiPacket, FfiVerdictResult,
};

/// The root module of a native plugin. **Frozen since contract 1.0**: later hooks go through
/// [`extension`](Self::extension) (see [`crate::ext`]); changing a field is a new major version.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
pub struct PluginMod {
    /// What the plugin declares about itself.
    pub manifest: extern "C" fn() -> FfiManifest,
    /// Creates an instance from the plugin's settings (TOML text of its `settings` table).
    pub instantiate: extern "C" fn(RStr<'_>, FfiHostBox) -> RResult<FfiInstance, RString>,
    /// First step of an auth conversation.
    pub auth_begin: extern "C" fn(&FfiInstance, &FfiAuthRequest) -> FfiAuthResult,
    /// Later steps of an auth conversation.
    pub auth_continue: extern "C" fn(&FfiInstance, &FfiAuthRequest) -> FfiAuthResult,
    /// Verdict on a connect attempt.
    pub filter_connect: extern "C" fn(&FfiInstance, &FfiConnect) -> FfiVerdictResult,
    /// Verdicts on a batch of packets, one code ([`PacketVerdict`](crate::PacketVerdict)) per
    /// packet appended to the output vector.
    pub filter_packets: extern "C" fn(
        &FfiInstance,
        RSlice<'_, FfiPacket<'_>>,
        &mut RVec<u8>,
    ) -> RResult<(), RString>,
    /// One daemon event.
    pub log_event: extern "C" fn(&FfiInstance, &FfiLogEvent),
    /// The listeners a transport plugin wants.
    pub transport_listeners: extern "C" fn(&FfiInstance) -> RVec<FfiListener>,
    /// Verdict on a failed authentication.
    pub filter_auth_failure: extern "C" fn(&FfiInstance, &FfiAuthFailure) -> FfiVerdictResult,
    /// Every hook added after 1.0, by name, with JSON input and output ([`crate::ext`]). A hook
    /// the plugin does not know answers `Err(ext::unknown(name))`.
    #[sabi(last_prefix_field)]
    pub extension:
        extern "C" fn(&FfiInstance, RStr<'_>, RSlice<'_, u8>) -> RResult<RVec<u8>, RString>,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "wolfguard_plugin";
    const NAME: &'static str = "wolfguard_plugin";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new(ABI_VERSION_STRING);
}
