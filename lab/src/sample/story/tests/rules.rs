//! A reference reading of the monitor rules as the story's module docs
//! state them, with the default thresholds, so tests can check that each
//! chapter fires exactly its expected rules. Not the monitor: a spec.

use std::collections::{BTreeSet, HashMap};

use ed25519_dalek::VerifyingKey;

use gatelog_core::event::{
    Approve, DeviceKind, EventBody, Integrity, PolicyChange, PublisherKind, StagedPublishing,
    TrustedPublisherMode, Via,
};
use gatelog_core::policy::LoggedEvent;
use gatelog_core::tree::LeafIndex;

/// Approvals faster than this after their stage are rubber stamps.
const RUBBER_STAMP_SECONDS: i64 = 60;
/// Devices registered less recently than this before approving are new.
const NEW_DEVICE_SECONDS: i64 = 24 * 3600;
/// A publish less than this after a `maintainer-add` is suspicious.
const NEW_MAINTAINER_SECONDS: i64 = 24 * 3600;
/// The window and the most packages one publisher identity may stage in it.
const BURST_SECONDS: i64 = 3600;
const BURST_PACKAGES: usize = 3;

struct DeviceState {
    registered_at: i64,
    key: Option<VerifyingKey>,
    revoked: bool,
}

#[derive(Default)]
struct Judge {
    policies: HashMap<String, PolicyChange>,
    maintainers: HashMap<String, BTreeSet<String>>,
    added_at: HashMap<String, Vec<i64>>,
    devices: HashMap<(String, String), DeviceState>,
    /// Per package: the (maintainer, device) pairs that approved it.
    approvers: HashMap<String, BTreeSet<(String, String)>>,
    digests: HashMap<(String, String), Vec<Integrity>>,
    /// (time, identity, package) of every OIDC stage.
    stages_by: Vec<(i64, (String, String, String), String)>,
}

/// The rules each entry fires, in log order.
pub(super) fn fired(entries: &[LoggedEvent]) -> Vec<BTreeSet<&'static str>> {
    let mut judge = Judge::default();
    entries.iter().map(|e| judge.entry(entries, e)).collect()
}

impl Judge {
    fn entry(&mut self, entries: &[LoggedEvent], entry: &LoggedEvent) -> BTreeSet<&'static str> {
        let event = &entry.event;
        let package = event.package.as_str().to_owned();
        let t = event.time.get().unix_timestamp();
        let mut fired = BTreeSet::new();
        if let (Some(version), Some(integrity)) = (event.version(), event.integrity()) {
            let seen = self
                .digests
                .entry((package.clone(), version.to_string()))
                .or_default();
            if seen.iter().any(|d| d != integrity) {
                fired.insert("integrity-mismatch");
            }
            seen.push(*integrity);
        }
        match &event.body {
            EventBody::Stage(stage) => {
                let p = &stage.publisher;
                if let Some(policy) = self.policies.get(&package)
                    && !policy.trusted_publishers.is_empty()
                    && !policy.trusted_publishers.iter().any(|tp| {
                        p.issuer.as_deref() == Some(tp.issuer.as_str())
                            && p.repository.as_deref() == Some(tp.repository.as_str())
                            && p.workflow.as_deref() == Some(tp.workflow.as_str())
                    })
                {
                    fired.insert("unexpected-publisher");
                }
                if p.kind == PublisherKind::Oidc {
                    let field = |v: &Option<String>| v.clone().unwrap_or_default();
                    let identity = (field(&p.issuer), field(&p.repository), field(&p.workflow));
                    self.stages_by.push((t, identity.clone(), package.clone()));
                    let recent: BTreeSet<&String> = self
                        .stages_by
                        .iter()
                        .filter(|(when, who, _)| *who == identity && t - when < BURST_SECONDS)
                        .map(|(_, _, pkg)| pkg)
                        .collect();
                    if recent.len() > BURST_PACKAGES {
                        fired.insert("publisher-burst");
                    }
                }
            }
            EventBody::Approve(approve) => {
                self.approval(entries, &package, t, approve, &mut fired);
            }
            EventBody::Publish(publish) => {
                let required = self
                    .policies
                    .get(&package)
                    .is_some_and(|p| p.staged_publishing == StagedPublishing::Required);
                let unapproved = publish.via == Via::Direct
                    || publish.stage.is_none()
                    || publish.approve.is_none();
                if required && unapproved {
                    fired.insert("publish-without-approval");
                }
                let added = self.added_at.get(&package).into_iter().flatten();
                if added.into_iter().any(|a| t - a < NEW_MAINTAINER_SECONDS) {
                    fired.insert("policy-downgrade");
                }
            }
            EventBody::PolicyChange(change) => {
                if let Some(before) = self.policies.get(&package) {
                    let optional = before.staged_publishing == StagedPublishing::Required
                        && change.staged_publishing == StagedPublishing::Optional;
                    let promoted = change.trusted_publishers.iter().any(|tp| {
                        tp.mode == TrustedPublisherMode::Publish
                            && !before.trusted_publishers.iter().any(|old| {
                                old.mode == TrustedPublisherMode::Publish
                                    && (&old.issuer, &old.repository, &old.workflow)
                                        == (&tp.issuer, &tp.repository, &tp.workflow)
                            })
                    });
                    if optional || promoted {
                        fired.insert("policy-downgrade");
                    }
                }
                self.policies.insert(package, change.clone());
            }
            EventBody::MaintainerAdd(change) => {
                self.maintainers
                    .entry(package.clone())
                    .or_default()
                    .insert(change.maintainer.clone());
                self.added_at.entry(package).or_default().push(t);
            }
            EventBody::MaintainerRemove(change) => {
                self.maintainers
                    .entry(package)
                    .or_default()
                    .remove(&change.maintainer);
            }
            EventBody::DeviceRegister(change) => {
                let state = DeviceState {
                    registered_at: t,
                    key: change.device.public_key,
                    revoked: false,
                };
                self.devices
                    .insert((change.maintainer.clone(), change.device.id.clone()), state);
            }
            EventBody::DeviceRevoke(change) => {
                if let Some(state) = self
                    .devices
                    .get_mut(&(change.maintainer.clone(), change.device.id.clone()))
                {
                    state.revoked = true;
                }
            }
            EventBody::Reject(_) | EventBody::Unpublish(_) | EventBody::Deprecate(_) => {}
        }
        fired
    }

    fn approval(
        &mut self,
        entries: &[LoggedEvent],
        package: &str,
        t: i64,
        approve: &Approve,
        fired: &mut BTreeSet<&'static str>,
    ) {
        let device = (approve.maintainer.clone(), approve.device.id.clone());
        let known = self.devices.get(&device).filter(|d| !d.revoked);
        if known.is_none() {
            fired.insert("unknown-device");
        }
        let approvers = self.approvers.entry(package.to_owned()).or_default();
        let first_use = !approvers.is_empty() && !approvers.contains(&device);
        // An unknown device is reported as such, not also as new.
        if known.is_some()
            && (first_use || known.is_some_and(|d| t - d.registered_at < NEW_DEVICE_SECONDS))
        {
            fired.insert("new-device");
        }
        approvers.insert(device);
        let maintainers = self.maintainers.get(package);
        if !maintainers.is_some_and(|m| m.contains(&approve.maintainer)) {
            fired.insert("not-a-maintainer");
        }
        if approve.device.kind == DeviceKind::Sms {
            fired.insert("weak-second-factor");
        }
        let stage = &entries[usize::try_from(approve.stage.0).unwrap()];
        assert_eq!(stage.index, approve.stage);
        if t - stage.event.time.get().unix_timestamp() < RUBBER_STAMP_SECONDS {
            fired.insert("rubber-stamp");
        }
        if let (Some(key), Some(_)) = (known.and_then(|d| d.key), approve.device_signature)
            && approve
                .verify_device_signature(&stage.event.package, &stage.leaf_hash, &key)
                .is_err()
        {
            fired.insert("bad-device-signature");
        }
    }
}

/// The entry at `index`.
pub(super) fn at(entries: &[LoggedEvent], index: LeafIndex) -> &LoggedEvent {
    &entries[usize::try_from(index.0).unwrap()]
}
