//! A store wrapper that injects failures, for tests of the sequencer's and
//! the startup check's crash reasoning. A write can fail without persisting
//! ("failed, not persisted") or fail after persisting ("failed, but
//! persisted"), which is what a timeout or a lost acknowledgement looks
//! like; a read can fail. Faults are armed for the n-th call of one
//! operation and fire once; every call is counted, so a test can first
//! count the calls of a fault-free run and then fail each one in turn.

use std::collections::HashMap;
use std::sync::Mutex;

use gatelog_core::{Hash, LeafIndex, NodeId, TreeSize};

use super::{AppendBatch, IndexKey, LogStore, StoreError, TreeState};

/// What an armed call does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Fault {
    /// Works.
    #[default]
    None,
    /// Fails and writes nothing (for reads: fails).
    FailNotPersisted,
    /// Writes, then reports failure (for reads: fails like the above).
    FailPersisted,
}

/// The store's operations, one per [`LogStore`] method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// [`LogStore::state`].
    State,
    /// [`LogStore::latest_checkpoint`].
    LatestCheckpoint,
    /// [`LogStore::read_hashes`].
    ReadHashes,
    /// [`LogStore::read_leaves`].
    ReadLeaves,
    /// [`LogStore::lookup`].
    Lookup,
    /// [`LogStore::scan`].
    Scan,
    /// [`LogStore::append`].
    Append,
    /// [`LogStore::put_checkpoint`].
    PutCheckpoint,
}

impl Op {
    /// Every operation.
    pub const ALL: [Op; 8] = [
        Op::State,
        Op::LatestCheckpoint,
        Op::ReadHashes,
        Op::ReadLeaves,
        Op::Lookup,
        Op::Scan,
        Op::Append,
        Op::PutCheckpoint,
    ];

    /// Whether the operation writes.
    pub fn writes(self) -> bool {
        matches!(self, Op::Append | Op::PutCheckpoint)
    }
}

/// Wraps a store; counts calls and fires armed faults.
pub struct FaultyStore<S> {
    /// The real store.
    pub inner: S,
    calls: Mutex<HashMap<Op, u64>>,
    armed: Mutex<Vec<Armed>>,
    fired: Mutex<u64>,
}

/// A fault waiting for the `at`-th call of `op`; when it fires, `then` is
/// armed for the next call of its operation (a second failure, e.g. while
/// the sequencer reloads or the log restarts).
struct Armed {
    op: Op,
    at: u64,
    fault: Fault,
    then: Option<(Op, Fault)>,
}

impl<S: LogStore> FaultyStore<S> {
    /// No faults armed.
    pub fn new(inner: S) -> FaultyStore<S> {
        FaultyStore {
            inner,
            calls: Mutex::new(HashMap::new()),
            armed: Mutex::new(Vec::new()),
            fired: Mutex::new(0),
        }
    }

    /// Calls of `op` so far.
    pub fn calls(&self, op: Op) -> u64 {
        self.calls.lock().unwrap().get(&op).copied().unwrap_or(0)
    }

    /// Arms the `n`-th call of `op` (counted from this store's creation).
    pub fn fail_call(&self, op: Op, n: u64, fault: Fault) {
        self.fail_call_then(op, n, fault, None);
    }

    /// Arms the `n`-th call of `op`, and once it fired, the next call of
    /// `then`'s operation.
    pub fn fail_call_then(&self, op: Op, n: u64, fault: Fault, then: Option<(Op, Fault)>) {
        self.armed.lock().unwrap().push(Armed {
            op,
            at: n,
            fault,
            then,
        });
    }

    /// Arms the next call of `op`.
    pub fn fail_next(&self, op: Op, fault: Fault) {
        self.fail_call(op, self.calls(op) + 1, fault);
    }

    /// Arms the next `append`.
    pub fn fail_next_append(&self, fault: Fault) {
        self.fail_next(Op::Append, fault);
    }

    /// Arms the next `put_checkpoint`.
    pub fn fail_next_checkpoint(&self, fault: Fault) {
        self.fail_next(Op::PutCheckpoint, fault);
    }

    /// Faults fired so far.
    pub fn fired(&self) -> u64 {
        *self.fired.lock().unwrap()
    }

    /// Counts a call of `op` and returns the fault armed for it, if any.
    fn hit(&self, op: Op) -> Fault {
        let n = {
            let mut calls = self.calls.lock().unwrap();
            let n = calls.entry(op).or_default();
            *n += 1;
            *n
        };
        let mut armed = self.armed.lock().unwrap();
        let Some(i) = armed.iter().position(|a| a.op == op && a.at == n) else {
            return Fault::None;
        };
        let fired = armed.remove(i);
        *self.fired.lock().unwrap() += 1;
        if let Some((then, fault)) = fired.then {
            let at = self.calls.lock().unwrap().get(&then).copied().unwrap_or(0) + 1;
            armed.push(Armed {
                op: then,
                // The same operation's next call is after this one.
                at: if then == op { n + 1 } else { at },
                fault,
                then: None,
            });
        }
        fired.fault
    }

    fn read<T>(&self, op: Op, f: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        match self.hit(op) {
            Fault::None => f(),
            Fault::FailNotPersisted | Fault::FailPersisted => Err(StoreError::Injected("read")),
        }
    }

    fn write(
        &self,
        op: Op,
        f: impl FnOnce() -> Result<(), StoreError>,
        what: [&'static str; 2],
    ) -> Result<(), StoreError> {
        match self.hit(op) {
            Fault::None => f(),
            Fault::FailNotPersisted => Err(StoreError::Injected(what[0])),
            Fault::FailPersisted => {
                f()?;
                Err(StoreError::Injected(what[1]))
            }
        }
    }
}

impl<S: LogStore> LogStore for FaultyStore<S> {
    fn state(&self) -> Result<TreeState, StoreError> {
        self.read(Op::State, || self.inner.state())
    }
    fn latest_checkpoint(&self) -> Result<Option<(TreeSize, Vec<u8>)>, StoreError> {
        self.read(Op::LatestCheckpoint, || self.inner.latest_checkpoint())
    }
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        self.read(Op::ReadHashes, || self.inner.read_hashes(ids))
    }
    fn read_stored_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        self.inner.read_stored_hashes(ids)
    }
    fn read_leaves(&self, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        self.read(Op::ReadLeaves, || self.inner.read_leaves(start, count))
    }
    fn lookup(&self, key: &IndexKey) -> Result<Option<LeafIndex>, StoreError> {
        self.read(Op::Lookup, || self.inner.lookup(key))
    }
    fn lookup_many(&self, keys: &[IndexKey]) -> Result<Vec<Option<LeafIndex>>, StoreError> {
        self.inner.lookup_many(keys)
    }
    fn scan(
        &self,
        key: &IndexKey,
        after: Option<LeafIndex>,
        limit: usize,
    ) -> Result<Vec<LeafIndex>, StoreError> {
        self.read(Op::Scan, || self.inner.scan(key, after, limit))
    }
    fn append(&self, batch: &AppendBatch) -> Result<(), StoreError> {
        self.write(
            Op::Append,
            || self.inner.append(batch),
            ["append, not persisted", "append, persisted"],
        )
    }
    fn put_checkpoint(&self, size: TreeSize, note: &[u8]) -> Result<(), StoreError> {
        self.write(
            Op::PutCheckpoint,
            || self.inner.put_checkpoint(size, note),
            ["checkpoint, not persisted", "checkpoint, persisted"],
        )
    }
}
