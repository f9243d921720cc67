//! Trouble that does not stop the monitor: answers that do not verify
//! (`log-unverifiable`) and no verified progress for too long
//! (`no-progress`). Each is alerted once per episode, an episode ending at
//! the next verified progress, so a log that stays broken is reported once
//! and one that breaks again is reported again; episodes are remembered
//! in the state, so a restart does not repeat them.

use std::time::Duration;

use super::{FollowError, Follower, evidence};
use crate::alert::RuleId;
use crate::rules::Finding;
use crate::state::{Commit, StateError};

/// Milliseconds since the epoch by the monitor's clock.
pub(super) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Follower {
    /// Alerts `finding` (an answer that does not verify) unless this
    /// episode already did; returns the error that makes the caller retry.
    pub(super) fn unverifiable(&mut self, finding: Finding) -> Result<FollowError, FollowError> {
        let message = finding.message.clone();
        self.once_per_episode(finding)?;
        Ok(FollowError::Unverifiable(message))
    }

    /// Raises `no-progress` if nothing was verified for longer than the
    /// configured threshold, once per episode. `lag` is the time since the
    /// last verified progress, `why` the last error. Whether it raised.
    pub fn no_progress(&mut self, lag: Duration, why: &str) -> Result<bool, FollowError> {
        let threshold = self.engine.config().no_progress();
        if lag <= threshold || !self.engine.config().enabled(RuleId::NoProgress) {
            return Ok(false);
        }
        let mut f = evidence::log_finding(
            self.meta.cursor,
            format!(
                "no verified progress for {} s (threshold {} s), at entry {}: {why}",
                lag.as_secs(),
                threshold.as_secs(),
                self.meta.cursor
            ),
        );
        f.rule = RuleId::NoProgress;
        f.severity = crate::alert::Severity::High;
        f.evidence.clear();
        f.details.insert("lag_seconds".into(), lag.as_secs().into());
        self.once_per_episode(f)
    }

    /// Whether `no-progress` was raised in the current episode.
    pub fn alerted_no_progress(&self) -> bool {
        self.meta
            .trouble
            .iter()
            .any(|t| t == RuleId::NoProgress.as_str())
    }

    /// The time since the last verified progress the state remembers
    /// (`None` before the first).
    pub fn stored_lag(&self) -> Option<Duration> {
        (self.meta.progress_ms > 0)
            .then(|| Duration::from_millis(now_ms().saturating_sub(self.meta.progress_ms)))
    }

    fn once_per_episode(&mut self, finding: Finding) -> Result<bool, FollowError> {
        let kind = finding.rule.as_str().to_owned();
        if self.meta.trouble.contains(&kind) || !self.engine.config().enabled(finding.rule) {
            return Ok(false);
        }
        let mut meta = self.meta.clone();
        if meta.trouble.is_empty() {
            meta.episodes += 1;
        }
        meta.trouble.push(kind);
        let id = format!("{}@{}:{}", finding.rule, self.meta.cursor, meta.episodes);
        let size = self.meta.cursor;
        let mut alerts = self.number(&mut meta, vec![finding], size);
        for a in &mut alerts {
            a.id = id.clone();
        }
        self.state.commit(
            &meta,
            Commit {
                records: Vec::new(),
                alerts,
            },
        )?;
        self.meta = meta;
        Ok(true)
    }

    /// Notes verified progress: the episode of trouble, if any, is over.
    /// Written with the next commit (every verified step commits).
    pub(super) fn progressed(&mut self) {
        self.meta.progress_ms = now_ms();
        self.meta.trouble.clear();
        self.progress.mark();
    }

    /// Commits `meta` alone (after verifying a checkpoint with nothing new).
    pub(super) fn commit_meta(&mut self) -> Result<(), StateError> {
        self.state.commit(&self.meta, Commit::default())
    }
}
