//! The per-release rules, judged by the judge `gatelog verify` uses
//! ([`gatelog_core::policy`]): each `stage`, `approve` and `publish` is
//! judged as it is logged, from the events of its release and of the
//! approving device that the index keeps, under a [`Policy`] built from
//! this monitor's configuration and the package's logged policy. What the
//! judge finds becomes an alert under the matching [`RuleId`].

use gatelog_core::LeafIndex;
use gatelog_core::event::{Approve, DeviceKind, EventBody, Publish, Stage};
use gatelog_core::policy::{
    LoggedEvent, Policy, Rule, TrustedPublisherRule, Verdict, judge_approval, judge_publish,
    judge_stage,
};

use super::{Engine, Entry, Findings, PendingSignature, RuleConfig, registry};
use crate::alert::{RuleId, Severity};
use crate::index::{DeviceRecord, KeptEvent, PackageRecord, RecordSource};

/// The policy a release of `package` is judged by: staging where the
/// package's logged policy or this monitor's `require_staging` asks for
/// it, second factors as `require_signing_device` and `allow_sms` say,
/// and the configured trusted publishers.
fn policy(config: &RuleConfig, record: &PackageRecord, package: &str) -> Policy {
    Policy {
        require_staging: record.staging_required
            || RuleConfig::any(&config.require_staging, package),
        require_signing_device: RuleConfig::any(&config.require_signing_device, package),
        accept_totp: true,
        accept_sms: RuleConfig::any(&config.allow_sms, package),
        allow_direct: Vec::new(),
        trusted_publishers: config.trusted_publishers.clone(),
        skip: Vec::new(),
    }
}

/// The package's logged trusted publishers as rules for it alone.
fn logged_publishers(record: &PackageRecord, package: &str) -> Vec<TrustedPublisherRule> {
    record
        .trusted
        .iter()
        .map(|t| TrustedPublisherRule {
            packages: package.to_owned(),
            issuer: t.issuer.clone(),
            repository: t.repository.clone(),
            workflow: Some(t.workflow.clone()),
        })
        .collect()
}

/// How urgent a finding of `rule` is; `kind` is the approving device's.
fn severity(rule: Rule, kind: Option<DeviceKind>) -> Severity {
    match rule {
        Rule::PublishWithoutApproval | Rule::IntegrityMismatch | Rule::BadDeviceSignature => {
            Severity::Critical
        }
        Rule::WeakSecondFactor if kind != Some(DeviceKind::Sms) => Severity::Medium,
        _ => Severity::High,
    }
}

/// Turns the judge's findings into alerts; rules without a monitor
/// counterpart (about finished releases) are left out.
fn report(out: &mut Findings<'_>, verdict: Verdict, kind: Option<DeviceKind>) {
    for f in verdict.findings {
        if let Some(rule) = RuleId::from_policy(f.rule) {
            out.add(
                rule,
                severity(f.rule, kind),
                f.message,
                f.evidence.iter().map(|i| i.0),
            );
        }
    }
}

fn logged(entry: &Entry) -> LoggedEvent {
    LoggedEvent {
        index: LeafIndex(entry.index),
        leaf_hash: entry.leaf_hash,
        event: entry.event.clone(),
    }
}

/// `unexpected-publisher`: the logged trusted publishers and the
/// configured ones are two restrictions, each judged on its own, so a
/// logged policy can never widen what the configuration allows. One alert
/// per stage.
pub(super) fn stage(
    engine: &mut Engine,
    source: &dyn RecordSource,
    entry: &Entry,
    stage: &Stage,
    out: &mut Findings<'_>,
) -> Result<(), String> {
    let package = entry.event.package.as_str();
    let record = engine.index.package(source, registry(entry), package)?;
    let mut by_log = policy(&engine.config, record, package);
    by_log.trusted_publishers = logged_publishers(record, package);
    let by_config = policy(&engine.config, record, package);
    let events = [logged(entry)];
    let at = LeafIndex(entry.index);
    let mut verdict = judge_stage(&by_log, &entry.event.package, &stage.version, at, &events);
    if verdict.passed() {
        verdict = judge_stage(
            &by_config,
            &entry.event.package,
            &stage.version,
            at,
            &events,
        );
    }
    report(out, verdict, None);
    Ok(())
}

/// The approval's digest, device, second factor and signature; the
/// signature check is queued to run on the other cores. `events` are the
/// release's kept events, this approval included; `device` the approving
/// device's record.
pub(super) fn approval(
    engine: &mut Engine,
    source: &dyn RecordSource,
    entry: &Entry,
    approve: &Approve,
    mut events: Vec<LoggedEvent>,
    device: &DeviceRecord,
    out: &mut Findings<'_>,
) -> Result<(), String> {
    let reg = registry(entry);
    let package = entry.event.package.as_str();
    events.extend(device.events.iter().map(KeptEvent::logged));
    let record = engine.index.package(source, reg, package)?;
    let policy = policy(&engine.config, record, package);
    let (mut verdict, check) = judge_approval(
        &policy,
        &entry.event.package,
        &approve.version,
        LeafIndex(entry.index),
        &events,
    );
    // Before the monitor's first entry the device's registration is
    // unknown, and a record written before events were kept whole knows it
    // without the event: stay silent rather than guess.
    let registered = device
        .events
        .iter()
        .any(|e| matches!(e.event.body, EventBody::DeviceRegister(_)));
    let unkept = device.registered.is_some() && !registered;
    if (engine.start > 0 && !registered) || unkept {
        verdict.findings.retain(|f| f.rule != Rule::UnknownDevice);
    }
    report(out, verdict, Some(approve.device.kind));
    if let Some(check) = check {
        let f = &check.finding;
        let finding = out.release(
            RuleId::BadDeviceSignature,
            Severity::Critical,
            f.message.clone(),
            f.evidence.iter().map(|i| i.0),
        );
        engine.queue_signature(PendingSignature { finding, check });
    }
    Ok(())
}

/// The publish's staging, approval and digests. `events` are the
/// release's kept events, this publish included; `facts` the entries of
/// its stages and approvals the record knows. A publish naming entries
/// before the monitor's first one is not judged: they are unknown; nor one
/// naming entries the record has facts of but not the events (written
/// before events were kept whole).
pub(super) fn publish(
    engine: &mut Engine,
    source: &dyn RecordSource,
    entry: &Entry,
    publish: &Publish,
    events: Vec<LoggedEvent>,
    facts: &[u64],
    out: &mut Findings<'_>,
) -> Result<(), String> {
    let kept_at = |i: LeafIndex| events.iter().find(|e| e.index == i);
    let seen = |i: LeafIndex| facts.contains(&i.0);
    let approved_stage = publish
        .approve
        .and_then(kept_at)
        .and_then(|e| match &e.event.body {
            EventBody::Approve(a) => Some(a.stage),
            _ => None,
        });
    let unknown = [publish.stage, publish.approve, approved_stage]
        .into_iter()
        .flatten()
        .any(|i| kept_at(i).is_none() && (!engine.known(i) || seen(i)));
    if unknown {
        return Ok(());
    }
    let package = entry.event.package.as_str();
    let record = engine.index.package(source, registry(entry), package)?;
    let policy = policy(&engine.config, record, package);
    // Who requires staging: the log's policy, or only this monitor.
    let why = if record.staging_required {
        "the package's logged policy requires staging"
    } else {
        "this monitor's configuration requires staging for it"
    };
    let mut verdict = judge_publish(
        &policy,
        &entry.event.package,
        &publish.version,
        LeafIndex(entry.index),
        &events,
    );
    if policy.require_staging {
        for f in &mut verdict.findings {
            if f.rule == Rule::PublishWithoutApproval {
                f.message = format!("{} ({why})", f.message);
            }
        }
    }
    report(out, verdict, None);
    Ok(())
}
