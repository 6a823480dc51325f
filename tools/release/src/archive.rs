//! Packing a platform's archive and reading one back.
//!
//! Archives are flat (every file at the top, as the krew manifest's `files` expect them) and
//! reproducible: entries in the order given, fixed owner and modes, and one timestamp
//! (`SOURCE_DATE_EPOCH` when set, else the Unix epoch; 1980 in zip files, their earliest), so
//! the same inputs give the same checksum.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::platform::Platform;
use crate::{Error, Result, io_error};

/// One file to put in an archive.
#[derive(Debug, Clone)]
pub struct Input {
    /// Where it is now.
    pub path: PathBuf,
    /// Whether it is a program (mode 0755 rather than 0644).
    pub executable: bool,
}

/// What [`pack`] wrote.
#[derive(Debug, Clone)]
pub struct Packed {
    /// The archive.
    pub archive: PathBuf,
    /// Its `.sha256` file (`<hex>  <archive name>`, as `sha256sum -c` reads it).
    pub checksum_file: PathBuf,
    /// The archive's SHA-256, lowercase hex.
    pub sha256: String,
}

/// Packs `inputs` into `out_dir/<archive name>` for `platform` and `version`, and writes the
/// `.sha256` file beside it. Each input keeps its file name; the plugin binary must be among
/// them.
pub fn pack(version: &str, platform: Platform, inputs: &[Input], out_dir: &Path) -> Result<Packed> {
    if !crate::platform::is_release_version(version) {
        return Err(Error::Invalid(format!(
            "{version:?} is not a release version like v1.2.3"
        )));
    }
    let mut names = Vec::new();
    for input in inputs {
        let name = input
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| {
                Error::Invalid(format!("{} has no usable file name", input.path.display()))
            })?;
        if names.contains(&name) {
            return Err(Error::Invalid(format!("{name} is given twice")));
        }
        names.push(name);
    }
    let bin = platform.plugin_bin();
    if !names.contains(&bin.as_str()) {
        return Err(Error::Invalid(format!(
            "a {platform} archive must contain {bin} (got: {})",
            names.join(", ")
        )));
    }

    std::fs::create_dir_all(out_dir).map_err(io_error(out_dir))?;
    let archive = out_dir.join(platform.archive_name(version));
    let mtime = source_date_epoch();
    if platform.is_windows() {
        write_zip(&archive, inputs, &names)?;
    } else {
        write_tar_gz(&archive, inputs, &names, mtime)?;
    }
    let sha256 = sha256_file(&archive)?;
    let checksum_file = checksum_path(&archive);
    let line = format!("{sha256}  {}\n", platform.archive_name(version));
    std::fs::write(&checksum_file, line).map_err(io_error(&checksum_file))?;
    Ok(Packed {
        archive,
        checksum_file,
        sha256,
    })
}

/// `archive` + `.sha256`.
pub fn checksum_path(archive: &Path) -> PathBuf {
    let mut name = archive.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

fn source_date_epoch() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

fn read_input(input: &Input) -> Result<Vec<u8>> {
    std::fs::read(&input.path).map_err(io_error(&input.path))
}

fn write_tar_gz(archive: &Path, inputs: &[Input], names: &[&str], mtime: u64) -> Result<()> {
    let file = File::create(archive).map_err(io_error(archive))?;
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (input, name) in inputs.iter().zip(names) {
        let data = read_input(input)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(if input.executable { 0o755 } else { 0o644 });
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, data.as_slice())
            .map_err(io_error(archive))?;
    }
    let gz = tar.into_inner().map_err(io_error(archive))?;
    let mut file = gz.finish().map_err(io_error(archive))?;
    file.flush().map_err(io_error(archive))
}

fn write_zip(archive: &Path, inputs: &[Input], names: &[&str]) -> Result<()> {
    let zip_error = |source| Error::Zip {
        path: archive.to_path_buf(),
        source,
    };
    let file = File::create(archive).map_err(io_error(archive))?;
    let mut zip = zip::ZipWriter::new(file);
    for (input, name) in inputs.iter().zip(names) {
        let data = read_input(input)?;
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(if input.executable { 0o755 } else { 0o644 });
        zip.start_file(*name, options).map_err(zip_error)?;
        zip.write_all(&data).map_err(io_error(archive))?;
    }
    let mut file = zip.finish().map_err(zip_error)?;
    file.flush().map_err(io_error(archive))
}

/// The SHA-256 of a file, lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut reader = BufReader::new(File::open(path).map_err(io_error(path))?);
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read = reader.read(&mut buffer).map_err(io_error(path))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The names of the files in an archive, in archive order (`.tar.gz` or `.zip`, by name).
pub fn entries(path: &Path) -> Result<Vec<String>> {
    let name = path.to_string_lossy();
    if name.ends_with(".zip") {
        let file = File::open(path).map_err(io_error(path))?;
        let zip_error = |source| Error::Zip {
            path: path.to_path_buf(),
            source,
        };
        let mut archive = zip::ZipArchive::new(file).map_err(zip_error)?;
        let mut names = Vec::new();
        for index in 0..archive.len() {
            let entry = archive.by_index(index).map_err(zip_error)?;
            if !entry.is_dir() {
                names.push(entry.name().map_err(zip_error)?.into_owned());
            }
        }
        Ok(names)
    } else if name.ends_with(".tar.gz") {
        let file = File::open(path).map_err(io_error(path))?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file)));
        let mut names = Vec::new();
        for entry in archive.entries().map_err(io_error(path))? {
            let entry = entry.map_err(io_error(path))?;
            if entry.header().entry_type().is_dir() {
                continue;
            }
            let entry_path = entry.path().map_err(io_error(path))?;
            names.push(entry_path.to_string_lossy().into_owned());
        }
        Ok(names)
    } else {
        Err(Error::Invalid(format!(
            "{}: not a .tar.gz or .zip archive",
            path.display()
        )))
    }
}

/// The checksum recorded in a `.sha256` file (its first word).
pub fn recorded_sha256(checksum_file: &Path) -> Result<String> {
    let text = std::fs::read_to_string(checksum_file).map_err(io_error(checksum_file))?;
    let hex = text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Invalid(format!(
            "{} does not start with a SHA-256",
            checksum_file.display()
        )));
    }
    Ok(hex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::ALL;

    fn inputs(dir: &Path, bin: &str) -> Vec<Input> {
        let bin_path = dir.join(bin);
        let license = dir.join("LICENSE");
        std::fs::write(&bin_path, b"\x7fELF not really").expect("write");
        std::fs::write(&license, b"Apache License").expect("write");
        vec![
            Input {
                path: bin_path,
                executable: true,
            },
            Input {
                path: license,
                executable: false,
            },
        ]
    }

    #[test]
    fn archives_hold_the_inputs_and_match_their_checksum_files() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        for platform in ALL {
            let files = inputs(dir.path(), &platform.plugin_bin());
            let packed = pack("v0.1.0", platform, &files, &dir.path().join("dist")).expect("packs");
            assert_eq!(
                entries(&packed.archive).expect("reads back"),
                [platform.plugin_bin(), "LICENSE".to_string()]
            );
            assert_eq!(
                recorded_sha256(&packed.checksum_file).expect("sha"),
                packed.sha256
            );
            assert_eq!(sha256_file(&packed.archive).expect("sha"), packed.sha256);
        }
    }

    #[test]
    fn packing_twice_gives_the_same_bytes() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        for platform in [ALL[0], ALL[4]] {
            let files = inputs(dir.path(), &platform.plugin_bin());
            let first = pack("v0.1.0", platform, &files, &dir.path().join("a")).expect("packs");
            let second = pack("v0.1.0", platform, &files, &dir.path().join("b")).expect("packs");
            assert_eq!(first.sha256, second.sha256, "{platform}");
        }
    }

    #[test]
    fn an_archive_without_the_plugin_is_refused() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        // A Windows archive needs the .exe.
        let files = inputs(dir.path(), "kubectl-bluegreen");
        let err = pack("v0.1.0", ALL[4], &files, dir.path()).expect_err("refused");
        assert!(err.to_string().contains("kubectl-bluegreen.exe"), "{err}");
        assert!(pack("0.1.0", ALL[0], &files, dir.path()).is_err());
    }
}
