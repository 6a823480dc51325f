//! `bluegreen-release`: the release workflow's packing and manifest steps.

use std::path::PathBuf;
use std::process::ExitCode;

use bluegreen_release::archive::{self, Input};
use bluegreen_release::manifest;
use bluegreen_release::platform::Platform;
use clap::{Parser, Subcommand};

/// Packs kubectl-bluegreen's release archives and writes the krew manifest from them.
#[derive(Debug, Parser)]
#[command(name = "bluegreen-release", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Pack one platform's archive and write its .sha256 file beside it
    #[command(after_help = "\
Example:
  bluegreen-release pack --version v0.1.0 --os linux --arch amd64 --out-dir dist \\
    --exe target/x86_64-unknown-linux-musl/release/kubectl-bluegreen \\
    --exe target/x86_64-unknown-linux-musl/release/kubectl_complete-bluegreen \\
    --file LICENSE")]
    Pack {
        /// The release version, as tagged: v1.2.3
        #[arg(long)]
        version: String,
        /// krew's os label: linux, darwin, windows
        #[arg(long)]
        os: String,
        /// krew's arch label: amd64, arm64
        #[arg(long)]
        arch: String,
        /// A program to include (mode 0755); the plugin binary must be one
        #[arg(long = "exe", value_name = "PATH", required = true)]
        executables: Vec<PathBuf>,
        /// Another file to include (mode 0644), e.g. LICENSE
        #[arg(long = "file", value_name = "PATH")]
        files: Vec<PathBuf>,
        /// Where to write the archive and its .sha256 file
        #[arg(long, value_name = "DIR", default_value = "dist")]
        out_dir: PathBuf,
    },
    /// Rewrite the krew manifest's version and platforms from the release archives
    #[command(after_help = "\
Example:
  bluegreen-release krew-manifest --version v0.1.0 \\
    --base-url https://github.com/OWNER/REPO/releases/download/v0.1.0 \\
    --manifest krew-manifest.yaml dist/*")]
    KrewManifest {
        /// The release version, as tagged: v1.2.3
        #[arg(long)]
        version: String,
        /// The URL the archives are published under
        #[arg(long, value_name = "URL")]
        base_url: String,
        /// The manifest to rewrite; its descriptions are kept
        #[arg(long, value_name = "PATH", default_value = "krew-manifest.yaml")]
        manifest: PathBuf,
        /// Print the new manifest instead of writing the file
        #[arg(long)]
        stdout: bool,
        /// Leave out the platforms without an archive (to try a locally built archive with
        /// krew; a release covers them all)
        #[arg(long)]
        allow_missing: bool,
        /// Prepare the manifest for a version not released yet, from no archive: new URIs,
        /// zero checksums, files carried over (with the version bump in Cargo.toml)
        #[arg(long, conflicts_with_all = ["archives", "allow_missing"])]
        pending: bool,
        /// The archives of every platform (their .sha256 files may be listed too)
        #[arg(value_name = "ARCHIVE", required_unless_present = "pending")]
        archives: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> bluegreen_release::Result<()> {
    match cli.command {
        Command::Pack {
            version,
            os,
            arch,
            executables,
            files,
            out_dir,
        } => {
            let platform = Platform::find(&os, &arch)?;
            let inputs: Vec<Input> = executables
                .into_iter()
                .map(|path| Input {
                    path,
                    executable: true,
                })
                .chain(files.into_iter().map(|path| Input {
                    path,
                    executable: false,
                }))
                .collect();
            let packed = archive::pack(&version, platform, &inputs, &out_dir)?;
            println!("{}", packed.archive.display());
            println!("{}", packed.checksum_file.display());
            Ok(())
        }
        Command::KrewManifest {
            version,
            base_url,
            manifest: path,
            stdout,
            allow_missing,
            pending,
            archives,
        } => {
            let coverage = if allow_missing {
                manifest::Coverage::Given
            } else {
                manifest::Coverage::All
            };
            let current =
                std::fs::read_to_string(&path).map_err(|source| bluegreen_release::Error::Io {
                    path: path.clone(),
                    source,
                })?;
            let text = if pending {
                manifest::pending(&version, &base_url, &current)?
            } else {
                manifest::generate(&version, &base_url, &current, &archives, coverage)?
            };
            if stdout {
                print!("{text}");
            } else {
                std::fs::write(&path, &text).map_err(|source| bluegreen_release::Error::Io {
                    path: path.clone(),
                    source,
                })?;
                eprintln!("wrote {} for {version}", path.display());
            }
            Ok(())
        }
    }
}
