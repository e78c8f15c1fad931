//! What wolfguard plugin authors depend on.
//!
//! One trait per plugin kind ([`AuthPlugin`], [`FilterPlugin`], [`LogPlugin`],
//! [`TransportPlugin`]), each hook with a no-op default, on top of the [`Plugin`] trait that
//! names the plugin and builds it from its settings. One macro, [`export_plugin!`], turns the
//! type into a native plugin (an abi_stable root module, on every target but wasm32) or a WASM
//! component (wit-bindgen exports, on wasm32), so the same source builds both ways:
//!
//! ```text
//!   your type: Plugin + AuthPlugin (+ FilterPlugin …)
//!        │ export_plugin!(Type, auth, filter)
//!        ├── cargo build                         ─► lib<name>.so   (native, trusted)
//!        └── cargo build --target wasm32-wasip2  ─► <name>.wasm    (component, sandboxed)
//! ```
//!
//! Plugins talk back to the daemon through a [`Host`]: log through the host's logger, bump
//! counters, read and write a small key-value store. Settings arrive as the [`Config`] built from
//! the plugin's `settings` table. In `cargo test`, [`testing::MockHost`] stands in for the daemon.
//!
//! # What it deliberately does not do
//!
//! It never installs a logger or an async runtime, and it exposes no daemon types: everything a
//! plugin sees is in `wolfguard-plugin-api`'s model. The guide `docs/plugins/authoring.md` walks
//! from `cargo new` to a plugin loaded by a running daemon.
//!
//! # Example
//!
//! ```
//! use wolfguard_sdk::prelude::*;
//!
//! struct Hello;
//!
//! impl Plugin for Hello {
//!     const NAME: &'static str = "hello";
//!     fn new(_config: &Config, _host: Host) -> Result<Self, PluginError> {
//!         Ok(Hello)
//!     }
//! }
//!
//! impl AuthPlugin for Hello {
//!     fn auth_begin(&self, req: &AuthRequest) -> Result<AuthStep, PluginError> {
//!         Ok(match req.answer("username") {
//!             Some("hello") => AuthStep::Accept {
//!                 user: "hello".into(),
//!                 groups: vec![],
//!                 attributes: vec![],
//!             },
//!             _ => AuthStep::reject("unknown user"),
//!         })
//!     }
//! }
//!
//! wolfguard_sdk::export_plugin!(Hello, auth);
//! # fn main() {}
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

// wit-bindgen's generated code names its runtime by an absolute path; this makes
// `wolfguard_sdk::…` resolve inside the SDK too.
extern crate self as wolfguard_sdk;

mod config;
mod export;
mod host;
mod plugin;
#[doc(hidden)]
pub mod rt;
pub mod testing;

#[cfg(not(target_arch = "wasm32"))]
#[doc(hidden)]
pub mod native;
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod wasm;

pub use config::Config;
pub use host::Host;
pub use plugin::{AuthPlugin, FilterPlugin, LogPlugin, Plugin, PluginError, TransportPlugin};
pub use wolfguard_plugin_api as api;
pub use wolfguard_plugin_api::ABI_VERSION;

/// Everything a plugin usually needs: `use wolfguard_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::TransportPlugin;
    pub use crate::{AuthPlugin, Config, FilterPlugin, Host, LogPlugin, Plugin, PluginError};
    pub use wolfguard_plugin_api::model::{
        Answer, AuthFailure, AuthRequest, AuthStep, ConnectInfo, Level, Listener, LogEvent, Packet,
        PacketVerdict, Prompt, PromptKind, SessionInfo, Verdict,
    };
}
