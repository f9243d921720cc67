//! Rules on a release's own events: `stage` (publisher identity and
//! bursts), `approve` (device, maintainer, second factor, speed, digest)
//! and `publish` (approval and digest).

use gatelog_core::event::{Approve, DeviceKind, EventBody, Publish, PublisherKind, Stage, Via};
use gatelog_core::{Hash, LeafIndex};

use super::{Engine, Entry, Findings, PendingSignature, RuleConfig, registry};
use crate::alert::{RuleId, Severity};
use crate::index::{ApprovalFact, RecordSource, StageFact};

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
    engine
        .index
        .version(source, reg, package, &stage.version.to_string())?
        .stages
        .push(StageFact {
            index: entry.index,
            leaf_hash: entry.leaf_hash.to_hex(),
            integrity: stage.integrity.to_string(),
            time_ms: now,
        });

    let who = identity(stage);
    // unexpected-publisher: the logged trusted publishers and the
    // configured ones are two restrictions, each checked on its own: a
    // logged policy can never widen what the configuration allows.
    let p = &stage.publisher;
    let record = engine.index.package(source, reg, package)?;
    let logged_ok = record.trusted.is_empty()
        || record.trusted.iter().any(|t| {
            p.issuer.as_deref() == Some(t.issuer.as_str())
                && p.repository.as_deref() == Some(t.repository.as_str())
                && p.workflow.as_deref() == Some(t.workflow.as_str())
        });
    let mut configured = engine
        .config
        .trusted_publishers
        .iter()
        .filter(|r| gatelog_core::policy::matches(&r.packages, package))
        .peekable();
    let config_ok = configured.peek().is_none() || configured.any(|r| r.allows(p));
    let against = match (logged_ok, config_ok) {
        (true, true) => None,
        (false, true) => Some(""),
        (true, false) => Some(" (this monitor's configured trusted_publishers)"),
        (false, false) => Some(" (neither logged nor configured)"),
    };
    if let Some(against) = against {
        out.add(
            RuleId::UnexpectedPublisher,
            Severity::High,
            format!(
                "staged by {who} ({}), which is not a trusted publisher of {package}{against}",
                p.subject
            ),
            [],
        );
    }

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
    let integrity = approve.integrity.to_string();
    match &stage {
        Some(stage) => {
            if stage.integrity != integrity {
                out.add(
                    RuleId::IntegrityMismatch,
                    Severity::Critical,
                    format!(
                        "approved {integrity}, but the stage it names holds {}",
                        stage.integrity
                    ),
                    [stage.index],
                );
            }
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

    let m = approve.maintainer.as_str();
    let d = approve.device.id.as_str();
    let kind = approve.device.kind;
    let device = engine.index.read_device(source, reg, m, d)?;
    let complete = engine.start == 0;
    let registered = device
        .registered
        .clone()
        .filter(|_| device.revoked.is_none());
    match &registered {
        None if complete => {
            let (why, evidence) = match (&device.registered, device.revoked) {
                (Some((_, reg, _)), Some((_, rev))) => (
                    format!("device {d:?} of {m} was revoked at entry {rev}"),
                    vec![*reg, rev],
                ),
                _ => (format!("device {d:?} was never registered to {m}"), vec![]),
            };
            out.add(RuleId::UnknownDevice, Severity::High, why, evidence);
        }
        None => {}
        Some((registered_at, reg_index, key)) => {
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
            if kind.signs() {
                match (approve.device_signature.is_some(), key, &stage) {
                    (false, _, _) => out.add(
                        RuleId::BadDeviceSignature,
                        Severity::High,
                        format!("signing device {d:?} gave no signature over the approval"),
                        [*reg_index],
                    ),
                    (true, Some(key), Some(stage)) => {
                        let key = engine.device_key(key);
                        let stage_hash = Hash::from_hex(&stage.leaf_hash);
                        if let (Some(key), Some(stage_hash)) = (key, stage_hash) {
                            let finding = out.release(
                                RuleId::BadDeviceSignature,
                                Severity::Critical,
                                format!(
                                    "the signature of device {d:?} does not verify with the key registered at entry {reg_index}"
                                ),
                                [*reg_index, stage.index],
                            );
                            engine.queue_signature(PendingSignature {
                                finding,
                                approve: approve.clone(),
                                package: e.package.clone(),
                                stage_leaf_hash: stage_hash,
                                key,
                            });
                        }
                    }
                    _ => {}
                }
            }
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

    let config = &engine.config;
    let weak = match kind {
        DeviceKind::Sms if !RuleConfig::any(&config.allow_sms, package) => {
            Some((Severity::High, "SMS (defeated by SIM swaps)"))
        }
        DeviceKind::Totp | DeviceKind::Sms
            if RuleConfig::any(&config.require_signing_device, package) =>
        {
            Some((
                Severity::Medium,
                "a one-time code where a signing device is required",
            ))
        }
        _ => None,
    };
    if let Some((severity, what)) = weak {
        out.add(
            RuleId::WeakSecondFactor,
            severity,
            format!("{m} approved with {what}"),
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
    version.publishes.push((entry.index, integrity.clone()));
    let version = version.clone();

    match publish.via {
        Via::Staged => {
            let approval = publish
                .approve
                .and_then(|a| version.approvals.iter().find(|f| f.index == a.0));
            let stage = publish.stage.and_then(|s| find_stage(&version.stages, s));
            match (publish.approve, approval) {
                (None, _) => out.add(
                    RuleId::PublishWithoutApproval,
                    Severity::Critical,
                    "published via staging but names no approval".into(),
                    publish.stage.map(|s| s.0),
                ),
                (Some(a), None) if engine.known(a) => out.add(
                    RuleId::PublishWithoutApproval,
                    Severity::Critical,
                    format!(
                        "names entry {a} as its approval, which is not an approval of this version"
                    ),
                    [],
                ),
                (Some(_), None) => {}
                (Some(_), Some(approval)) => {
                    if publish.stage.is_some_and(|s| s.0 != approval.stage) {
                        out.add(
                            RuleId::PublishWithoutApproval,
                            Severity::Critical,
                            format!(
                                "the approval at entry {} approved stage {}, not the stage the publish names",
                                approval.index, approval.stage
                            ),
                            [approval.index],
                        );
                    }
                    let differs = [
                        Some(approval.integrity.as_str()),
                        stage.map(|s| s.integrity.as_str()),
                    ]
                    .into_iter()
                    .flatten()
                    .any(|i| i != integrity);
                    if differs {
                        out.add(
                            RuleId::IntegrityMismatch,
                            Severity::Critical,
                            format!("published {integrity}, but approved {}", approval.integrity),
                            [Some(approval.index), stage.map(|s| s.index)]
                                .into_iter()
                                .flatten(),
                        );
                    }
                }
            }
        }
        Via::Direct => {
            let record = engine.index.package(source, reg, package)?;
            let logged = record.staging_required;
            if logged || RuleConfig::any(&engine.config.require_staging, package) {
                let why = if logged {
                    "the package's logged policy requires staging"
                } else {
                    "this monitor's configuration requires staging for it"
                };
                out.add(
                    RuleId::PublishWithoutApproval,
                    Severity::Critical,
                    format!("published directly, with no stage or approval, although {why}"),
                    [],
                );
            }
            // Bait and switch: the version was approved as another tarball.
            let others: Vec<&ApprovalFact> = version
                .approvals
                .iter()
                .filter(|a| a.integrity != integrity)
                .collect();
            let same = version.approvals.iter().any(|a| a.integrity == integrity);
            if !others.is_empty() && !same {
                out.add(
                    RuleId::IntegrityMismatch,
                    Severity::Critical,
                    format!(
                        "published {integrity}, but the version was approved as {}",
                        others[0].integrity
                    ),
                    others.iter().map(|a| a.index),
                );
            }
        }
    }

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
