//! The client's policy file (TOML):
//!
//! ```toml
//! # Registries whose event signatures are accepted (verifier keys named
//! # after the registry host, from `gatelog keygen --role registry`).
//! registries = ["registry.npmjs.org+1a2b3c4d+AQ…"]
//! # The registry of lockfile entries without a `resolved` URL (default
//! # https://registry.npmjs.org; `--registry` overrides it).
//! registry = "https://registry.npmjs.org"
//! # npm's install-source controls (all, none or root); npm 12's defaults.
//! allow_git = "none"
//! allow_remote = "none"
//! allow_file = "all"
//! allow_directory = "all"
//!
//! [policy]                      # gatelog_core::policy::Policy; all optional
//! require_signing_device = true
//! accept_totp = false
//! accept_sms = false
//! allow_direct = ["@acme/legacy-*"]
//! skip = ["@internal/*"]
//! [[policy.trusted_publishers]]
//! packages = "@acme/*"
//! issuer = "https://token.actions.githubusercontent.com"
//! repository = "acme/monorepo"
//! ```

use std::path::Path;

use gatelog_core::VerifierKey;
use gatelog_core::policy::Policy;
use serde::Deserialize;

use crate::verify::sources::{Allow, InstallSources};

/// The parsed file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Accepted registry keys (text form).
    #[serde(default)]
    pub registries: Vec<String>,
    /// The registry (origin or host) of entries without a `resolved` URL.
    #[serde(default)]
    pub registry: Option<String>,
    /// The release policy.
    #[serde(default)]
    pub policy: Policy,
    /// `--allow-git`.
    #[serde(default)]
    pub allow_git: Option<Allow>,
    /// `--allow-remote`.
    #[serde(default)]
    pub allow_remote: Option<Allow>,
    /// `--allow-file`.
    #[serde(default)]
    pub allow_file: Option<Allow>,
    /// `--allow-directory`.
    #[serde(default)]
    pub allow_directory: Option<Allow>,
}

/// Why the policy file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum PolicyFileError {
    /// Unreadable.
    #[error("policy file {0}: {1}")]
    Read(String, std::io::Error),
    /// Not valid TOML for this schema (the message names line and key).
    #[error("policy file {0}: {1}")]
    Parse(String, String),
    /// A registry key is malformed.
    #[error("policy file {0}: registry key {1:?}: {2}")]
    Key(String, String, String),
    /// `registry` does not name a registry.
    #[error("policy file {0}: registry: {1}")]
    Registry(String, String),
}

/// A validated policy file.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The release policy.
    pub policy: Policy,
    /// Accepted registry keys.
    pub keys: Vec<VerifierKey>,
    /// The registry host of entries without a `resolved` URL, if set.
    pub registry: Option<String>,
    /// The install-source controls, npm 12's defaults where not set.
    pub install: InstallSources,
}

impl PolicyFile {
    /// Reads and validates a policy file.
    pub fn load(path: &Path) -> Result<Loaded, PolicyFileError> {
        let name = path.display().to_string();
        let text = crate::files::read_text_limited(path, crate::files::MAX_SMALL_FILE)
            .map_err(|e| PolicyFileError::Read(name.clone(), e))?;
        PolicyFile::parse_all(&name, &text)
    }

    /// Parses and validates the text of a policy file called `name`: the
    /// policy and the registry keys.
    pub fn parse(name: &str, text: &str) -> Result<(Policy, Vec<VerifierKey>), PolicyFileError> {
        let loaded = PolicyFile::parse_all(name, text)?;
        Ok((loaded.policy, loaded.keys))
    }

    /// Parses and validates the text of a policy file called `name`.
    pub fn parse_all(name: &str, text: &str) -> Result<Loaded, PolicyFileError> {
        let name = name.to_owned();
        let file: PolicyFile = toml::from_str(text)
            .map_err(|e| PolicyFileError::Parse(name.clone(), e.to_string()))?;
        let keys = file
            .registries
            .iter()
            .map(|k| {
                VerifierKey::parse(k)
                    .map_err(|e| PolicyFileError::Key(name.clone(), k.clone(), e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let registry = match &file.registry {
            Some(r) => Some(
                crate::registry::host_of(r)
                    .map_err(|e| PolicyFileError::Registry(name.clone(), e))?,
            ),
            None => None,
        };
        let d = InstallSources::default();
        let install = InstallSources {
            git: file.allow_git.unwrap_or(d.git),
            remote: file.allow_remote.unwrap_or(d.remote),
            file: file.allow_file.unwrap_or(d.file),
            directory: file.allow_directory.unwrap_or(d.directory),
        };
        Ok(Loaded {
            policy: file.policy,
            keys,
            registry,
            install,
        })
    }
}
