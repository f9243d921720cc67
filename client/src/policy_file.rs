//! The client's policy file (TOML):
//!
//! ```toml
//! # Registries whose event signatures are accepted (verifier keys named
//! # after the registry host, from `gatelog keygen --role registry`).
//! registries = ["registry.npmjs.org+1a2b3c4d+AQ…"]
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

/// The parsed file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Accepted registry keys (text form).
    #[serde(default)]
    pub registries: Vec<String>,
    /// The release policy.
    #[serde(default)]
    pub policy: Policy,
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
}

impl PolicyFile {
    /// Reads and validates a policy file.
    pub fn load(path: &Path) -> Result<(Policy, Vec<VerifierKey>), PolicyFileError> {
        let name = path.display().to_string();
        let text = crate::files::read_text_limited(path, crate::files::MAX_SMALL_FILE)
            .map_err(|e| PolicyFileError::Read(name.clone(), e))?;
        PolicyFile::parse(&name, &text)
    }

    /// Parses and validates the text of a policy file called `name`.
    pub fn parse(name: &str, text: &str) -> Result<(Policy, Vec<VerifierKey>), PolicyFileError> {
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
        Ok((file.policy, keys))
    }
}
