//! npm's install-source controls (`--allow-git`, `--allow-remote`,
//! `--allow-file`, `--allow-directory`, npm 11.10 and 11.15) applied to a
//! lockfile's non-registry packages, with npm 12's defaults: git and remote
//! tarballs refused, local tarballs and folders allowed.
//!
//! A non-registry package cannot be checked against the log. Each is
//! reported under its own rule (`git-dependency`, `remote-dependency`,
//! `file-dependency`, `directory-dependency`): as a failure when its switch
//! refuses it, else as a warning on a package marked skipped.

use std::fmt;

use crate::lockfile::{LockedPackage, Source};

use super::finding;
use super::report::Finding;

/// One switch's setting, as npm spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Allow {
    /// Every such dependency.
    All,
    /// None.
    None,
    /// Only those the root project's (or a workspace's) `package.json`
    /// declares ([`LockedPackage::direct`]).
    Root,
}

impl fmt::Display for Allow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Allow::All => "all",
            Allow::None => "none",
            Allow::Root => "root",
        })
    }
}

/// The four switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstallSources {
    /// Git repositories (`--allow-git`; npm 12 default `none`).
    pub git: Allow,
    /// Tarballs at URLs that are not the registry's (`--allow-remote`;
    /// npm 12 default `none`).
    pub remote: Allow,
    /// Local tarball files (`--allow-file`; default `all`).
    pub file: Allow,
    /// Local folders and links to them (`--allow-directory`; default `all`).
    pub directory: Allow,
}

impl Default for InstallSources {
    /// npm 12's defaults.
    fn default() -> InstallSources {
        InstallSources {
            git: Allow::None,
            remote: Allow::None,
            file: Allow::All,
            directory: Allow::All,
        }
    }
}

/// What a non-registry package is, for the switches.
struct Kind {
    rule: &'static str,
    switch: &'static str,
    what: &'static str,
}

fn kind(source: &Source) -> Option<(Kind, &str)> {
    let k = |rule, switch, what| Kind { rule, switch, what };
    Some(match source {
        Source::Git(url) => (k("git-dependency", "allow-git", "a git repository"), url),
        Source::RemoteTarball(url) => (
            k(
                "remote-dependency",
                "allow-remote",
                "a tarball URL that is not the registry's",
            ),
            url,
        ),
        Source::File(path) => (k("file-dependency", "allow-file", "a local tarball"), path),
        Source::Directory(path) => (
            k("directory-dependency", "allow-directory", "a local folder"),
            path,
        ),
        Source::Link => (
            k(
                "directory-dependency",
                "allow-directory",
                "a link to a local folder",
            ),
            "",
        ),
        Source::Registry { .. } | Source::Bundled => return None,
    })
}

impl InstallSources {
    fn setting(&self, switch: &str) -> Allow {
        match switch {
            "allow-git" => self.git,
            "allow-remote" => self.remote,
            "allow-file" => self.file,
            _ => self.directory,
        }
    }

    /// For a package not from a registry (nor bundled): whether it is
    /// allowed, and the finding (failure) or warning that reports it.
    pub fn judge(&self, p: &LockedPackage) -> Option<(bool, Finding)> {
        let (kind, from) = kind(&p.source)?;
        let setting = self.setting(kind.switch);
        let allowed = match setting {
            Allow::All => true,
            Allow::None => false,
            Allow::Root => p.direct,
        };
        let from = if from.is_empty() {
            String::new()
        } else {
            format!(" ({from})")
        };
        let message = if allowed {
            format!(
                "installed from {}{from}, allowed by {}={setting}: its contents are not checked \
                 against the log",
                kind.what, kind.switch
            )
        } else {
            let why = match setting {
                Allow::Root => " (only dependencies the project's package.json declares)",
                _ => "",
            };
            format!(
                "installed from {}{from}: refused by {}={setting}{why}; allow it with --{}=all \
                 (or root), or skip it in the policy",
                kind.what, kind.switch, kind.switch
            )
        };
        Some((allowed, finding(kind.rule, message, vec![])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(source: Source, direct: bool) -> LockedPackage {
        LockedPackage {
            location: "x".into(),
            name: "x".into(),
            version: Some("1.0.0".into()),
            integrity: None,
            integrity_raw: None,
            source,
            dev: false,
            optional: false,
            dev_optional: false,
            peer: false,
            direct,
            yarn_checksum: None,
        }
    }

    #[test]
    fn npm_12_defaults_and_each_setting() {
        let d = InstallSources::default();
        let git = package(Source::Git("git+https://h/x.git#a".into()), true);
        let remote = package(Source::RemoteTarball("https://h/x.tgz".into()), true);
        let file = package(Source::File("file:x.tgz".into()), false);
        let dir = package(Source::Directory("x".into()), false);
        let link = package(Source::Link, false);
        for (p, allowed, rule) in [
            (&git, false, "git-dependency"),
            (&remote, false, "remote-dependency"),
            (&file, true, "file-dependency"),
            (&dir, true, "directory-dependency"),
            (&link, true, "directory-dependency"),
        ] {
            let (ok, f) = d.judge(p).unwrap();
            assert_eq!((ok, f.rule.as_str()), (allowed, rule), "{:?}", p.source);
        }
        let (_, f) = d.judge(&git).unwrap();
        assert!(f.message.contains("allow-git=none"), "{}", f.message);
        let root = InstallSources {
            git: Allow::Root,
            remote: Allow::All,
            file: Allow::None,
            directory: Allow::Root,
        };
        assert!(
            root.judge(&git).unwrap().0,
            "direct git dependency under root"
        );
        assert!(!root.judge(&package(git.source.clone(), false)).unwrap().0);
        assert!(root.judge(&remote).unwrap().0);
        assert!(!root.judge(&file).unwrap().0);
        assert!(!root.judge(&dir).unwrap().0);
        let registry = package(Source::Registry { resolved: None }, false);
        assert!(d.judge(&registry).is_none());
        assert!(d.judge(&package(Source::Bundled, false)).is_none());
    }
}
