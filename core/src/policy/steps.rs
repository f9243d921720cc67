//! The checks of [`evaluate`](super::evaluate()) one step of a release at a
//! time, for a follower of the log (the monitor) that judges each `stage`,
//! `approve` and `publish` as it is logged rather than a finished release.
//! Each step judges what that entry adds, with the rules and messages
//! [`evaluate`](super::evaluate()) uses: the stage's publisher; the
//! approval's digest against its stage, its device and its signature; the
//! publish's references and digests. Together the steps of a release's
//! chain reach the rules [`evaluate`](super::evaluate()) reaches on it,
//! except `not-logged` and `unpublished`, which are about the finished
//! release.

use super::config::Policy;
use super::evaluate::Judge;
use super::verdict::{Finding, LoggedEvent, Verdict};
use crate::event::{Approve, EventBody, PackageName};
use crate::hash::Hash;
use crate::tree::LeafIndex;
use ed25519_dalek::VerifyingKey;
use semver::Version;

/// A device signature to verify, and the `bad-device-signature` finding it
/// becomes if it does not. Verification is the costliest check, so
/// [`judge_approval`] hands it back for the caller to run where it likes.
#[derive(Clone, Debug)]
pub struct DeviceSignatureCheck {
    /// The approval carrying the signature.
    pub approve: Approve,
    /// The approval's package.
    pub package: PackageName,
    /// Leaf hash of the stage the approval references (what it signs).
    pub stage_leaf_hash: Hash,
    /// The key the device registered.
    pub key: VerifyingKey,
    /// The finding if the signature does not verify.
    pub finding: Finding,
}

impl DeviceSignatureCheck {
    /// Verifies the signature (strictly); the finding if it fails.
    pub fn check(self) -> Option<Finding> {
        self.approve
            .verify_device_signature(&self.package, &self.stage_leaf_hash, &self.key)
            .err()
            .map(|_| self.finding)
    }
}

/// Judges the `stage` logged at `stage`: `unexpected-publisher` when
/// trusted-publisher rules apply and none allows its publisher. Nothing if
/// `events` holds no stage of `package@version` at that index.
pub fn judge_stage(
    policy: &Policy,
    package: &PackageName,
    version: &Version,
    stage: LeafIndex,
    events: &[LoggedEvent],
) -> Verdict {
    let mut judge = Judge::new(policy, package, version, events);
    if let Some(link) = judge.entry(stage, |b| match b {
        EventBody::Stage(s) => Some(s),
        _ => None,
    }) {
        judge.check_stage_publishers(&[link]);
    }
    judge.verdict()
}

/// Judges the `approve` logged at `approve`: its digest against the stage
/// it references (when that stage of the release is in `events`), its
/// device's kind and registration history, and whether a signing device
/// signed. The signature itself is returned to verify, not verified.
/// Nothing if `events` holds no approval of `package@version` there.
pub fn judge_approval(
    policy: &Policy,
    package: &PackageName,
    version: &Version,
    approve: LeafIndex,
    events: &[LoggedEvent],
) -> (Verdict, Option<DeviceSignatureCheck>) {
    let mut judge = Judge::new(policy, package, version, events);
    let Some(link) = judge.entry(approve, |b| match b {
        EventBody::Approve(a) => Some(a),
        _ => None,
    }) else {
        return (judge.verdict(), None);
    };
    let (a_entry, a) = link;
    let stage = judge
        .entry(a.stage, |b| match b {
            EventBody::Stage(s) => Some(s),
            _ => None,
        })
        .filter(|(e, _)| e.event.registry == a_entry.event.registry);
    if let Some((s_entry, s)) = stage {
        let logged = [
            ("approve", a_entry.index, &a.integrity),
            ("stage", s_entry.index, &s.integrity),
        ];
        judge.check_digests(&logged, &s.integrity, None);
    }
    let check = judge.check_device(link);
    (judge.verdict(), check)
}

/// Judges the `publish` logged at `publish`: staging and approval where
/// the policy requires them, its references, the digests of the chain it
/// names, and, when it names no stage while trusted-publisher rules apply,
/// `unexpected-publisher`. Nothing if `events` holds no publish of `package@version`
/// there.
pub fn judge_publish(
    policy: &Policy,
    package: &PackageName,
    version: &Version,
    publish: LeafIndex,
    events: &[LoggedEvent],
) -> Verdict {
    let mut judge = Judge::new(policy, package, version, events);
    if let Some(link) = judge.entry(publish, |b| match b {
        EventBody::Publish(p) => Some(p),
        _ => None,
    }) {
        let (approve, stages) = judge.check_chain(link);
        judge.check_integrity(link, approve, &stages, None);
        // Stages were judged as they were logged; a publish naming none
        // has a publisher nobody vouched for.
        if stages.is_empty() {
            judge.check_publisher(link, &stages);
        }
    }
    judge.verdict()
}
