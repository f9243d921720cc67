//! `log-misbehaviour` from the entries themselves: every package's `prev`
//! chain (one per registry and package) must link each event to the
//! package's previous one at that registry (a gap hides
//! events, a fork shows two histories), and `logged_at` must never go
//! backwards.

use super::{Engine, Entry, Findings, registry};
use crate::alert::{RuleId, Severity};
use crate::index::RecordSource;
use gatelog_core::LeafIndex;

pub(super) fn check(
    engine: &mut Engine,
    source: &dyn RecordSource,
    entry: &Entry,
    out: &mut Findings<'_>,
) -> Result<(), String> {
    let mut log = engine.index.log(source)?;
    if entry.logged_at < log.last_logged_at {
        out.add(
            RuleId::LogMisbehaviour,
            Severity::Critical,
            format!(
                "logged_at went backwards: entry {} says {} ms, an earlier entry said {} ms",
                entry.index, entry.logged_at, log.last_logged_at
            ),
            [],
        );
    }
    log.last_logged_at = log.last_logged_at.max(entry.logged_at);
    log.entries += 1;
    engine.index.set_log(log);

    let start = engine.start;
    let package = entry.event.package.as_str();
    let record = engine.index.package(source, registry(entry), package)?;
    let last = record.last;
    record.last = Some(entry.index);
    let problem = match (entry.prev, last) {
        (Some(prev), _) if prev >= entry.index => Some(format!(
            "entry {} names a later or equal entry {prev} as its predecessor",
            entry.index
        )),
        (prev, last) if prev == last => None,
        // Before the monitor's first entry the chain head is unknown.
        (Some(prev), None) if prev < start => None,
        (None, Some(last)) => Some(format!(
            "entry {} starts a new chain for {package}, but entry {last} already belongs to it (fork)",
            entry.index
        )),
        (Some(prev), Some(last)) if prev < last => Some(format!(
            "entry {} links to entry {prev}, skipping the package's latest entry {last} (fork)",
            entry.index
        )),
        (Some(prev), last) => Some(format!(
            "entry {} links to entry {prev}, which is not {package}'s latest entry ({}) (gap or foreign link)",
            entry.index,
            last.map_or("none".to_owned(), |l| l.to_string())
        )),
        (None, None) => None,
    };
    if let Some(message) = problem {
        let evidence = [entry.prev, last]
            .into_iter()
            .flatten()
            .filter(|i| engine.known(LeafIndex(*i)) && *i < entry.index);
        out.add(
            RuleId::LogMisbehaviour,
            Severity::Critical,
            format!("prev chain broken: {message}"),
            evidence,
        );
    }
    Ok(())
}
