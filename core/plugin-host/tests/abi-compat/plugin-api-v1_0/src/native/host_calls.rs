//! The host-call object of native plugins.
// `#[sabi_trait]` expands to vtables and `unsafe impl`s next to the trait, not inside it, so the
// allow has to cover this module, which holds nothing but the trait. No hand-written unsafe.
#![allow(unsafe_code, non_local_definitions)]

use abi_stable::sabi_trait;
use abi_stable::std_types::{RBox, ROption, RSlice, RStr, RVec};

use super::FfiLevel;

/// The host calls a native plugin may make, handed to it at instantiation.
#[sabi_trait]
pub trait FfiHost: Send + Sync {
    /// Logs `message` through the host's logger.
    fn log(&self, level: FfiLevel, message: RStr<'_>);
    /// Adds `delta` to the plugin's counter `name`.
    fn counter_add(&self, name: RStr<'_>, delta: u64);
    /// Reads `key` from the plugin's key-value store.
    fn kv_get(&self, key: RStr<'_>) -> ROption<RVec<u8>>;
    /// Writes `key` in the plugin's key-value store.
    #[sabi(last_prefix_field)]
    fn kv_put(&self, key: RStr<'_>, value: RSlice<'_, u8>);
}

/// The boxed host-call object a plugin receives.
pub type FfiHostBox = FfiHost_TO<'static, RBox<()>>;
