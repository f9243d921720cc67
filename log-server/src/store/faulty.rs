//! A store wrapper that injects failures into writes, for tests of the
//! sequencer's crash reasoning: a write can fail without persisting
//! ("failed, not persisted") or fail after persisting ("failed, but
//! persisted"), which is what a timeout or a lost acknowledgement looks like.

use std::sync::Mutex;

use gatelog_core::{Hash, LeafIndex, NodeId, TreeSize};

use super::{AppendBatch, IndexKey, LogStore, StoreError, TreeState};

/// What the next write of one kind does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Fault {
    /// Works.
    #[default]
    None,
    /// Fails and writes nothing.
    FailNotPersisted,
    /// Writes, then reports failure.
    FailPersisted,
}

/// Wraps a store; each fault fires once.
pub struct FaultyStore<S> {
    /// The real store.
    pub inner: S,
    append: Mutex<Fault>,
    checkpoint: Mutex<Fault>,
}

impl<S: LogStore> FaultyStore<S> {
    /// No faults armed.
    pub fn new(inner: S) -> FaultyStore<S> {
        FaultyStore {
            inner,
            append: Mutex::new(Fault::None),
            checkpoint: Mutex::new(Fault::None),
        }
    }

    /// Arms the next `append`.
    pub fn fail_next_append(&self, fault: Fault) {
        *self.append.lock().unwrap() = fault;
    }

    /// Arms the next `put_checkpoint`.
    pub fn fail_next_checkpoint(&self, fault: Fault) {
        *self.checkpoint.lock().unwrap() = fault;
    }
}

fn fire(slot: &Mutex<Fault>) -> Fault {
    std::mem::take(&mut *slot.lock().unwrap())
}

impl<S: LogStore> LogStore for FaultyStore<S> {
    fn state(&self) -> Result<TreeState, StoreError> {
        self.inner.state()
    }
    fn latest_checkpoint(&self) -> Result<Option<(TreeSize, Vec<u8>)>, StoreError> {
        self.inner.latest_checkpoint()
    }
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        self.inner.read_hashes(ids)
    }
    fn read_leaves(&self, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        self.inner.read_leaves(start, count)
    }
    fn lookup(&self, key: &IndexKey) -> Result<Option<LeafIndex>, StoreError> {
        self.inner.lookup(key)
    }
    fn scan(
        &self,
        key: &IndexKey,
        after: Option<LeafIndex>,
        limit: usize,
    ) -> Result<Vec<LeafIndex>, StoreError> {
        self.inner.scan(key, after, limit)
    }
    fn append(&self, batch: &AppendBatch) -> Result<(), StoreError> {
        match fire(&self.append) {
            Fault::None => self.inner.append(batch),
            Fault::FailNotPersisted => Err(StoreError::Injected("append, not persisted")),
            Fault::FailPersisted => {
                self.inner.append(batch)?;
                Err(StoreError::Injected("append, persisted"))
            }
        }
    }
    fn put_checkpoint(&self, size: TreeSize, note: &[u8]) -> Result<(), StoreError> {
        match fire(&self.checkpoint) {
            Fault::None => self.inner.put_checkpoint(size, note),
            Fault::FailNotPersisted => Err(StoreError::Injected("checkpoint, not persisted")),
            Fault::FailPersisted => {
                self.inner.put_checkpoint(size, note)?;
                Err(StoreError::Injected("checkpoint, persisted"))
            }
        }
    }
}
