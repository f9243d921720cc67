//! Typed builders for every event type: [`SampleRegistry::event`] signs any
//! [`EventBody`], and the methods here build the common shapes from
//! [`SampleDevice`]s, digests and leaf indexes. Every builder panics on an
//! event that [`Event::validate`] refuses, which only a bad argument (an
//! invalid package name or version, a `totp` device with a key) can cause.

use ed25519_dalek::SigningKey;
use semver::Version;

use super::{SampleRegistry, device_key, rfc3339};
use gatelog_core::dsse::Envelope;
use gatelog_core::event::{
    ApprovalContext, Approve, Device, DeviceChange, DeviceKind, DeviceRef, Event, EventBody,
    EventError, Integrity, MaintainerChange, PackageName, PolicyChange, Publish, Publisher,
    PublisherKind, Registry, Reject, Stage, StagedPublishing, Timestamp, TrustedPublisher,
    TrustedPublisherMode, VersionChange, Via, sign_approval,
};
use gatelog_core::hash::Hash;
use gatelog_core::tree::LeafIndex;

/// The OIDC issuer of GitHub Actions.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The workflow every sample repository releases from.
pub const RELEASE_WORKFLOW: &str = ".github/workflows/release.yml";

/// A maintainer's second factor in the simulation: a signing device with
/// its key, or a code device (`totp`, `sms`) without one.
#[derive(Clone, Debug)]
pub struct SampleDevice {
    /// Registry-assigned device ID.
    pub id: String,
    /// Kind of second factor.
    pub kind: DeviceKind,
    /// The device's key; `Some` exactly for signing kinds.
    pub key: Option<SigningKey>,
    /// The name the maintainer gave it.
    pub label: Option<String>,
}

impl SampleDevice {
    /// A signing device (`ed25519` or `webauthn`) whose key is
    /// [`device_key`]`(seed)`.
    pub fn signing(id: &str, kind: DeviceKind, seed: u8) -> SampleDevice {
        SampleDevice {
            id: id.to_owned(),
            kind,
            key: Some(device_key(seed)),
            label: None,
        }
    }

    /// A device that cannot sign (`totp` or `sms`).
    pub fn code(id: &str, kind: DeviceKind) -> SampleDevice {
        SampleDevice {
            id: id.to_owned(),
            kind,
            key: None,
            label: None,
        }
    }

    /// The same device with a label.
    pub fn labelled(self, label: &str) -> SampleDevice {
        SampleDevice {
            label: Some(label.to_owned()),
            ..self
        }
    }

    /// The device as `device-register` logs it: with its public key.
    pub fn device(&self) -> Device {
        Device {
            id: self.id.clone(),
            kind: self.kind,
            public_key: self.key.as_ref().map(SigningKey::verifying_key),
            label: self.label.clone(),
        }
    }

    /// The device as approvals and rejections name it.
    pub fn reference(&self) -> DeviceRef {
        DeviceRef {
            id: self.id.clone(),
            kind: self.kind,
        }
    }
}

/// The publisher of a GitHub Actions run of [`RELEASE_WORKFLOW`] in
/// `repository` on `git_ref` (e.g. `refs/tags/v1.2.3`). The commit is
/// derived from both, so it is stable across runs.
pub fn github_publisher(repository: &str, git_ref: &str) -> Publisher {
    let commit = Hash::sha256(format!("{repository}\n{git_ref}").as_bytes()).to_hex();
    Publisher {
        kind: PublisherKind::Oidc,
        issuer: Some(GITHUB_ACTIONS_ISSUER.to_owned()),
        subject: format!("repo:{repository}:ref:{git_ref}"),
        repository: Some(repository.to_owned()),
        workflow: Some(RELEASE_WORKFLOW.to_owned()),
        git_ref: Some(git_ref.to_owned()),
        commit: Some(commit[..40].to_owned()),
    }
}

/// A trusted publisher entry for [`RELEASE_WORKFLOW`] in `repository` on
/// GitHub Actions.
pub fn trusted_github(repository: &str, mode: TrustedPublisherMode) -> TrustedPublisher {
    TrustedPublisher {
        issuer: GITHUB_ACTIONS_ISSUER.to_owned(),
        repository: repository.to_owned(),
        workflow: RELEASE_WORKFLOW.to_owned(),
        mode,
    }
}

/// An approval for [`SampleRegistry::approve_with`].
#[derive(Clone, Debug)]
pub struct Approval<'a> {
    /// Package approved.
    pub package: &'a str,
    /// Version approved.
    pub version: &'a str,
    /// Digest of the staged tarball.
    pub integrity: Integrity,
    /// Leaf index of the `stage` event.
    pub stage: LeafIndex,
    /// Leaf hash of the `stage` entry, which the device signs over.
    pub stage_leaf_hash: Hash,
    /// The approving maintainer.
    pub maintainer: &'a str,
    /// The device named in the approval.
    pub device: &'a SampleDevice,
    /// The key that signs the approval statement: normally the device's own
    /// key, another key to make a signature that fails, `None` for no
    /// `device_signature` (the only choice for `totp` and `sms`).
    pub signer: Option<&'a SigningKey>,
    /// Where the approval came from.
    pub context: Option<ApprovalContext>,
    /// Registry time, seconds since the Unix epoch.
    pub time: i64,
}

fn package_name(package: &str) -> PackageName {
    PackageName::parse(package).expect("sample package name is valid")
}

fn version(version: &str) -> Version {
    Version::parse(version).expect("sample version is valid SemVer")
}

impl SampleRegistry {
    /// Signs an event of `package` at `time` (seconds since the Unix
    /// epoch), or says why it is invalid.
    pub fn try_event(
        &self,
        package: &str,
        time: i64,
        body: EventBody,
    ) -> Result<Envelope, EventError> {
        let event = Event {
            package: PackageName::parse(package)?,
            registry: Registry::parse(&self.origin)?,
            time: Timestamp::parse(&rfc3339(time))?,
            body,
        };
        event.sign(self.key.signing_key())
    }

    /// Signs an event of `package` at `time`; panics if it is invalid.
    pub fn event(&self, package: &str, time: i64, body: EventBody) -> Envelope {
        self.try_event(package, time, body)
            .unwrap_or_else(|e| panic!("sample event of {package} is invalid: {e}"))
    }

    /// `maintainer-add`: `by` adds `maintainer` to `package`.
    pub fn maintainer_add(&self, package: &str, maintainer: &str, by: &str, time: i64) -> Envelope {
        let change = MaintainerChange {
            maintainer: maintainer.to_owned(),
            by: by.to_owned(),
        };
        self.event(package, time, EventBody::MaintainerAdd(change))
    }

    /// `maintainer-remove`: `by` removes `maintainer` from `package`.
    pub fn maintainer_remove(
        &self,
        package: &str,
        maintainer: &str,
        by: &str,
        time: i64,
    ) -> Envelope {
        let change = MaintainerChange {
            maintainer: maintainer.to_owned(),
            by: by.to_owned(),
        };
        self.event(package, time, EventBody::MaintainerRemove(change))
    }

    /// `policy-change`: the new publishing rules of `package`.
    pub fn policy_change(
        &self,
        package: &str,
        staged_publishing: StagedPublishing,
        trusted_publishers: &[TrustedPublisher],
        time: i64,
    ) -> Envelope {
        let change = PolicyChange {
            staged_publishing,
            trusted_publishers: trusted_publishers.to_vec(),
        };
        self.event(package, time, EventBody::PolicyChange(change))
    }

    /// `device-register` of any kind of device (with its key for signing
    /// kinds), logged under `package`.
    pub fn register(
        &self,
        package: &str,
        maintainer: &str,
        device: &SampleDevice,
        time: i64,
    ) -> Envelope {
        let change = DeviceChange {
            maintainer: maintainer.to_owned(),
            device: device.device(),
        };
        self.event(package, time, EventBody::DeviceRegister(change))
    }

    /// `device-revoke`, logged under `package`.
    pub fn revoke(
        &self,
        package: &str,
        maintainer: &str,
        device: &SampleDevice,
        time: i64,
    ) -> Envelope {
        let change = DeviceChange {
            maintainer: maintainer.to_owned(),
            device: device.device(),
        };
        self.event(package, time, EventBody::DeviceRevoke(change))
    }

    /// `stage` of a tarball with digest `integrity` by any `publisher`.
    pub fn stage_from(
        &self,
        package: &str,
        version_text: &str,
        integrity: &Integrity,
        publisher: &Publisher,
        time: i64,
    ) -> Envelope {
        let stage = Stage {
            version: version(version_text),
            integrity: *integrity,
            publisher: publisher.clone(),
            provenance: Some(Hash::sha256(integrity.digest())),
            dist_tag: Some("latest".to_owned()),
        };
        self.event(package, time, EventBody::Stage(stage))
    }

    /// `approve` with any kind of device; the statement is signed by
    /// `approval.signer`, if any.
    pub fn approve_with(&self, approval: &Approval<'_>) -> Envelope {
        let body = Approve {
            version: version(approval.version),
            integrity: approval.integrity,
            stage: approval.stage,
            maintainer: approval.maintainer.to_owned(),
            device: approval.device.reference(),
            device_signature: None,
            context: approval.context.clone(),
        };
        let device_signature = approval.signer.map(|key| {
            let statement =
                body.statement(&package_name(approval.package), &approval.stage_leaf_hash);
            sign_approval(key, &statement)
        });
        let body = Approve {
            device_signature,
            ..body
        };
        self.event(approval.package, approval.time, EventBody::Approve(body))
    }

    /// `publish` through staging, naming the stage and approval entries.
    pub fn publish_staged(
        &self,
        package: &str,
        version_text: &str,
        integrity: &Integrity,
        stage: LeafIndex,
        approve: LeafIndex,
        time: i64,
    ) -> Envelope {
        let publish = Publish {
            version: version(version_text),
            integrity: *integrity,
            dist_tag: "latest".to_owned(),
            stage: Some(stage),
            approve: Some(approve),
            via: Via::Staged,
        };
        self.event(package, time, EventBody::Publish(publish))
    }

    /// `publish` with `via: direct` of a tarball with digest `integrity`.
    pub fn publish_direct_integrity(
        &self,
        package: &str,
        version_text: &str,
        integrity: &Integrity,
        time: i64,
    ) -> Envelope {
        let publish = Publish {
            version: version(version_text),
            integrity: *integrity,
            dist_tag: "latest".to_owned(),
            stage: None,
            approve: None,
            via: Via::Direct,
        };
        self.event(package, time, EventBody::Publish(publish))
    }

    /// `reject` of the staged version at `stage`.
    pub fn reject(
        &self,
        package: &str,
        version_text: &str,
        stage: LeafIndex,
        maintainer: &str,
        device: &SampleDevice,
        time: i64,
    ) -> Envelope {
        let reject = Reject {
            version: version(version_text),
            stage,
            maintainer: maintainer.to_owned(),
            device: device.reference(),
        };
        self.event(package, time, EventBody::Reject(reject))
    }

    /// `unpublish` of a version by `by`.
    pub fn unpublish(&self, package: &str, version_text: &str, by: &str, time: i64) -> Envelope {
        let change = VersionChange {
            version: version(version_text),
            by: by.to_owned(),
        };
        self.event(package, time, EventBody::Unpublish(change))
    }

    /// `deprecate` of a version by `by`.
    pub fn deprecate(&self, package: &str, version_text: &str, by: &str, time: i64) -> Envelope {
        let change = VersionChange {
            version: version(version_text),
            by: by.to_owned(),
        };
        self.event(package, time, EventBody::Deprecate(change))
    }
}
