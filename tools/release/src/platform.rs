//! The platforms a release covers, named as krew names them (`os`/`arch` labels), and the
//! archive names that carry them: `kubectl-bluegreen-<version>-<os>-<arch>.tar.gz` (`.zip` on
//! Windows).

use std::fmt;

use crate::{Error, Result};

/// The plugin's binary name, without a Windows suffix.
pub const PLUGIN_BIN: &str = "kubectl-bluegreen";

/// The completion executable kubectl runs for `kubectl bluegreen <TAB>`, without a suffix.
pub const COMPLETION_BIN: &str = "kubectl_complete-bluegreen";

/// The licence file every archive carries.
pub const LICENSE: &str = "LICENSE";

/// Archive names start with this.
pub const ARCHIVE_PREFIX: &str = "kubectl-bluegreen-";

/// One krew platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    /// krew's `os` label: `linux`, `darwin`, `windows`.
    pub os: &'static str,
    /// krew's `arch` label: `amd64`, `arm64`.
    pub arch: &'static str,
}

/// Every platform a release must cover, in the manifest's order.
pub const ALL: [Platform; 5] = [
    Platform {
        os: "linux",
        arch: "amd64",
    },
    Platform {
        os: "linux",
        arch: "arm64",
    },
    Platform {
        os: "darwin",
        arch: "amd64",
    },
    Platform {
        os: "darwin",
        arch: "arm64",
    },
    Platform {
        os: "windows",
        arch: "amd64",
    },
];

impl Platform {
    /// The platform with these labels, if a release covers it.
    pub fn find(os: &str, arch: &str) -> Result<Platform> {
        ALL.iter()
            .copied()
            .find(|p| p.os == os && p.arch == arch)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{os}/{arch} is not a release platform (known: {})",
                    ALL.map(|p| p.to_string()).join(", ")
                ))
            })
    }

    /// Whether executables carry `.exe`.
    pub fn is_windows(self) -> bool {
        self.os == "windows"
    }

    /// The archive extension: `zip` on Windows, `tar.gz` elsewhere.
    pub fn extension(self) -> &'static str {
        if self.is_windows() { "zip" } else { "tar.gz" }
    }

    /// The plugin binary's name in the archive.
    pub fn plugin_bin(self) -> String {
        if self.is_windows() {
            format!("{PLUGIN_BIN}.exe")
        } else {
            PLUGIN_BIN.to_string()
        }
    }

    /// What a release archive holds, in order: the plugin, the completion executable, the
    /// licence.
    pub fn release_files(self) -> Vec<String> {
        let suffix = if self.is_windows() { ".exe" } else { "" };
        vec![
            self.plugin_bin(),
            format!("{COMPLETION_BIN}{suffix}"),
            LICENSE.to_string(),
        ]
    }

    /// The archive's file name for `version` (`v0.1.0`).
    pub fn archive_name(self, version: &str) -> String {
        format!(
            "{ARCHIVE_PREFIX}{version}-{}-{}.{}",
            self.os,
            self.arch,
            self.extension()
        )
    }

    /// Reads the version and platform back from an archive's file name.
    pub fn from_archive_name(name: &str) -> Result<(String, Platform)> {
        let invalid = || {
            Error::Invalid(format!(
                "{name:?} is not named like a release archive \
                 ({ARCHIVE_PREFIX}<version>-<os>-<arch>.tar.gz or .zip)"
            ))
        };
        let rest = name.strip_prefix(ARCHIVE_PREFIX).ok_or_else(invalid)?;
        let (stem, extension) = if let Some(stem) = rest.strip_suffix(".tar.gz") {
            (stem, "tar.gz")
        } else if let Some(stem) = rest.strip_suffix(".zip") {
            (stem, "zip")
        } else {
            return Err(invalid());
        };
        let mut parts = stem.rsplitn(3, '-');
        let (Some(arch), Some(os), Some(version)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let platform = Platform::find(os, arch)?;
        if platform.extension() != extension {
            return Err(Error::Invalid(format!(
                "{name}: {platform} archives are .{}",
                platform.extension()
            )));
        }
        Ok((version.to_string(), platform))
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.os, self.arch)
    }
}

/// Whether `version` is `v` followed by semantic-version numbers (`v1.2.3`, `v1.2.3-rc.1`).
pub fn is_release_version(version: &str) -> bool {
    let Some(bare) = version.strip_prefix('v') else {
        return false;
    };
    let (core, pre) = match bare.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (bare, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    numbers.len() == 3
        && numbers.iter().all(|n| {
            !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
                && (n.len() == 1 || !n.starts_with('0'))
        })
        && pre.is_none_or(|p| {
            !p.is_empty()
                && p.split('.').all(|part| {
                    !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_round_trip() {
        for platform in ALL {
            let name = platform.archive_name("v1.2.3-rc.1");
            let (version, back) = Platform::from_archive_name(&name).expect("parses");
            assert_eq!(version, "v1.2.3-rc.1");
            assert_eq!(back, platform);
        }
        assert_eq!(
            ALL[4].archive_name("v0.1.0"),
            "kubectl-bluegreen-v0.1.0-windows-amd64.zip"
        );
    }

    #[test]
    fn wrong_archive_names_are_refused() {
        for name in [
            "kubectl-bluegreen-v0.1.0-linux-amd64.zip",
            "kubectl-bluegreen-v0.1.0-windows-amd64.tar.gz",
            "kubectl-bluegreen-v0.1.0-plan9-amd64.tar.gz",
            "other-v0.1.0-linux-amd64.tar.gz",
            "kubectl-bluegreen-linux.tar.gz",
        ] {
            assert!(Platform::from_archive_name(name).is_err(), "{name}");
        }
    }

    #[test]
    fn release_versions() {
        for good in ["v0.1.0", "v10.0.1", "v1.2.3-rc.1"] {
            assert!(is_release_version(good), "{good}");
        }
        for bad in [
            "0.1.0",
            "v1.0",
            "v01.0.0",
            "v1.0.x",
            "v1.0.0-",
            "v1.0.0-a..b",
            "",
        ] {
            assert!(!is_release_version(bad), "{bad}");
        }
    }
}
