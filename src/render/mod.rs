//! Drawing a snapshot and its verdict: the side-by-side table for people, JSON/YAML for scripts.

pub mod json;
pub mod list;
pub mod plan;
pub mod style;
pub mod table;

use crate::cluster::Target;
use crate::error::{Error, Result};
use crate::pair::Snapshot;
use crate::verdict::Verdict;

pub use style::Palette;

/// Everything a status screen shows.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// Where: context, cluster, server, namespace.
    pub target: &'a Target,
    /// The pair.
    pub snapshot: &'a Snapshot,
    /// What the next command would do.
    pub verdict: &'a Verdict,
}

/// The formats of `status` (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Both colours side by side and one row per pod.
    Table,
    /// The table plus each colour's selector, the endpoint addresses and the journal.
    Wide,
    /// The documented JSON document.
    Json,
    /// The same document as YAML.
    Yaml,
}

/// Renders the view in the requested format.
pub fn render(view: &View<'_>, format: OutputFormat, palette: &Palette) -> Result<String> {
    match format {
        OutputFormat::Table => Ok(table::render(view, false, palette)),
        OutputFormat::Wide => Ok(table::render(view, true, palette)),
        OutputFormat::Json => json::to_json(view)
            .map_err(|e| Error::Internal(format!("cannot encode the status as JSON: {e}"))),
        OutputFormat::Yaml => json::to_yaml(view)
            .map_err(|e| Error::Internal(format!("cannot encode the status as YAML: {e}"))),
    }
}
