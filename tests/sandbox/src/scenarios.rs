//! Built-in scenarios: ready-made sets of objects for tests and demos.

use crate::store::Store;

/// Names of the built-in scenarios.
pub const NAMES: &[&str] = &[];

/// Loads a built-in scenario into the store.
pub fn load(_store: &Store, name: &str) -> Result<(), String> {
    Err(format!("unknown scenario {name:?}"))
}
