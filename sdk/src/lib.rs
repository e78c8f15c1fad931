//! What wolfguard plugin authors depend on.
//!
//! The SDK will offer one trait per plugin kind with no-op defaults, one export macro that builds
//! the same source as a native plugin or a WASM component, host calls and a mock host for tests.
//! It depends on `wolfguard-plugin-api` only. Today it re-exports the contract version so plugins
//! and the host agree on it from the first line.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use wolfguard_plugin_api::ABI_VERSION;
