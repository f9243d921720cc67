//! The monitor's durable state, in RocksDB under `--state`: which log it
//! follows, the last verified checkpoint, the cursor and compact range of
//! the entries processed, the rules' index records, the alert outbox and
//! each sink's delivery cursor.
//!
//! Everything one chunk of entries changes (records, cursor, range, new
//! alerts) is written in one synced batch, so after a crash the state is
//! either before or after the chunk: no entry is processed twice for
//! alerts and none is skipped.

use std::path::Path;

use rocksdb::{DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions};
use serde::{Deserialize, Serialize};

use crate::alert::Alert;
use crate::index::RecordSource;

/// Why the state cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// RocksDB failed (disk, permissions, corruption).
    #[error("state database: {0}")]
    Db(String),
    /// A stored value does not decode.
    #[error("state database is corrupt: {0}")]
    Corrupt(String),
}

fn db_err(e: rocksdb::Error) -> StateError {
    StateError::Db(e.to_string())
}

const META: &[u8] = b"m/meta";

/// Where the monitor is in the log. One value, rewritten by every commit.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Meta {
    /// The log's verifier key (text form): a state follows one log.
    pub log_key: String,
    /// The first entry this monitor processed (0 = the whole history).
    pub start: u64,
    /// The last verified checkpoint, as signed (text), if any.
    pub checkpoint: Option<String>,
    /// Entries processed: every index below is done.
    pub cursor: u64,
    /// Compact range of the first `cursor` leaves (hex hashes, left to
    /// right), verified against `checkpoint`.
    pub range: Vec<String>,
    /// Sequence number of the last alert written.
    pub last_seq: u64,
    /// Ids of log-misbehaviour alerts already raised, so a restart that
    /// finds the same lie does not raise it again.
    pub misbehaviour: Vec<String>,
    /// How the records are keyed and timed ([`LAYOUT`]); 0 for states of
    /// monitors before it was recorded.
    #[serde(default)]
    pub layout: u32,
    /// When the monitor last verified progress (a checkpoint proven and
    /// every entry up to it judged), ms since the epoch; 0 if never.
    #[serde(default)]
    pub progress_ms: u64,
    /// The trouble (unverifiable answers, no progress) already alerted on
    /// since the last verified progress, so it is alerted once, and again
    /// only after the log recovered.
    #[serde(default)]
    pub trouble: Vec<String>,
    /// Episodes of trouble alerted on so far (they number the alert ids).
    #[serde(default)]
    pub episodes: u64,
}

/// The record layout this monitor writes: 1 keyed every record by
/// registry host as well as package, version, device or identity, and
/// timed the recency windows with the log's `logged_at`. Older states
/// keyed packages by name alone and must be rebuilt.
pub const LAYOUT: u32 = 1;

/// The state database.
pub struct State {
    db: DB,
    hook: Option<FaultHook>,
}

/// The state operations a [`FaultHook`] can fail: the commit of a chunk
/// (records, cursor, range and new alerts), a sink's cursor update, and
/// the outbox read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StateOp {
    /// [`State::commit`].
    Commit,
    /// [`State::set_delivered`].
    SetDelivered,
    /// [`State::alerts_after`].
    AlertsAfter,
}

/// What a [`FaultHook`] does to one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injected {
    /// Nothing: the call runs.
    Nothing,
    /// The call fails and writes nothing.
    FailBefore,
    /// The call writes, then reports a failure (a lost acknowledgement).
    FailAfter,
}

/// Asked before every [`StateOp`]; lets tests fail the state's writes the
/// way a full disk or a crash would. Production states have none.
pub type FaultHook = std::sync::Arc<dyn Fn(StateOp) -> Injected + Send + Sync>;

/// What one commit writes.
#[derive(Default)]
pub struct Commit {
    /// Index records (key, JSON).
    pub records: Vec<(String, Vec<u8>)>,
    /// New alerts, numbered after `meta.last_seq` of the previous commit.
    pub alerts: Vec<Alert>,
}

fn alert_key(seq: u64) -> String {
    format!("a/{seq:020}")
}

impl State {
    /// Opens (creating if needed) the state database in `dir`.
    pub fn open(dir: &Path) -> Result<State, StateError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StateError::Db(format!("{}: {e}", dir.display())))?;
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.set_paranoid_checks(true);
        // The rules look up many records that do not exist yet (every new
        // version): bloom filters answer those misses without searching
        // the memtable and every table file.
        let mut tables = rocksdb::BlockBasedOptions::default();
        tables.set_bloom_filter(10.0, false);
        opts.set_block_based_table_factory(&tables);
        opts.set_memtable_whole_key_filtering(true);
        opts.set_memtable_prefix_bloom_ratio(0.1);
        let db = DB::open(&opts, dir).map_err(db_err)?;
        Ok(State { db, hook: None })
    }

    /// [`State::open`] with a fault hook, for tests of error handling.
    pub fn open_with_hook(dir: &Path, hook: FaultHook) -> Result<State, StateError> {
        let mut state = State::open(dir)?;
        state.hook = Some(hook);
        Ok(state)
    }

    /// Runs `write` unless the hook fails the call before it; reports the
    /// failure the hook asks for after it.
    fn guarded<T>(
        &self,
        op: StateOp,
        write: impl FnOnce() -> Result<T, StateError>,
    ) -> Result<T, StateError> {
        let injected = self.hook.as_ref().map_or(Injected::Nothing, |h| h(op));
        let fail = || StateError::Db(format!("injected fault in {op:?}"));
        if injected == Injected::FailBefore {
            return Err(fail());
        }
        let out = write()?;
        match injected {
            Injected::FailAfter => Err(fail()),
            _ => Ok(out),
        }
    }

    /// The stored position, or `None` for a state that never started.
    pub fn meta(&self) -> Result<Option<Meta>, StateError> {
        match self.db.get(META).map_err(db_err)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StateError::Corrupt(format!("meta: {e}"))),
        }
    }

    /// Writes `meta` with everything in `commit`, atomically and synced.
    pub fn commit(&self, meta: &Meta, commit: Commit) -> Result<(), StateError> {
        let mut batch = WriteBatch::default();
        for (key, value) in &commit.records {
            batch.put(key.as_bytes(), value);
        }
        for alert in &commit.alerts {
            batch.put(
                alert_key(alert.seq).as_bytes(),
                alert.to_json_line().as_bytes(),
            );
        }
        batch.put(
            META,
            serde_json::to_vec(meta).expect("meta always serializes"),
        );
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.guarded(StateOp::Commit, || {
            self.db.write_opt(batch, &opts).map_err(db_err)
        })
    }

    /// Alerts with `seq` greater than `after`, at most `limit`, in order.
    pub fn alerts_after(&self, after: u64, limit: usize) -> Result<Vec<Alert>, StateError> {
        self.guarded(StateOp::AlertsAfter, || self.read_alerts(after, limit))
    }

    fn read_alerts(&self, after: u64, limit: usize) -> Result<Vec<Alert>, StateError> {
        let from = alert_key(after + 1);
        let mut out = Vec::new();
        let iter = self
            .db
            .iterator(IteratorMode::From(from.as_bytes(), Direction::Forward));
        for item in iter {
            let (key, value) = item.map_err(db_err)?;
            if !key.starts_with(b"a/") || out.len() >= limit {
                break;
            }
            let alert: Alert = serde_json::from_slice(&value)
                .map_err(|e| StateError::Corrupt(format!("alert: {e}")))?;
            out.push(alert);
        }
        Ok(out)
    }

    /// The last alert `sink` delivered (0 = none).
    pub fn delivered(&self, sink: &str) -> Result<u64, StateError> {
        Ok(self.delivered_opt(sink)?.unwrap_or(0))
    }

    /// The last alert `sink` delivered, or `None` for a sink never used.
    pub fn delivered_opt(&self, sink: &str) -> Result<Option<u64>, StateError> {
        match self
            .db
            .get(format!("s/{sink}").as_bytes())
            .map_err(db_err)?
        {
            None => Ok(None),
            Some(bytes) => std::str::from_utf8(&bytes)
                .ok()
                .and_then(|s| s.parse().ok())
                .map(Some)
                .ok_or_else(|| StateError::Corrupt(format!("cursor of sink {sink}"))),
        }
    }

    /// Records that `sink` delivered every alert up to `seq` (synced).
    pub fn set_delivered(&self, sink: &str, seq: u64) -> Result<(), StateError> {
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.guarded(StateOp::SetDelivered, || {
            self.db
                .put_opt(format!("s/{sink}").as_bytes(), seq.to_string(), &opts)
                .map_err(db_err)
        })
    }
}

impl RecordSource for State {
    fn load(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.db.get(key.as_bytes()).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::{RuleId, SCHEMA, Severity};

    fn alert(seq: u64) -> Alert {
        Alert {
            schema: SCHEMA.into(),
            seq,
            id: format!("rubber-stamp@{seq}"),
            rule: RuleId::RubberStamp,
            severity: Severity::Medium,
            log: "log".into(),
            package: None,
            version: None,
            message: "m".into(),
            explanation: "e".into(),
            evidence: vec![seq],
            event_time: None,
            checkpoint_size: 9,
            details: Default::default(),
            unauthenticated: false,
        }
    }

    #[test]
    fn commits_survive_reopening_and_alerts_page_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let meta = Meta {
            log_key: "k".into(),
            start: 0,
            checkpoint: None,
            cursor: 12,
            range: vec![],
            last_seq: 3,
            misbehaviour: vec![],
            layout: LAYOUT,
            progress_ms: 5,
            trouble: vec!["x".into()],
            episodes: 1,
        };
        {
            let state = State::open(dir.path()).unwrap();
            assert_eq!(state.meta().unwrap(), None);
            state
                .commit(
                    &meta,
                    Commit {
                        records: vec![("r/p/x".into(), b"{}".to_vec())],
                        alerts: (1..=3).map(alert).collect(),
                    },
                )
                .unwrap();
            state.set_delivered("webhook", 1).unwrap();
        }
        let state = State::open(dir.path()).unwrap();
        assert_eq!(state.meta().unwrap(), Some(meta));
        assert_eq!(state.load("r/p/x").unwrap(), Some(b"{}".to_vec()));
        assert_eq!(state.delivered("webhook").unwrap(), 1);
        assert_eq!(state.delivered("stdout").unwrap(), 0);
        let seqs: Vec<u64> = state
            .alerts_after(1, 10)
            .unwrap()
            .iter()
            .map(|a| a.seq)
            .collect();
        assert_eq!(seqs, vec![2, 3]);
        assert_eq!(state.alerts_after(0, 1).unwrap().len(), 1);
        assert!(state.alerts_after(3, 10).unwrap().is_empty());
    }
}
