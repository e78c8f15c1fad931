//! The stable contract between wolfguard and its plugins.
//!
//! It holds only contracts and depends on no other crate of the workspace, so plugin authors never
//! build against daemon internals:
//!
//! - [`model`]: the data both sides exchange, as plain Rust (auth conversations, verdicts,
//!   packet batches, log events, manifests);
//! - [`native`] (not on wasm32): the abi_stable root module a native plugin exports and the
//!   host-call object it receives;
//! - `wit/wolfguard.wit`: the same contract as a WIT world for WASM components
//!   ([`WIT`] holds its text);
//! - [`ABI_VERSION`].
//!
//! ```text
//!              model (plain Rust) ◄─── sdk traits (plugin authors)
//!               ▲            ▲
//!   native: From impls    WIT world: bindings on both sides
//!               │            │
//!      PluginModRef (dylib)  wasm component ───► core/plugin-host
//! ```
//!
//! # Versioning
//!
//! `ABI_VERSION` is `(major, minor)`. The host refuses a plugin whose major differs, naming both
//! versions. Minor versions only append hooks: native plugins built against an older minor have
//! a shorter root module (abi_stable prefix type) and the host treats the missing hooks as not
//! implemented; WASM plugins export the hooks of their own minor version.
//!
//! # What it deliberately does not do
//!
//! No I/O, no async runtime, no wasmtime, no daemon types. Hand-written unsafe code is absent;
//! the `unsafe_code` lint is allowed only on items that abi_stable's macros expand.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod model;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;

pub use model::{
    Answer, AuthFailure, AuthRequest, AuthStep, ConnectInfo, Hook, Level, Listener, LogEvent,
    Manifest, Packet, PacketVerdict, PluginKind, Prompt, PromptKind, Verdict,
};

/// Version of the plugin contract, `(major, minor)`: a plugin built against another major version
/// is refused with both versions named. 0.2 appended the `filter-auth-failure` hook.
pub const ABI_VERSION: (u16, u16) = (0, 1);
