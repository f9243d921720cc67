//! Rules on a release's events that need history across releases:
//! `stage` (publisher bursts), `approve` (new devices, maintainers,
//! approval speed) and `publish` (recently added maintainers). Each event
//! is also kept whole and handed to the shared judge ([`super::judged`])
//! for the per-release rules.

use gatelog_core::LeafIndex;
use gatelog_core::event::{Approve, EventBody, Publish, PublisherKind, Stage};

use super::{Engine, Entry, Findings, judged, kept, registry};
use crate::alert::{RuleId, Severity};
use crate::index::{ApprovalFact, KeptEvent, RecordSource, StageFact};
use gatelog_core::policy::LoggedEvent;

pub(super) fn apply(
    engine: &mut Engine,
    source: &dyn RecordSource,
    entry: &Entry,
    out: &mut Findings<'_>,
) -> Result<(), String> {
    match &entry.event.body {
        EventBody::Stage(stage) => on_stage(engine, source, entry, stage, out),
        EventBody::Approve(approve) => on_approve(engine, source, entry, approve, out),
        EventBody::Publish(publish) => on_publish(engine, source, entry, publish, out),
        _ => Ok(()),
    }
}

/// The identity bursts are counted per: the CI workflow for OIDC (the
/// subject changes with every ref), else the token or user.
fn identity(stage: &Stage) -> String {
    let p = &stage.publisher;
    match p.kind {
        PublisherKind::Oidc => format!(
            "oidc:{}:{}:{}",
            p.issuer.as_deref().unwrap_or(""),
            p.repository.as_deref().unwrap_or(""),
            p.workflow.as_deref().unwrap_or("")
        ),
        PublisherKind::Token => format!("token:{}", p.subject),
        PublisherKind::User => format!("user:{}", p.subject),
    }
}

fn on_stage(
    engine: &mut Engine,
    source: &dyn RecordSource,
    entry: &Entry,
    stage: &Stage,
    out: &mut Findings<'_>,
) -> Result<(), String> {
    let e = &entry.event;
    let reg = registry(entry);
    let package = e.package.as_str();
    let now = engine.when(entry);
    let version = engine
        .index
        .version(source, reg, package, &stage.version.to_string())?;
    version.stages.push(StageFact {
        index: entry.index,
        leaf_hash: entry.leaf_hash.to_hex(),
        integrity: stage.integrity.to_string(),
        time_ms: now,
    });
    version.events.push(kept(entry));
    judged::stage(engine, source, entry, stage, out)?;

    let who = identity(stage);
    // publisher-burst: distinct packages staged by one identity in the
    // window. Only the newest stage per package and the newest `limit + 1`
    // packages are kept: enough to tell whether more than `limit` distinct
    // packages were staged, at O(limit) per stage whatever the volume.
    let window = (engine.config.burst_window_minutes * 60_000) as i64;
    let limit = engine.config.burst_packages;
    let record = engine.index.publisher(source, reg, &who)?;
    record.recent.retain(|(_, p, _)| p != package);
    record
        .recent
        .push_back((now, package.to_owned(), entry.index));
    while record
        .recent
        .front()
        .is_some_and(|(t, _, _)| *t <= now - window)
        || record.recent.len() > limit + 1
    {
        record.recent.pop_front();
    }
    let quiet = record.alerted_at.is_none_or(|t| t <= now - window);
    if record.recent.len() > limit && quiet {
        let packages: Vec<serde_json::Value> = record
            .recent
            .iter()
            .map(|(_, p, _)| p.as_str().into())
            .collect();
        let evidence: Vec<u64> = record.recent.iter().map(|(_, _, i)| *i).collect();
        record.alerted_at = Some(now);
        let mut f = out.release(
            RuleId::PublisherBurst,
            Severity::Critical,
            format!(
                "{who} staged {} packages within {} minutes (threshold {limit})",
                packages.len(),
                engine.config.burst_window_minutes
            ),
            evidence,
        );
        f.details.insert("packages".into(), packages.into());
        out.push(f);
    }
    Ok(())
}

fn find_stage(stages: &[StageFact], index: LeafIndex) -> Option<&StageFact> {
    stages.iter().find(|s| s.index == index.0)
}

fn on_approve(
    engine: &mut Engine,
    source: &dyn RecordSource,
    entry: &Entry,
    approve: &Approve,
    out: &mut Findings<'_>,
) -> Result<(), String> {
    let e = &entry.event;
    let reg = registry(entry);
    let package = e.package.as_str();
    let now = engine.when(entry);
    let version = engine
        .index
        .version(source, reg, package, &approve.version.to_string())?;
    let stage = find_stage(&version.stages, approve.stage).cloned();
    version.approvals.push(ApprovalFact {
        index: entry.index,
        integrity: approve.integrity.to_string(),
        stage: approve.stage.0,
    });
    version.events.push(kept(entry));
    let events: Vec<LoggedEvent> = version.events.iter().map(KeptEvent::logged).collect();
    let m = approve.maintainer.as_str();
    let d = approve.device.id.as_str();
    let device = engine.index.read_device(source, reg, m, d)?;
    judged::approval(engine, source, entry, approve, events, &device, out)?;
    match &stage {
        Some(stage) => {
            let delay = now - stage.time_ms;
            let threshold = (engine.config.rubber_stamp_seconds * 1000) as i64;
            if delay < threshold {
                out.add(
                    RuleId::RubberStamp,
                    Severity::Medium,
                    format!(
                        "approved {} s after staging (threshold {} s)",
                        delay as f64 / 1000.0,
                        engine.config.rubber_stamp_seconds
                    ),
                    [stage.index],
                );
            }
        }
        None if engine.known(approve.stage) => out.add(
            RuleId::LogMisbehaviour,
            Severity::Critical,
            format!(
                "the approval names entry {}, which is not a stage of this version; the log must refuse such references",
                approve.stage
            ),
            [],
        ),
        None => {}
    }

    // An unknown or revoked device is the judge's `unknown-device`, not
    // also new.
    let registered = device
        .registered
        .clone()
        .filter(|_| device.revoked.is_none());
    if let Some((registered_at, reg_index, _)) = &registered {
        let age = now - registered_at;
        let hours = engine.config.new_device_hours;
        let record = engine.index.package(source, reg, package)?;
        let pair = format!("{m}\0{d}");
        let first_use = record.approvals > 0 && !record.devices_used.contains(&pair);
        if age < (hours * 3_600_000) as i64 {
            out.add(
                RuleId::NewDevice,
                Severity::High,
                format!(
                    "{m} approved from device {d:?} {} minutes after registering it (threshold {hours} h)",
                    age / 60_000
                ),
                [*reg_index],
            );
        } else if first_use {
            out.add(
                RuleId::NewDevice,
                Severity::Medium,
                format!("first approval of {package} by {m} from device {d:?}"),
                [*reg_index],
            );
        }
    }

    let record = engine.index.package(source, reg, package)?;
    record.approvals += 1;
    record.devices_used.insert(format!("{m}\0{d}"));
    if record.maintainers_known && !record.maintainers.contains_key(m) {
        let current: Vec<&str> = record.maintainers.keys().map(String::as_str).collect();
        out.add(
            RuleId::NotAMaintainer,
            Severity::High,
            format!(
                "{m} approved, but the maintainers of {package} are {}",
                current.join(", ")
            ),
            [],
        );
    }
    Ok(())
}

fn on_publish(
    engine: &mut Engine,
    source: &dyn RecordSource,
    entry: &Entry,
    publish: &Publish,
    out: &mut Findings<'_>,
) -> Result<(), String> {
    let e = &entry.event;
    let reg = registry(entry);
    let package = e.package.as_str();
    let now = engine.when(entry);
    let integrity = publish.integrity.to_string();
    let version = engine
        .index
        .version(source, reg, package, &publish.version.to_string())?;
    version.publishes.push((entry.index, integrity));
    // Later publishes need the stages and approvals, not this publish.
    let events: Vec<LoggedEvent> = (version.events.iter().map(KeptEvent::logged))
        .chain([kept(entry).logged()])
        .collect();
    let facts: Vec<u64> = (version.stages.iter().map(|s| s.index))
        .chain(version.approvals.iter().map(|a| a.index))
        .collect();
    judged::publish(engine, source, entry, publish, events, &facts, out)?;

    // policy-downgrade: a maintainer added shortly before this publish.
    let hours = engine.config.maintainer_added_hours;
    let record = engine.index.package(source, reg, package)?;
    let recent: Vec<(&String, u64, i64)> = record
        .maintainers
        .iter()
        .filter(|(_, (added, _, established))| {
            *established && now - added < (hours * 3_600_000) as i64
        })
        .map(|(name, (added, index, _))| (name, *index, now - added))
        .collect();
    if let Some((name, index, age)) = recent.first().cloned() {
        let name = name.clone();
        out.add(
            RuleId::PolicyDowngrade,
            Severity::High,
            format!(
                "published {} minutes after {name} became a maintainer (threshold {hours} h)",
                age / 60_000
            ),
            [index],
        );
    }
    record.published = true;
    Ok(())
}
