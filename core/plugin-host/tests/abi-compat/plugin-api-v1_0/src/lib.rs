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
//!   (not part of this copy);
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
//! versions. Within a major, the native root module and the WIT world are frozen: minor versions
//! add hooks by name through the `extension` entry point ([`ext`]), so a plugin built against any
//! older or newer minor loads, and hooks it does not know are "not implemented".
//!
//! Why not append fields to the abi_stable prefix type, as abi_stable suggests? Its layout check
//! accepts a library whose root module is *longer* than the loader's, never shorter: appending
//! lets new plugins load in old hosts but refuses old plugins in new hosts, which is the case
//! that matters to operators. The 0.x contracts did that; 1.0 froze the module instead.
//!
//! # What it deliberately does not do
//!
//! No I/O, no async runtime, no wasmtime, no daemon types. Hand-written unsafe code is absent;
//! the `unsafe_code` lint is allowed only on items that abi_stable's macros expand.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod ext;
pub mod model;
#[cfg(not(target_arch = "wasm32"))]
pub mod native;

pub use model::{
    Answer, AuthFailure, AuthRequest, AuthStep, ConnectInfo, Hook, Level, Listener, LogEvent,
    Manifest, Packet, PacketVerdict, PluginKind, Prompt, PromptKind, Verdict,
};

/// Version of the plugin contract, `(major, minor)`: a plugin built against another major version
/// is refused with both versions named.
///
/// - 1.0: the 0.2 hooks plus the `extension` entry point; root module and WIT world frozen.
pub const ABI_VERSION: (u16, u16) = (1, 0);
