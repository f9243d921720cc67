//! Following a log: fetch its checkpoint, verify the signature, prove it
//! consistent with the last verified checkpoint, download the new entry
//! bundles, prove every entry belongs to the signed tree, run the rules and
//! commit — in that order, so nothing unverified is ever judged or
//! remembered.
//!
//! Entries are verified in chunks: the leaves of a chunk are appended to
//! the compact range of everything before it, and the resulting root must
//! be consistent with the checkpoint (a consistency proof the monitor
//! builds itself from the log's hash tiles). Memory stays bounded however
//! far behind the monitor is, and a restart resumes at the last chunk
//! committed.

mod decode;
mod download;
mod evidence;
mod tiles;
mod trouble;

pub use decode::Registries;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatelog_core::checkpoint::{SignedCheckpoint, open};
use gatelog_core::merkle::verify_consistency;
use gatelog_core::witness_policy::WitnessPolicy;
use gatelog_core::{CompactRange, Hash, TreeSize, VerifierKey};

use crate::alert::{Alert, RuleId, SCHEMA};
use crate::fetch::{FetchError, LogReader};
use crate::metrics::Metrics;
use crate::rules::{Engine, Finding, RuleConfig};
use crate::state::{Commit, LAYOUT, Meta, State, StateError};
use evidence::{Verdict, log_finding, unverifiable};

/// Entries verified and committed together (a multiple of 256): larger
/// chunks cost memory and rework after a crash, smaller ones commits.
pub const CHUNK: u64 = 16_384;

/// Why following stopped.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The log could not be read.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The log served something unparseable (retryable: it proves nothing).
    #[error("the log served malformed data: {0}")]
    Malformed(String),
    /// The log's answer does not verify; a `log-unverifiable` alert was
    /// raised (once per episode) and following goes on with retries.
    #[error("the log's answer does not verify: {0}")]
    Unverifiable(String),
    /// The state database failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The state cannot be used with these settings.
    #[error("{0}")]
    Setup(String),
    /// The log signed contradicting checkpoints; the alert with this id
    /// holds the evidence (raised once; every later stop names it).
    #[error("the log signed contradicting checkpoints (evidence in alert {0}); following stopped")]
    Misbehaviour(String),
}

/// When the follower last verified progress, shared with the daemon's
/// `no-progress` watch (which cannot borrow a follower mid-step).
#[derive(Clone)]
pub struct ProgressClock(Arc<Mutex<Instant>>);

impl ProgressClock {
    fn new() -> ProgressClock {
        ProgressClock(Arc::new(Mutex::new(Instant::now())))
    }

    fn mark(&self) {
        *self.0.lock().expect("progress clock") = Instant::now();
    }

    /// Time since the last verified progress (or since the start).
    pub fn lag(&self) -> Duration {
        self.0.lock().expect("progress clock").elapsed()
    }
}

/// Where a new state starts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StartAt {
    /// At this entry (0: the whole history).
    Index(u64),
    /// At the end of the log as it is now.
    End,
}

/// What a follower is told to do.
pub struct Setup {
    /// The log's key.
    pub log_key: VerifierKey,
    /// Registry keys to check envelopes with, if any.
    pub registries: Option<Arc<Registries>>,
    /// Where a new state starts (refused for an existing one).
    pub start: Option<StartAt>,
    /// Rule thresholds.
    pub rules: RuleConfig,
    /// Watch patterns (empty: every package).
    pub watch: Vec<String>,
    /// The witnesses that must have cosigned a checkpoint it follows.
    pub witnesses: WitnessPolicy,
}

/// One log, followed.
pub struct Follower {
    reader: LogReader,
    log_key: VerifierKey,
    witnesses: WitnessPolicy,
    registries: Option<Arc<Registries>>,
    state: Arc<State>,
    meta: Meta,
    range: CompactRange,
    engine: Engine,
    metrics: Arc<Metrics>,
    progress: ProgressClock,
}

fn parse_range(meta: &Meta) -> Result<CompactRange, StateError> {
    let hashes = meta
        .range
        .iter()
        .map(|h| Hash::from_hex(h).ok_or_else(|| StateError::Corrupt("range hash".into())))
        .collect::<Result<Vec<_>, _>>()?;
    CompactRange::from_nodes(TreeSize(meta.cursor), hashes)
        .map_err(|e| StateError::Corrupt(format!("range: {e}")))
}

/// What one [`Follower::step`] did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    /// Size of the checkpoint verified.
    pub size: u64,
    /// Entries processed in this step.
    pub entries: u64,
    /// Alerts raised in this step.
    pub alerts: u64,
}

impl Follower {
    /// Opens the state for the log `log_key` at `reader`. A state that
    /// never started needs `start`; an existing one refuses `start` and a
    /// different log key, so a state is never silently re-baselined.
    pub async fn open(
        reader: LogReader,
        state: State,
        setup: Setup,
        metrics: Arc<Metrics>,
    ) -> Result<Follower, FollowError> {
        let Setup {
            log_key,
            registries,
            start,
            rules: config,
            watch,
            witnesses,
        } = setup;
        let key_text = log_key.to_string();
        let meta = match (state.meta()?, start) {
            (Some(meta), None) => {
                if meta.layout < LAYOUT {
                    return Err(FollowError::Setup(
                        "the state was written by an older gatelog-monitor, which kept package records by name alone (not per registry) and timed rules by the registry's clock; start a new --state folder (--start-at 0)".into(),
                    ));
                }
                if meta.log_key != key_text {
                    return Err(FollowError::Setup(format!(
                        "the state follows the log with key {}, not {key_text}; use another --state folder",
                        meta.log_key
                    )));
                }
                meta
            }
            (Some(meta), Some(_)) => {
                return Err(FollowError::Setup(format!(
                    "the state already follows a log (cursor at entry {}); --start-at and --start-at-end only apply to a new state folder",
                    meta.cursor
                )));
            }
            (None, None) => {
                return Err(FollowError::Setup(
                    "the state folder holds no monitor state; pass --start-at 0 to audit the whole log, or --start-at-end to watch from now on".into(),
                ));
            }
            (None, Some(start)) => {
                let meta = Self::begin(&reader, &log_key, start).await?;
                state.commit(&meta, Commit::default())?;
                meta
            }
        };
        let range = parse_range(&meta)?;
        let engine = Engine::new(config, watch, meta.start);
        metrics.verified_size.set(meta.cursor as i64);
        Ok(Follower {
            reader,
            log_key,
            witnesses,
            registries,
            state: Arc::new(state),
            meta,
            range,
            engine,
            metrics,
            progress: ProgressClock::new(),
        })
    }

    /// The first state: the whole log, or its current end (whose compact
    /// range is read from tiles and checked against the checkpoint).
    async fn begin(
        reader: &LogReader,
        log_key: &VerifierKey,
        start: StartAt,
    ) -> Result<Meta, FollowError> {
        let mut meta = Meta {
            log_key: log_key.to_string(),
            start: 0,
            checkpoint: None,
            cursor: 0,
            range: Vec::new(),
            last_seq: 0,
            misbehaviour: Vec::new(),
            layout: LAYOUT,
            progress_ms: 0,
            trouble: Vec::new(),
            episodes: 0,
        };
        if start == StartAt::Index(0) {
            return Ok(meta);
        }
        let bytes = reader.checkpoint().await?;
        let cp = open(&bytes, log_key).map_err(|e| {
            FollowError::Setup(format!("the log's checkpoint does not verify: {e}"))
        })?;
        let size = cp.head().size;
        let at = match start {
            StartAt::End => size,
            StartAt::Index(i) if i <= size.0 => TreeSize(i),
            StartAt::Index(i) => {
                return Err(FollowError::Setup(format!(
                    "--start-at {i} is beyond the log's {size} entries"
                )));
            }
        };
        let range = tiles::range_at(reader, at, size).await?;
        let proof = tiles::consistency(reader, at, size).await?;
        verify_consistency(&range.head(), &cp.head(), &proof).map_err(|e| {
            FollowError::Setup(format!(
                "the log's tiles do not match its checkpoint at {size}: {e}"
            ))
        })?;
        meta.start = at.0;
        meta.cursor = at.0;
        meta.range = range.hashes().iter().map(Hash::to_hex).collect();
        meta.checkpoint = Some(String::from_utf8_lossy(&cp.to_bytes()).into_owned());
        Ok(meta)
    }

    /// Entries processed so far.
    pub fn cursor(&self) -> u64 {
        self.meta.cursor
    }

    /// The state (for sinks).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The state, shared (for a delivery task).
    pub fn shared_state(&self) -> Arc<State> {
        self.state.clone()
    }

    /// Sequence number of the last alert raised.
    pub fn last_seq(&self) -> u64 {
        self.meta.last_seq
    }

    /// The origin of the followed log.
    pub fn origin(&self) -> &str {
        self.log_key.name()
    }

    /// When the follower last verified progress.
    pub fn progress_clock(&self) -> ProgressClock {
        self.progress.clone()
    }

    /// Whether alerts are marked unauthenticated (no registry keys).
    pub fn unauthenticated(&self) -> bool {
        self.registries.is_none()
    }

    fn remembered(&self) -> Result<Option<SignedCheckpoint>, FollowError> {
        match &self.meta.checkpoint {
            None => Ok(None),
            Some(text) => open(text.as_bytes(), &self.log_key)
                .map(Some)
                .map_err(|e| StateError::Corrupt(format!("stored checkpoint: {e}")).into()),
        }
    }

    /// Fetches the log's checkpoint and processes every entry up to it.
    /// Answers that do not verify raise `log-unverifiable` (once per
    /// episode) and return [`FollowError::Unverifiable`]: retry later.
    /// Only signed evidence returns [`FollowError::Misbehaviour`].
    pub async fn step(&mut self) -> Result<Progress, FollowError> {
        match self.step_verified().await {
            Err(FollowError::Malformed(why)) => {
                let f = unverifiable(
                    self.meta.cursor,
                    format!("the log served data that cannot be read: {why}"),
                );
                Err(self.unverifiable(f)?)
            }
            other => other,
        }
    }

    async fn step_verified(&mut self) -> Result<Progress, FollowError> {
        let bytes = self.reader.checkpoint().await?;
        let cp = match open(&bytes, &self.log_key) {
            Ok(cp) => cp,
            Err(e) => {
                let mut f = unverifiable(
                    self.meta.cursor,
                    format!("the log's checkpoint does not verify with its key: {e}"),
                );
                f.details.insert(
                    "checkpoint".into(),
                    String::from_utf8_lossy(&bytes).into_owned().into(),
                );
                return Err(self.unverifiable(f)?);
            }
        };
        if let Err(e) = self.witnesses.check(&cp.note) {
            // Not followed: a checkpoint without the quorum may be a view
            // shown only to this monitor. Retried until one has it.
            let mut f = unverifiable(
                self.meta.cursor,
                format!("the log's checkpoint of {} entries: {e}", cp.head().size),
            );
            f.rule = RuleId::Unwitnessed;
            f.details.insert(
                "checkpoint".into(),
                String::from_utf8_lossy(&bytes).into_owned().into(),
            );
            return Err(self.unverifiable(f)?);
        }
        let size = cp.head().size;
        self.metrics.log_size.set(size.0 as i64);
        if let Some(old) = self.remembered()? {
            match self.check_against(&old, &cp).await? {
                Some(Verdict::Fork(f)) => return Err(self.raise(f, size.0, "fork")?),
                Some(Verdict::Unverifiable(f)) => return Err(self.unverifiable(f)?),
                None => {}
            }
            if size < old.head().size {
                // A stale (cached) checkpoint, proven consistent: wait. It
                // is not progress.
                return Ok(Progress {
                    size: self.meta.cursor,
                    ..Progress::default()
                });
            }
        }
        self.meta.checkpoint = Some(String::from_utf8_lossy(&cp.to_bytes()).into_owned());
        let mut progress = Progress {
            size: size.0,
            ..Progress::default()
        };
        if self.meta.cursor >= size.0 {
            self.progressed();
            self.commit_meta()?;
        }
        // The next chunk downloads and decodes while this one is verified,
        // judged and committed; it is judged only after its own proof.
        let mut next: Option<Prefetch> = None;
        while self.meta.cursor < size.0 {
            let from = self.meta.cursor;
            let to = size.0.min((from / CHUNK + 1) * CHUNK);
            let decoded = match next.take() {
                Some(task) => task
                    .await
                    .map_err(|e| FollowError::Malformed(format!("download task: {e}")))??,
                None => self.prefetch(from, to, size).await?,
            };
            // The byte budget may have ended the chunk early.
            let to = from + decoded.len() as u64;
            if to < size.0 {
                let after = size.0.min((to / CHUNK + 1) * CHUNK);
                next = Some(tokio::spawn(self.prefetch(to, after, size)));
            }
            let done = self.chunk(&cp, to, decoded).await;
            let (entries, alerts) = done.inspect_err(|_| {
                if let Some(task) = next.take() {
                    task.abort();
                }
            })?;
            progress.entries += entries;
            progress.alerts += alerts;
        }
        Ok(progress)
    }

    /// Downloads and decodes entries `[from, to)` of the tree of `size`
    /// (nothing is verified against the tree yet).
    fn prefetch(
        &self,
        from: u64,
        to: u64,
        size: TreeSize,
    ) -> impl Future<Output = Result<Vec<decode::Decoded>, FollowError>> + Send + 'static {
        let reader = self.reader.clone();
        let registries = self.registries.clone();
        async move {
            let fetched = download::fetch_chunk(reader, from, to, size).await?;
            tokio::task::spawn_blocking(move || {
                // The bundles' bytes go back to the budget once decoded.
                let download::Fetched { tiles, bundles, to } = fetched;
                decode::decode(&tiles, &bundles, from, to, registries.as_deref())
            })
            .await
            .map_err(|e| FollowError::Malformed(format!("decode task: {e}")))?
        }
    }

    /// Verifies, judges and commits the decoded entries `[cursor, to)`.
    async fn chunk(
        &mut self,
        cp: &SignedCheckpoint,
        to: u64,
        decoded: Vec<decode::Decoded>,
    ) -> Result<(u64, u64), FollowError> {
        let from = self.meta.cursor;
        let size = cp.head().size;
        let started = std::time::Instant::now();
        let mut range = self.range.clone();
        for d in &decoded {
            range.append(d.leaf_hash);
        }
        // The chunk must extend the verified prefix into the signed tree.
        let proof = tiles::consistency(&self.reader, TreeSize(to), size).await?;
        if verify_consistency(&range.head(), &cp.head(), &proof).is_err() {
            let f = self.locate_mismatch(&decoded, size).await?;
            return Err(self.unverifiable(f)?);
        }
        let proven_at = started.elapsed();

        let state: &State = &self.state;
        let engine = &mut self.engine;
        let mut findings = Vec::new();
        tokio::task::block_in_place(|| -> Result<(), FollowError> {
            for d in &decoded {
                match &d.entry {
                    Ok(entry) => findings.extend(
                        engine
                            .apply(state, entry)
                            .map_err(|e| FollowError::State(StateError::Db(e)))?,
                    ),
                    Err(why) => findings.push(log_finding(
                        d.index,
                        format!("entry {} is in the signed tree but {why}", d.index),
                    )),
                }
            }
            let t = std::time::Instant::now();
            findings.extend(engine.finish_chunk());
            tracing::trace!(
                signatures_ms = t.elapsed().as_millis() as u64,
                "device signatures checked"
            );
            Ok(())
        })
        .inspect_err(|_| self.engine.reset())?;
        let judged_at = started.elapsed();
        findings.sort_by_key(|f| (f.trigger, f.rule));

        let mut meta = self.meta.clone();
        meta.cursor = to;
        meta.range = range.hashes().iter().map(Hash::to_hex).collect();
        meta.progress_ms = trouble::now_ms();
        meta.trouble.clear();
        let alerts = self.number(&mut meta, findings, size.0);
        let count = alerts.len() as u64;
        let commit = Commit {
            records: self.engine.index_mut().take_dirty(),
            alerts,
        };
        if let Err(e) = self.state.commit(&meta, commit) {
            self.engine.reset();
            return Err(e.into());
        }
        self.engine.index_mut().forget(false);
        self.meta = meta;
        self.range = range;
        self.progress.mark();
        self.metrics.entries.inc_by(to - from);
        self.metrics.verified_size.set(to as i64);
        tracing::debug!(
            from,
            to,
            prove_ms = proven_at.as_millis() as u64,
            judge_ms = (judged_at - proven_at).as_millis() as u64,
            commit_ms = (started.elapsed() - judged_at).as_millis() as u64,
            "chunk committed"
        );
        Ok((to - from, count))
    }

    /// Turns findings into numbered alerts, advancing `meta.last_seq`.
    fn number(&self, meta: &mut Meta, findings: Vec<Finding>, size: u64) -> Vec<Alert> {
        findings
            .into_iter()
            .map(|f| {
                meta.last_seq += 1;
                self.metrics.alert(f.rule);
                Alert {
                    schema: SCHEMA.into(),
                    seq: meta.last_seq,
                    id: format!("{}@{}", f.rule, f.trigger),
                    rule: f.rule,
                    severity: f.severity,
                    log: self.origin().to_owned(),
                    package: f.package,
                    version: f.version,
                    message: f.message,
                    explanation: f.rule.explanation().into(),
                    evidence: f.evidence,
                    event_time: f.event_time,
                    checkpoint_size: size,
                    details: f.details,
                    unauthenticated: self.registries.is_none(),
                }
            })
            .collect()
    }

    /// Records a log-misbehaviour alert of signed evidence (once per
    /// distinct lie) and returns the error that stops following.
    fn raise(
        &mut self,
        finding: Finding,
        size: u64,
        kind: &str,
    ) -> Result<FollowError, FollowError> {
        let id = format!("{}@{}:{kind}", finding.rule, finding.trigger);
        if !self.meta.misbehaviour.contains(&id) {
            let mut meta = self.meta.clone();
            meta.misbehaviour.push(id.clone());
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
        }
        Ok(FollowError::Misbehaviour(id))
    }
}

/// A chunk downloading and decoding in the background.
type Prefetch = tokio::task::JoinHandle<Result<Vec<decode::Decoded>, FollowError>>;
