//! The detection rules: an [`Engine`] that takes verified entries in log
//! order, checks each against what the [`Index`] remembers, updates the
//! index and returns [`Finding`]s.
//!
//! Rules judge facts only the log provides: the log's `logged_at` of each
//! entry for every recency window (not the registry's `time`, which the
//! registry alone vouches for, and not the monitor's clock), logged
//! policies and device registrations, and the configured thresholds and
//! policies ([`RuleConfig`]). Configured policies only ever add
//! restrictions to the logged ones. Every record is kept per registry (its
//! host), so one registry's events never enter another's package records,
//! chains or rule state. Entries before the monitor's
//! first entry (`--start-at-end`) are unknown, so history-dependent rules
//! stay silent about references into them rather than guess.
//!
//! The per-release rules (publish without approval, digests, devices,
//! second factors, device signatures, trusted publishers) are the shared
//! judge's, [`gatelog_core::policy`], the one `gatelog verify` uses
//! (`judged.rs`); the rules here add what needs history across releases.
//!
//! Device signatures, the costliest check, run on the other cores while
//! the rules go on ([`signatures`]); [`Engine::finish_chunk`] collects them.

mod account;
mod chain;
mod clock;
mod config;
mod judged;
mod release;
mod signatures;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hardening;

pub use config::{RecencyClock, RuleConfig};

use gatelog_core::event::Event;
use gatelog_core::policy::matches;
use gatelog_core::{Hash, LeafIndex};
use signatures::{PendingSignature, Signatures};

use crate::alert::{RuleId, Severity};
use crate::index::{Index, KeptEvent, RecordSource};

/// A verified entry, decoded.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Leaf index.
    pub index: u64,
    /// RFC 6962 leaf hash.
    pub leaf_hash: Hash,
    /// The log's `logged_at` (ms).
    pub logged_at: u64,
    /// The leaf's `prev`.
    pub prev: Option<u64>,
    /// The event.
    pub event: Event,
}

/// What a rule found, before it becomes a numbered alert.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Finding {
    /// The rule.
    pub rule: RuleId,
    /// How urgent.
    pub severity: Severity,
    /// The entry that triggered it.
    pub trigger: u64,
    /// The package, if the finding concerns one.
    pub package: Option<String>,
    /// The version, if any.
    pub version: Option<String>,
    /// One sentence.
    pub message: String,
    /// Entries that prove it, ascending, the trigger included.
    pub evidence: Vec<u64>,
    /// Registry time of the triggering event.
    pub event_time: Option<String>,
    /// Rule-specific facts.
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// Runs the rules over entries in log order.
pub struct Engine {
    config: RuleConfig,
    watch: Vec<String>,
    /// First entry this monitor saw (0 unless it started at the end).
    start: u64,
    index: Index,
    pending: Signatures,
}

/// Registry time in ms since the epoch.
pub(crate) fn time_ms(event: &Event) -> i64 {
    (event.time.get().unix_timestamp_nanos() / 1_000_000) as i64
}

/// The registry an entry belongs to: its host, the first part of every
/// per-registry record key.
pub(crate) fn registry(entry: &Entry) -> &str {
    entry.event.registry.host()
}

/// The entry kept whole in the index, for the shared judge.
pub(crate) fn kept(entry: &Entry) -> KeptEvent {
    KeptEvent {
        index: entry.index,
        leaf_hash: entry.leaf_hash,
        event: entry.event.clone(),
    }
}

impl Engine {
    /// An engine with `config`, alerting on packages matching `watch`
    /// (every package when empty), for a history that begins at `start`.
    pub fn new(config: RuleConfig, watch: Vec<String>, start: u64) -> Engine {
        Engine {
            config,
            watch,
            start,
            index: Index::default(),
            pending: Signatures::default(),
        }
    }

    /// Drops everything not committed (after a failed chunk): cached
    /// records, so the next read comes from the state, and queued checks.
    pub fn reset(&mut self) {
        self.index.forget(true);
        self.pending.clear();
    }

    /// The thresholds and policies.
    pub fn config(&self) -> &RuleConfig {
        &self.config
    }

    /// The index (for committing its dirty records).
    pub fn index_mut(&mut self) -> &mut Index {
        &mut self.index
    }

    /// When `entry` happened for the recency windows (rubber stamps, new
    /// devices, bursts, recent maintainers), in ms: the log's `logged_at`,
    /// or the registry's `time` where `recency_clock = "registry"`.
    pub(crate) fn when(&self, entry: &Entry) -> i64 {
        match self.config.recency_clock {
            RecencyClock::Log => i64::try_from(entry.logged_at).unwrap_or(i64::MAX),
            RecencyClock::Registry => time_ms(&entry.event),
        }
    }

    /// Whether alerts about `package` are wanted.
    pub fn watches(&self, package: &str) -> bool {
        self.watch.is_empty() || self.watch.iter().any(|p| matches(p, package))
    }

    /// Checks one entry and records it. Errors are storage failures; the
    /// caller must not commit anything of the chunk then.
    pub fn apply(
        &mut self,
        source: &dyn RecordSource,
        entry: &Entry,
    ) -> Result<Vec<Finding>, String> {
        let mut out = Findings {
            entry,
            list: Vec::new(),
        };
        chain::check(self, source, entry, &mut out)?;
        release::apply(self, source, entry, &mut out)?;
        account::apply(self, source, entry, &mut out)?;
        clock::check(self, entry, &mut out);
        let list = out.list.into_iter().filter(|f| self.wanted(f)).collect();
        Ok(list)
    }

    /// Whether a finding is delivered: its rule is enabled, and it is log
    /// misbehaviour or concerns a watched package (for a burst, any of its
    /// packages).
    fn wanted(&self, f: &Finding) -> bool {
        if !self.config.enabled(f.rule) {
            return false;
        }
        if f.rule == RuleId::LogMisbehaviour {
            return true;
        }
        let burst = f.details.get("packages").and_then(|ps| ps.as_array());
        match (burst, &f.package) {
            (Some(ps), _) => ps
                .iter()
                .any(|p| p.as_str().is_some_and(|p| self.watches(p))),
            (None, Some(p)) => self.watches(p),
            (None, None) => true,
        }
    }

    /// Waits for the device signatures queued during the chunk and returns
    /// the findings of those that fail, in entry order.
    pub fn finish_chunk(&mut self) -> Vec<Finding> {
        self.pending.finish()
    }

    fn queue_signature(&mut self, pending: PendingSignature) {
        if self.config.enabled(RuleId::BadDeviceSignature) {
            self.pending.push(pending);
        }
    }

    /// Whether entry `index` is inside the history this monitor has seen.
    fn known(&self, index: LeafIndex) -> bool {
        index.0 >= self.start
    }
}

/// Findings of one entry under construction.
pub(crate) struct Findings<'a> {
    entry: &'a Entry,
    list: Vec<Finding>,
}

impl Findings<'_> {
    /// A finding about the entry's package and version.
    fn release(
        &self,
        rule: RuleId,
        severity: Severity,
        message: String,
        evidence: impl IntoIterator<Item = u64>,
    ) -> Finding {
        let e = &self.entry.event;
        let mut evidence: Vec<u64> = evidence.into_iter().collect();
        evidence.push(self.entry.index);
        evidence.sort_unstable();
        evidence.dedup();
        Finding {
            rule,
            severity,
            trigger: self.entry.index,
            package: Some(e.package.to_string()),
            version: e.version().map(ToString::to_string),
            message,
            evidence,
            event_time: Some(e.time.as_str().to_owned()),
            details: Default::default(),
        }
    }

    fn push(&mut self, finding: Finding) {
        self.list.push(finding);
    }

    fn add(
        &mut self,
        rule: RuleId,
        severity: Severity,
        message: String,
        evidence: impl IntoIterator<Item = u64>,
    ) {
        let f = self.release(rule, severity, message, evidence);
        self.push(f);
    }
}
