//! The type-erased plugin instance.
// abi_stable's derive emits `unsafe impl StableAbi` and, for `impl_InterfaceType`, an impl inside
// a const next to the struct; the allows cover this module, which holds nothing else.
#![allow(unsafe_code, non_local_definitions)]

use abi_stable::std_types::RBox;
use abi_stable::{DynTrait, StableAbi};

/// Marks [`FfiInstance`] as `Send + Sync`: the host calls one native instance from many threads.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(impl_InterfaceType(Send, Sync))]
pub struct InstanceInterface;

/// A plugin instance, type-erased: only the plugin that created it can look inside.
pub type FfiInstance = DynTrait<'static, RBox<()>, InstanceInterface>;
