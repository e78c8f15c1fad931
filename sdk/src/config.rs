//! A plugin's settings: the `settings` table of its `[plugins.<name>]` section.

use toml::{Table, Value};

use crate::PluginError;

/// The settings a plugin is instantiated with, parsed from TOML text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    table: Table,
}

impl Config {
    /// Parses `text` (a TOML document; empty means no settings).
    pub fn parse(text: &str) -> Result<Self, PluginError> {
        let table = text
            .parse::<Table>()
            .map_err(|e| PluginError::new(format!("invalid settings: {e}")))?;
        Ok(Self { table })
    }

    /// The whole table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The raw value of `key`.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.table.get(key)
    }

    /// The string `key`, if present and a string.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.value(key).and_then(Value::as_str)
    }

    /// The string `key`, or an error naming it.
    pub fn require_str(&self, key: &str) -> Result<&str, PluginError> {
        self.str(key)
            .ok_or_else(|| PluginError::new(format!("setting `{key}` (a string) is required")))
    }

    /// The integer `key`, if present and an integer.
    pub fn int(&self, key: &str) -> Option<i64> {
        self.value(key).and_then(Value::as_integer)
    }

    /// The boolean `key`, if present and a boolean.
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.value(key).and_then(Value::as_bool)
    }
}
