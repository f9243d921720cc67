//! Rules on account and package settings: device registrations, the
//! maintainer list, and `policy-change` (`policy-downgrade`: safeguards
//! weakened, trusted publishers removed or replaced, or a logged trusted
//! publisher this monitor's configuration does not allow).

use gatelog_core::event::{EventBody, PolicyChange, StagedPublishing, TrustedPublisherMode};

use super::{Engine, Entry, Findings, kept, registry};
use crate::alert::{RuleId, Severity};
use crate::index::{RecordSource, TrustedRecord};

pub(super) fn apply(
    engine: &mut Engine,
    source: &dyn RecordSource,
    entry: &Entry,
    out: &mut Findings<'_>,
) -> Result<(), String> {
    let e = &entry.event;
    let now = engine.when(entry);
    let registry = registry(entry);
    match &e.body {
        EventBody::DeviceRegister(change) => {
            let record =
                engine
                    .index
                    .device(source, registry, &change.maintainer, &change.device.id)?;
            let key = change.device.public_key.map(|k| hex::encode(k.as_bytes()));
            record.registered = Some((now, entry.index, key));
            record.revoked = None;
            // The judge needs only the latest registration and what follows.
            record.events = vec![kept(entry)];
        }
        EventBody::DeviceRevoke(change) => {
            let record =
                engine
                    .index
                    .device(source, registry, &change.maintainer, &change.device.id)?;
            record.revoked = Some((now, entry.index));
            record.events.push(kept(entry));
        }
        EventBody::MaintainerAdd(change) => {
            let record = engine.index.package(source, registry, e.package.as_str())?;
            let established = record.published;
            record.maintainers_known = true;
            record
                .maintainers
                .insert(change.maintainer.clone(), (now, entry.index, established));
        }
        EventBody::MaintainerRemove(change) => {
            let record = engine.index.package(source, registry, e.package.as_str())?;
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
    let package = entry.event.package.as_str();
    let record = engine.index.package(source, registry(entry), package)?;
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
            let before = record.trusted.iter().find(|o| same(t, o));
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
        } else {
            // Removed or replaced: the identity that released the package
            // until now is no longer the one trusted.
            for o in record
                .trusted
                .iter()
                .filter(|o| !trusted.iter().any(|t| same(t, o)))
            {
                downgrades.push(format!(
                    "trusted publisher {} ({}) was removed or replaced",
                    o.repository, o.workflow
                ));
            }
        }
    }
    // A logged trusted publisher the operator's configuration forbids:
    // the configuration still decides (unexpected-publisher fires on its
    // stages), and the policy itself is worth a look.
    let rules: Vec<_> = engine
        .config
        .trusted_publishers
        .iter()
        .filter(|r| gatelog_core::policy::matches(&r.packages, package))
        .collect();
    if !rules.is_empty() {
        for t in &trusted {
            let allowed = rules.iter().any(|r| {
                r.issuer == t.issuer
                    && r.repository == t.repository
                    && r.workflow.as_deref().is_none_or(|w| w == t.workflow)
            });
            if !allowed {
                downgrades.push(format!(
                    "the logged policy trusts {} ({}), which this monitor's configured trusted_publishers do not allow",
                    t.repository, t.workflow
                ));
            }
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

/// Whether two trusted publishers name the same CI identity.
fn same(a: &TrustedRecord, b: &TrustedRecord) -> bool {
    a.issuer == b.issuer && a.repository == b.repository && a.workflow == b.workflow
}
