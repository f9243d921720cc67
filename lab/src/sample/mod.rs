//! A simulated registry: deterministic keys and correctly signed events, for
//! tests, the demo and load tools. Everything derives from seeds, so runs
//! are repeatable; nothing here reads a clock or a random source.
//!
//! - [`SampleRegistry`]: a registry key and builders for every event type
//!   (the typed ones in [`build`] take [`SampleDevice`]s and digests).
//! - [`story`]: the scripted history of a small npm organisation — six
//!   ordinary weeks, then the attacks of May 2026 — pulled step by step by
//!   the demo (over HTTP) and by golden tests.
//! - [`static_log`]: an in-memory c2sp.org/tlog-tiles log that writes the
//!   story (or anything else) exactly as the log server would serve it.

pub mod build;
pub mod static_log;
pub mod story;

#[cfg(test)]
mod tests;

pub use build::{
    Approval, GITHUB_ACTIONS_ISSUER, RELEASE_WORKFLOW, SampleDevice, github_publisher,
    trusted_github,
};
pub use static_log::StaticLog;
pub use story::{Chapter, Release, Step, Story, story_log};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use gatelog_core::dsse::Envelope;
use gatelog_core::event::{Event, EventError, Integrity, approval_statement, sign_approval};
use gatelog_core::hash::Hash;
use gatelog_core::keys::{SignatureType, SignerKey, VerifierKey};
use gatelog_core::tree::LeafIndex;

/// A registry that signs events with a key derived from a seed.
pub struct SampleRegistry {
    /// The registry's origin, e.g. `https://registry.example`.
    pub origin: String,
    key: SignerKey,
}

/// An RFC 3339 time from seconds since the epoch.
pub fn rfc3339(unix_seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// A signing device (e.g. a maintainer's security key) from a seed.
pub fn device_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed.wrapping_add(100); 32])
}

impl SampleRegistry {
    /// A registry at `https://<host>` whose key derives from `seed`.
    pub fn new(host: &str, seed: u8) -> SampleRegistry {
        let key = SignerKey::from_seed(host, SignatureType::Ed25519, &[seed; 32])
            .expect("sample host is a valid key name");
        SampleRegistry {
            origin: format!("https://{host}"),
            key,
        }
    }

    /// The verifier key a log allowlists for this registry.
    pub fn verifier_key(&self) -> VerifierKey {
        self.key.verifier()
    }

    /// Parses, validates and signs an event given as JSON text.
    pub fn sign_json(&self, json: &str) -> Result<Envelope, EventError> {
        Event::parse(json.as_bytes())?.sign(self.key.signing_key())
    }

    fn common(&self, package: &str, time: i64) -> String {
        format!(
            r#""package":"{package}","registry":"{}","time":"{}""#,
            self.origin,
            rfc3339(time)
        )
    }

    /// `stage` of `tarball` from a GitHub Actions workflow of `repo`.
    pub fn stage(
        &self,
        package: &str,
        version: &str,
        tarball: &[u8],
        repo: &str,
        time: i64,
    ) -> Envelope {
        let json = format!(
            r#"{{"type":"stage",{},"version":"{version}","integrity":"{}","publisher":{{"kind":"oidc","issuer":"https://token.actions.githubusercontent.com","subject":"repo:{repo}:ref:refs/tags/v{version}","repository":"{repo}","workflow":".github/workflows/release.yml"}},"dist_tag":"latest"}}"#,
            self.common(package, time),
            Integrity::of(tarball)
        );
        self.sign_json(&json).expect("sample stage is valid")
    }

    /// `device-register` of a signing (`ed25519`) device.
    pub fn device_register(
        &self,
        package: &str,
        maintainer: &str,
        device_id: &str,
        device: &SigningKey,
        time: i64,
    ) -> Envelope {
        let json = format!(
            r#"{{"type":"device-register",{},"maintainer":"{maintainer}","device":{{"id":"{device_id}","kind":"ed25519","public_key":"{}"}}}}"#,
            self.common(package, time),
            STANDARD.encode(device.verifying_key().as_bytes())
        );
        self.sign_json(&json)
            .expect("sample device-register is valid")
    }

    /// `approve` of a staged tarball; signed by `device` when given
    /// (an `ed25519` device), else a `totp` approval.
    #[allow(clippy::too_many_arguments)]
    pub fn approve(
        &self,
        package: &str,
        version: &str,
        tarball: &[u8],
        stage: LeafIndex,
        stage_leaf_hash: &Hash,
        maintainer: &str,
        device: Option<(&str, &SigningKey)>,
        time: i64,
    ) -> Envelope {
        let integrity = Integrity::of(tarball);
        let device_json = match device {
            Some((id, key)) => {
                let statement = approval_statement(
                    &gatelog_core::event::PackageName::parse(package).expect("sample package name"),
                    &semver::Version::parse(version).expect("sample version"),
                    &integrity,
                    stage_leaf_hash,
                );
                let sig = sign_approval(key, &statement);
                format!(
                    r#""device":{{"id":"{id}","kind":"ed25519"}},"device_signature":"{}""#,
                    STANDARD.encode(sig.to_bytes())
                )
            }
            None => r#""device":{"id":"phone","kind":"totp"}"#.to_owned(),
        };
        let json = format!(
            r#"{{"type":"approve",{},"version":"{version}","integrity":"{integrity}","stage":{},"maintainer":"{maintainer}",{device_json}}}"#,
            self.common(package, time),
            stage.0
        );
        self.sign_json(&json).expect("sample approve is valid")
    }

    /// `publish` through staging, naming the stage and approval entries.
    pub fn publish(
        &self,
        package: &str,
        version: &str,
        tarball: &[u8],
        stage: LeafIndex,
        approve: LeafIndex,
        time: i64,
    ) -> Envelope {
        let json = format!(
            r#"{{"type":"publish",{},"version":"{version}","integrity":"{}","dist_tag":"latest","stage":{},"approve":{},"via":"staged"}}"#,
            self.common(package, time),
            Integrity::of(tarball),
            stage.0,
            approve.0
        );
        self.sign_json(&json).expect("sample publish is valid")
    }

    /// `publish` with no staging at all (what a stolen token does).
    pub fn publish_direct(
        &self,
        package: &str,
        version: &str,
        tarball: &[u8],
        time: i64,
    ) -> Envelope {
        let json = format!(
            r#"{{"type":"publish",{},"version":"{version}","integrity":"{}","dist_tag":"latest","via":"direct"}}"#,
            self.common(package, time),
            Integrity::of(tarball)
        );
        self.sign_json(&json).expect("sample publish is valid")
    }
}
