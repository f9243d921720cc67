//! The evaluation of one release against a policy.

use super::config::{Policy, TrustedPublisherRule};
use super::steps::DeviceSignatureCheck;
use super::verdict::{Finding, LoggedEvent, Rule, Verdict};
use crate::event::{
    Approve, DeviceChange, Event, EventBody, EventType, Integrity, PackageName, Publish, Stage, Via,
};
use crate::tree::LeafIndex;
use semver::Version;
use std::collections::BTreeSet;

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

/// Judges `package@version` under `policy`.
///
/// `events` should hold every logged event of `package@version` and the
/// `device-register` / `device-revoke` events of the devices its approvals
/// used (what the log's release bundle holds); anything else is ignored.
/// `expected` is the digest the installer expects (the lockfile's
/// `integrity`), compared with every logged digest when given.
///
/// The last `publish` (highest leaf index) is judged: a republish
/// supersedes earlier attempts, so a release passes if its last publish and
/// the approval and stage it references pass. Events of the chain must come
/// from the registry of that publish. [`Policy::skip`] is not consulted:
/// callers check [`Policy::skips`] before fetching anything.
pub fn evaluate(
    policy: &Policy,
    package: &PackageName,
    version: &Version,
    expected: Option<&Integrity>,
    events: &[LoggedEvent],
) -> Verdict {
    let mut judge = Judge::new(policy, package, version, events);
    judge.run(expected);
    judge.verdict()
}

/// The judge of one release: the checks [`evaluate`] runs, also run one
/// step at a time by [`super::steps`].
pub(super) struct Judge<'a> {
    policy: &'a Policy,
    package: &'a PackageName,
    version: &'a Version,
    events: &'a [LoggedEvent],
    findings: Vec<Finding>,
}

/// A resolved link of the chain: the entry and its body.
pub(super) type Link<'a, T> = (&'a LoggedEvent, &'a T);

impl<'a> Judge<'a> {
    pub(super) fn new(
        policy: &'a Policy,
        package: &'a PackageName,
        version: &'a Version,
        events: &'a [LoggedEvent],
    ) -> Judge<'a> {
        Judge {
            policy,
            package,
            version,
            events,
            findings: Vec::new(),
        }
    }

    pub(super) fn verdict(self) -> Verdict {
        Verdict {
            findings: self.findings,
        }
    }

    /// The entry at `index` of this release, if its body is what `pick`
    /// wants.
    pub(super) fn entry<T>(
        &self,
        index: LeafIndex,
        pick: impl Fn(&'a EventBody) -> Option<&'a T>,
    ) -> Option<Link<'a, T>> {
        let events = self.events;
        events
            .iter()
            .filter(|e| e.index == index && self.of_release(&e.event))
            .find_map(|e| pick(&e.event.body).map(|b| (e, b)))
    }

    fn report(
        &mut self,
        rule: Rule,
        message: String,
        evidence: impl IntoIterator<Item = LeafIndex>,
    ) {
        let evidence: BTreeSet<LeafIndex> = evidence.into_iter().collect();
        self.findings.push(Finding {
            rule,
            message,
            evidence: evidence.into_iter().collect(),
        });
    }

    /// Whether `e` is an event of this package and version (any registry).
    pub(super) fn of_release(&self, e: &Event) -> bool {
        e.package == *self.package && e.version() == Some(self.version)
    }

    pub(super) fn release(&self) -> String {
        format!("{}@{}", self.package, self.version)
    }

    fn run(&mut self, expected: Option<&Integrity>) {
        let events = self.events;
        // The last publish; on equal indexes (contradictory input) the last
        // one given.
        let publish = events
            .iter()
            .filter(|e| self.of_release(&e.event))
            .filter_map(|e| match &e.event.body {
                EventBody::Publish(p) => Some((e, p)),
                _ => None,
            })
            .max_by_key(|(e, _)| e.index);

        let Some(publish) = publish else {
            let staged = events
                .iter()
                .filter(|e| self.of_release(&e.event) && e.event.event_type() == EventType::Stage)
                .count();
            let note = if staged > 0 {
                format!(" (staged {staged} time(s), never published)")
            } else {
                String::new()
            };
            self.report(
                Rule::NotLogged,
                format!("no publish event of {} is in the log{note}", self.release()),
                [],
            );
            self.check_unpublished(None);
            return;
        };

        let (approve, stages) = self.check_chain(publish);
        self.check_integrity(publish, approve, &stages, expected);
        if let Some(approve) = approve
            && let Some(check) = self.check_device(approve)
            && let Some(finding) = check.check()
        {
            self.findings.push(finding);
        }
        self.check_publisher(publish, &stages);
        self.check_unpublished(Some(publish.0));
    }

    /// Checks the publish and its references (`publish-without-approval`);
    /// returns the approval and the stages that resolved, for the checks
    /// that follow.
    pub(super) fn check_chain(
        &mut self,
        publish: Link<'a, Publish>,
    ) -> (Option<Link<'a, Approve>>, Vec<Link<'a, Stage>>) {
        let (p_entry, p) = publish;
        let pi = p_entry.index;
        let required = self.policy.requires_staging(self.package.as_str());
        let why_required = "staging is required for this package";

        if p.via == Via::Direct && required {
            self.report(
                Rule::PublishWithoutApproval,
                format!(
                    "publish #{pi} of {} went out directly (via: direct), bypassing staging and approval; {why_required}",
                    self.release()
                ),
                [pi],
            );
        } else if required {
            let missing: Vec<&str> = [
                ("stage", p.stage.is_none()),
                ("approve", p.approve.is_none()),
            ]
            .into_iter()
            .filter_map(|(field, absent)| absent.then_some(field))
            .collect();
            if !missing.is_empty() {
                self.report(
                    Rule::PublishWithoutApproval,
                    format!(
                        "publish #{pi} of {} has no {} reference; {why_required}",
                        self.release(),
                        missing.join(" or ")
                    ),
                    [pi],
                );
            }
        }

        // References that are present must hold up, required or not.
        let approve = p.approve.and_then(|a| {
            self.resolve(p_entry, "approve", a, |body| match body {
                EventBody::Approve(b) => Some(b),
                _ => None,
            })
        });
        let publish_stage = p.stage.and_then(|s| {
            self.resolve(p_entry, "stage", s, |body| match body {
                EventBody::Stage(b) => Some(b),
                _ => None,
            })
        });
        let approved_stage = approve.and_then(|(a_entry, a)| {
            self.resolve(a_entry, "stage", a.stage, |body| match body {
                EventBody::Stage(b) => Some(b),
                _ => None,
            })
        });
        if let (Some(s), Some((a_entry, a))) = (p.stage, approve)
            && s != a.stage
        {
            self.report(
                Rule::PublishWithoutApproval,
                format!(
                    "publish #{pi} names stage #{s}, but the approval #{} it names approved stage #{}",
                    a_entry.index, a.stage
                ),
                self.present([pi, a_entry.index, s, a.stage]),
            );
        }

        let mut stages: Vec<Link<'a, Stage>> = Vec::new();
        for stage in [publish_stage, approved_stage].into_iter().flatten() {
            if !stages.iter().any(|(e, _)| e.index == stage.0.index) {
                stages.push(stage);
            }
        }
        (approve, stages)
    }

    /// The entry at `target` that `field` of `from` references, if it is of
    /// the right type (`pick` returns its body) and about this release on
    /// the same registry; else reports `publish-without-approval`. A
    /// reference to an entry not logged before `from` is reported too, but
    /// the entry is still returned so that its other problems show.
    fn resolve<T>(
        &mut self,
        from: &'a LoggedEvent,
        field: &str,
        target: LeafIndex,
        pick: impl Fn(&'a EventBody) -> Option<&'a T>,
    ) -> Option<Link<'a, T>> {
        let events = self.events;
        let kind = from.event.event_type();
        let fi = from.index;
        let mut candidates = events.iter().filter(|e| e.index == target).peekable();
        if candidates.peek().is_none() {
            self.report(
                Rule::PublishWithoutApproval,
                format!(
                    "{kind} #{fi} references {field} #{target}, which is not among the events of the release"
                ),
                [fi],
            );
            return None;
        }
        let mut first_other: Option<&LoggedEvent> = None;
        for candidate in candidates {
            let e = &candidate.event;
            match pick(&e.body) {
                Some(body) if self.of_release(e) && e.registry == from.event.registry => {
                    if candidate.index >= fi {
                        self.report(
                            Rule::PublishWithoutApproval,
                            format!(
                                "{kind} #{fi} references {field} #{target}, which was logged after it"
                            ),
                            [fi, target],
                        );
                    }
                    return Some((candidate, body));
                }
                _ => {
                    first_other.get_or_insert(candidate);
                }
            }
        }
        let what = first_other.map_or_else(String::new, |other| {
            let e = &other.event;
            let version = e.version().map_or_else(String::new, |v| format!("@{v}"));
            format!(
                "; it is an event of type {} about {}{version} from {}",
                e.event_type(),
                e.package,
                e.registry
            )
        });
        self.report(
            Rule::PublishWithoutApproval,
            format!(
                "{kind} #{fi} references #{target} as its {field}, but #{target} is not a {field} event of {} from {}{what}",
                self.release(),
                from.event.registry
            ),
            [fi, target],
        );
        None
    }

    /// The indexes among `indexes` that are entries of the input.
    fn present(&self, indexes: impl IntoIterator<Item = LeafIndex>) -> Vec<LeafIndex> {
        indexes
            .into_iter()
            .filter(|i| self.events.iter().any(|e| e.index == *i))
            .collect()
    }

    /// Compares the digests of the publish, the approval and stages it
    /// references and `expected`. A publish that references no approval
    /// while the version was approved, only as other tarballs, before it
    /// is a switched tarball too.
    pub(super) fn check_integrity(
        &mut self,
        publish: Link<'a, Publish>,
        approve: Option<Link<'a, Approve>>,
        stages: &[Link<'a, Stage>],
        expected: Option<&Integrity>,
    ) {
        let mut logged: Vec<(&'static str, LeafIndex, &Integrity)> =
            vec![("publish", publish.0.index, &publish.1.integrity)];
        if let Some((e, a)) = approve {
            logged.push(("approve", e.index, &a.integrity));
        } else {
            let approved: Vec<(&'static str, LeafIndex, &Integrity)> = self
                .events
                .iter()
                .filter(|e| {
                    e.index < publish.0.index
                        && self.of_release(&e.event)
                        && e.event.registry == publish.0.event.registry
                })
                .filter_map(|e| match &e.event.body {
                    EventBody::Approve(a) => Some(("approve", e.index, &a.integrity)),
                    _ => None,
                })
                .collect();
            if !approved.iter().any(|(_, _, i)| *i == &publish.1.integrity) {
                logged.extend(approved);
            }
        }
        for (e, s) in stages {
            logged.push(("stage", e.index, &s.integrity));
        }
        let reference = expected.unwrap_or(&publish.1.integrity);
        self.check_digests(&logged, reference, expected);
    }

    /// Reports `integrity-mismatch` unless every digest of `logged` is
    /// `reference`.
    pub(super) fn check_digests(
        &mut self,
        logged: &[(&'static str, LeafIndex, &Integrity)],
        reference: &Integrity,
        expected: Option<&Integrity>,
    ) {
        let agree = logged.iter().all(|(_, _, i)| *i == reference);
        if agree {
            return;
        }
        let mut parts: Vec<String> = Vec::new();
        if let Some(expected) = expected {
            parts.push(format!("expected {expected}"));
        }
        parts.extend(
            logged
                .iter()
                .map(|(kind, index, integrity)| format!("{kind} #{index} has {integrity}")),
        );
        self.report(
            Rule::IntegrityMismatch,
            format!(
                "tarball digests of {} differ: {}",
                self.release(),
                parts.join("; ")
            ),
            logged.iter().map(|(_, index, _)| *index),
        );
    }

    /// Checks the approving device: its kind and its registration history;
    /// returns the device signature check, if there is a signature to
    /// verify, for the caller to run (now or on another core).
    pub(super) fn check_device(
        &mut self,
        approve: Link<'a, Approve>,
    ) -> Option<DeviceSignatureCheck> {
        let events = self.events;
        let (a_entry, a) = approve;
        let ai = a_entry.index;
        let device = &a.device;
        let who = format!(
            "device {:?} ({}) of maintainer {}",
            device.id, device.kind, a.maintainer
        );

        if let Some(why) = self.policy.refuses(device.kind) {
            self.report(
                Rule::WeakSecondFactor,
                format!("approval #{ai} used {who}; {why}"),
                [ai],
            );
        }

        // The device's history on the approval's registry, any package.
        // (entry, change, whether it is a register rather than a revoke)
        let history: Vec<(&'a LoggedEvent, &'a DeviceChange, bool)> = events
            .iter()
            .filter_map(|e| {
                let (change, register) = match &e.event.body {
                    EventBody::DeviceRegister(c) => (c, true),
                    EventBody::DeviceRevoke(c) => (c, false),
                    _ => return None,
                };
                (e.event.registry == a_entry.event.registry
                    && change.maintainer == a.maintainer
                    && change.device.id == device.id)
                    .then_some((e, change, register))
            })
            .collect();
        let register = history
            .iter()
            .filter(|(e, _, register)| *register && e.index < ai)
            .max_by_key(|(e, _, _)| e.index)
            .map(|(e, c, _)| (*e, *c));

        let mut unknown = false;
        match register {
            None => {
                unknown = true;
                let later: Vec<LeafIndex> = history
                    .iter()
                    .filter(|(e, _, register)| *register && e.index >= ai)
                    .map(|(e, _, _)| e.index)
                    .collect();
                let note = match later.first() {
                    Some(first) => format!(" (it was registered only later, at #{first})"),
                    None => String::new(),
                };
                self.report(
                    Rule::UnknownDevice,
                    format!("approval #{ai} used {who}, which has no device-register logged before it{note}"),
                    std::iter::once(ai).chain(later),
                );
            }
            Some((r_entry, r)) => {
                let ri = r_entry.index;
                let revokes: Vec<LeafIndex> = history
                    .iter()
                    .filter(|(e, _, register)| !*register && e.index > ri && e.index < ai)
                    .map(|(e, _, _)| e.index)
                    .collect();
                if let Some(first) = revokes.first() {
                    unknown = true;
                    self.report(
                        Rule::UnknownDevice,
                        format!(
                            "approval #{ai} used {who}, which was revoked at #{first} after its registration at #{ri}"
                        ),
                        [ai, ri].into_iter().chain(revokes.iter().copied()),
                    );
                }
                if r.device.kind != device.kind {
                    unknown = true;
                    self.report(
                        Rule::UnknownDevice,
                        format!(
                            "approval #{ai} names {who}, but #{ri} registered that device as {}",
                            r.device.kind
                        ),
                        [ai, ri],
                    );
                }
            }
        }

        let signs = device.kind.signs() || register.is_some_and(|(_, r)| r.device.kind.signs());
        if !signs {
            return None;
        }
        if a.device_signature.is_none() {
            self.report(
                Rule::MissingDeviceSignature,
                format!("approval #{ai} from signing {who} carries no device signature"),
                [ai],
            );
            return None;
        }
        // The leaf hash the device signed over: that of the stage entry the
        // approval references. A missing stage was reported by the chain
        // check; prefer the entry that is a stage of this release.
        let stage_entry = events
            .iter()
            .filter(|e| e.index == a.stage)
            .max_by_key(|e| self.of_release(&e.event) && e.event.event_type() == EventType::Stage);
        let stage_entry = stage_entry?;
        match register.and_then(|(e, r)| r.device.public_key.map(|k| (e, k))) {
            Some((r_entry, key)) => {
                let mut evidence = vec![ai, r_entry.index, stage_entry.index];
                evidence.sort_unstable();
                evidence.dedup();
                return Some(DeviceSignatureCheck {
                    approve: a.clone(),
                    package: a_entry.event.package.clone(),
                    stage_leaf_hash: stage_entry.leaf_hash,
                    key,
                    finding: Finding {
                        rule: Rule::BadDeviceSignature,
                        message: format!(
                            "the device signature of approval #{ai} does not verify with the key registered at #{} over the approval statement for stage #{} (leaf hash {})",
                            r_entry.index, stage_entry.index, stage_entry.leaf_hash
                        ),
                        evidence,
                    },
                });
            }
            // No key to check with: already failing as an unknown device,
            // unless the registration lacks a key it should have.
            None if unknown => {}
            None => self.report(
                Rule::BadDeviceSignature,
                format!(
                    "the device signature of approval #{ai} cannot be verified: no key was registered for {who}"
                ),
                std::iter::once(ai).chain(register.map(|(e, _)| e.index)),
            ),
        }
        None
    }

    pub(super) fn check_publisher(
        &mut self,
        publish: Link<'a, Publish>,
        stages: &[Link<'a, Stage>],
    ) {
        let rules: Vec<&TrustedPublisherRule> =
            self.policy.publisher_rules(self.package.as_str()).collect();
        if rules.is_empty() {
            return;
        }
        if stages.is_empty() {
            self.report(
                Rule::UnexpectedPublisher,
                format!(
                    "publish #{} of {} names no logged stage, so its publisher is unknown; trusted publishers: {}",
                    publish.0.index,
                    self.release(),
                    allowed(&rules)
                ),
                [publish.0.index],
            );
            return;
        }
        self.check_stage_publishers(stages);
    }

    /// Reports each stage whose publisher no applicable trusted-publisher
    /// rule allows (none when no rule applies).
    pub(super) fn check_stage_publishers(&mut self, stages: &[Link<'a, Stage>]) {
        let rules: Vec<&TrustedPublisherRule> =
            self.policy.publisher_rules(self.package.as_str()).collect();
        if rules.is_empty() {
            return;
        }
        for (e, s) in stages {
            if rules.iter().any(|r| r.allows(&s.publisher)) {
                continue;
            }
            let p = &s.publisher;
            let field = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
            self.report(
                Rule::UnexpectedPublisher,
                format!(
                    "stage #{} of {} came from {} {} (issuer {}, repository {}, workflow {}); trusted publishers: {}",
                    e.index,
                    self.release(),
                    p.kind,
                    p.subject,
                    field(&p.issuer),
                    field(&p.repository),
                    field(&p.workflow),
                    allowed(&rules)
                ),
                [e.index],
            );
        }
    }

    /// Reports `unpublish` events of the version: on the registry of the
    /// judged publish when there is one, else on any registry.
    fn check_unpublished(&mut self, publish: Option<&'a LoggedEvent>) {
        let unpublishes: Vec<LeafIndex> = self
            .events
            .iter()
            .filter(|e| {
                self.of_release(&e.event)
                    && e.event.event_type() == EventType::Unpublish
                    && publish.is_none_or(|p| p.event.registry == e.event.registry)
            })
            .map(|e| e.index)
            .collect();
        if let Some(first) = unpublishes.first() {
            self.report(
                Rule::Unpublished,
                format!("{} was unpublished at #{first}", self.release()),
                unpublishes.clone(),
            );
        }
    }
}

/// The trusted publishers of `rules`, for messages.
fn allowed(rules: &[&TrustedPublisherRule]) -> String {
    rules
        .iter()
        .map(|r| match &r.workflow {
            Some(w) => format!("{} {} {}", r.issuer, r.repository, w),
            None => format!("{} {}", r.issuer, r.repository),
        })
        .collect::<Vec<_>>()
        .join(" | ")
}
