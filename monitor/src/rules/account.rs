//! Rules on account and package settings: device registrations, the
//! maintainer list, and `policy-change` (`policy-downgrade`).

use gatelog_core::event::{EventBody, PolicyChange, StagedPublishing, TrustedPublisherMode};

use super::{Engine, Entry, Findings, time_ms};
use crate::alert::{RuleId, Severity};
use crate::index::{RecordSource, TrustedRecord};

pub(super) fn apply(
    engine: &mut Engine,
    source: &dyn RecordSource,
    entry: &Entry,
    out: &mut Findings<'_>,
) -> Result<(), String> {
    let e = &entry.event;
    let now = time_ms(e);
    let registry = e.registry.as_str();
    match &e.body {
        EventBody::DeviceRegister(change) => {
            let record =
                engine
                    .index
                    .device(source, registry, &change.maintainer, &change.device.id)?;
            let key = change.device.public_key.map(|k| hex::encode(k.as_bytes()));
            record.registered = Some((now, entry.index, key));
            record.revoked = None;
        }
        EventBody::DeviceRevoke(change) => {
            let record =
                engine
                    .index
                    .device(source, registry, &change.maintainer, &change.device.id)?;
            record.revoked = Some((now, entry.index));
        }
        EventBody::MaintainerAdd(change) => {
            let record = engine.index.package(source, e.package.as_str())?;
            let established = record.published;
            record.maintainers_known = true;
            record
                .maintainers
                .insert(change.maintainer.clone(), (now, entry.index, established));
        }
        EventBody::MaintainerRemove(change) => {
            let record = engine.index.package(source, e.package.as_str())?;
            record.maintainers_known = true;
            record.maintainers.remove(&change.maintainer);
        }
        EventBody::PolicyChange(change) => on_policy(engine, source, entry, change, out)?,
        _ => {}
    }
    Ok(())
}

fn on_policy(
    engine: &mut Engine,
    source: &dyn RecordSource,
    entry: &Entry,
    change: &PolicyChange,
    out: &mut Findings<'_>,
) -> Result<(), String> {
    let record = engine.index.package(source, entry.event.package.as_str())?;
    let trusted: Vec<TrustedRecord> = change
        .trusted_publishers
        .iter()
        .map(|t| TrustedRecord {
            issuer: t.issuer.clone(),
            repository: t.repository.clone(),
            workflow: t.workflow.clone(),
            publish_mode: t.mode == TrustedPublisherMode::Publish,
        })
        .collect();
    let required = change.staged_publishing == StagedPublishing::Required;
    let mut downgrades = Vec::new();
    if record.has_policy {
        if record.staging_required && !required {
            downgrades.push("staged publishing was switched from required to optional".to_owned());
        }
        for t in trusted.iter().filter(|t| t.publish_mode) {
            let before = record.trusted.iter().find(|o| {
                o.issuer == t.issuer && o.repository == t.repository && o.workflow == t.workflow
            });
            match before {
                Some(o) if !o.publish_mode => downgrades.push(format!(
                    "trusted publisher {} ({}) moved from stage-only to publish mode",
                    t.repository, t.workflow
                )),
                Some(_) => {}
                None => downgrades.push(format!(
                    "new trusted publisher {} ({}) may publish without approval",
                    t.repository, t.workflow
                )),
            }
        }
        if trusted.is_empty() && !record.trusted.is_empty() {
            downgrades
                .push("every trusted publisher was removed: any CI identity may stage".into());
        }
    }
    record.has_policy = true;
    record.staging_required = required;
    record.trusted = trusted;
    if !downgrades.is_empty() {
        out.add(
            RuleId::PolicyDowngrade,
            Severity::High,
            downgrades.join("; "),
            [],
        );
    }
    Ok(())
}
