//! Loads and supervises wolfguard plugins.
//!
//! The host will load native plugins (abi_stable + libloading, trusted code) and WASM components
//! (wasmtime, sandboxed with declared capabilities and CPU/memory limits), order them by what they
//! provide and depend on, and run their blocking calls on the runtime's priority pool. Until then
//! the daemon's password check sits behind its own `Authenticator` trait, the seam this host will
//! fill.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use wolfguard_plugin_api::ABI_VERSION;
