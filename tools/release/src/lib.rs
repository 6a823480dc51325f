//! Release tooling for `kubectl-bluegreen`, used by `.github/workflows/release.yml`:
//!
//! - [`archive::pack`] packs one platform's archive (`.tar.gz`, `.zip` for Windows) with the
//!   binaries and the LICENSE, reproducibly, and writes its `.sha256` file beside it;
//! - [`manifest::generate`] writes `krew-manifest.yaml` from the archives: each platform's
//!   `uri`, `sha256`, `bin` and `files` come from the archive itself, the descriptions from the
//!   current manifest.
//!
//! Never part of the shipped plugin.

pub mod archive;
pub mod manifest;
pub mod platform;

use std::path::PathBuf;

/// What can go wrong while packing or generating.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An archive could not be read or written as a zip file.
    #[error("{path}: {source}")]
    Zip {
        /// The archive.
        path: PathBuf,
        /// Why.
        source: zip::result::ZipError,
    },
    /// An input does not have the expected name, content or form.
    #[error("{0}")]
    Invalid(String),
}

/// Result of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io_error(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}
