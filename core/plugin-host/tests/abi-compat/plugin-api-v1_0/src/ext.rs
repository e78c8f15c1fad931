//! Extension hooks: every hook added after contract 1.0.
//!
//! From 1.0 on the native root module and the WIT world are **frozen**. A hook added in a minor
//! version crosses through one entry point that both have had since 1.0,
//!
//! ```text
//!   extension(hook name, input bytes) -> Ok(output bytes) | Err(message)
//! ```
//!
//! with input and output as JSON of the model types ([`encode`] / [`decode`]). A plugin built
//! against an older minor does not know the name and answers with [`unknown`]; the host treats
//! that as "not implemented", exactly as for a hook the plugin chose not to provide. So a plugin
//! built against 1.0 keeps loading in every 1.x host, and a plugin built against 1.(n+1) loads
//! in a 1.n host (which never asks it for the newer hook).
//!
//! Extension hooks are for control-path calls (one per session, per login): JSON costs about a
//! microsecond there. The data path (`filter-packets`) keeps its own zero-copy entry point, and
//! a new data-path entry point would be a new major version.
//!
//! | hook | since | input | output |
//! |---|---|---|---|

use serde::Serialize;
use serde::de::DeserializeOwned;

/// How an `extension` error that means "I do not know this hook" starts.
pub const UNKNOWN_PREFIX: &str = "unknown extension hook: ";

/// The error a plugin returns for an extension hook it does not know.
pub fn unknown(name: &str) -> String {
    format!("{UNKNOWN_PREFIX}{name}")
}

/// Whether `error` (from `extension`) means the plugin does not know the hook.
pub fn is_unknown(error: &str) -> bool {
    error.starts_with(UNKNOWN_PREFIX)
}

/// Encodes an extension hook's input or output.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Model types are plain records of strings, integers and lists: serializing cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Decodes an extension hook's input or output; the error names the hook and what was wrong.
pub fn decode<T: DeserializeOwned>(hook: &str, bytes: &[u8]) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("{hook}: malformed extension value: {e}"))
}

