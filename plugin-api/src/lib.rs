//! The stable contract between wolfguard and its plugins.
//!
//! This crate will hold only contracts — the abi_stable root module of native plugins, the WIT
//! world of WASM plugins, event and verdict types and the ABI version — and depend on no other
//! crate of the workspace, so plugin authors never build against daemon internals (see
//! `docs/architecture.md`). Today it carries the one fact both sides already share: the version of
//! the contract. The hook traits arrive with the plugin host.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Version of the plugin contract: a plugin built against another major version is refused with
/// both versions named.
pub const ABI_VERSION: (u16, u16) = (0, 1);
