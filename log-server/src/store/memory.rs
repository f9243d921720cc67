//! An in-memory [`LogStore`] for tests and experiments. Not durable.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::RwLock;

use gatelog_core::{Hash, LeafIndex, NodeId, TreeSize};

use super::{AppendBatch, IndexKey, LogStore, StoreError, TreeState};

#[derive(Default)]
struct Inner {
    state: TreeState,
    checkpoint: Option<(TreeSize, Vec<u8>)>,
    leaves: Vec<Vec<u8>>,
    nodes: HashMap<NodeId, Hash>,
    unique: HashMap<IndexKey, LeafIndex>,
    lists: BTreeMap<IndexKey, BTreeSet<LeafIndex>>,
}

/// A store that keeps everything in memory.
#[derive(Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }
}

impl LogStore for MemoryStore {
    fn state(&self) -> Result<TreeState, StoreError> {
        Ok(self.read().state)
    }

    fn latest_checkpoint(&self) -> Result<Option<(TreeSize, Vec<u8>)>, StoreError> {
        Ok(self.read().checkpoint.clone())
    }

    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let inner = self.read();
        ids.iter()
            .map(|id| {
                inner
                    .nodes
                    .get(id)
                    .copied()
                    .ok_or_else(|| StoreError::Missing(format!("node {id:?}")))
            })
            .collect()
    }

    fn read_leaves(&self, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let inner = self.read();
        (start..start.saturating_add(count))
            .map(|i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| inner.leaves.get(i))
                    .cloned()
                    .ok_or_else(|| StoreError::Missing(format!("leaf {i}")))
            })
            .collect()
    }

    fn lookup(&self, key: &IndexKey) -> Result<Option<LeafIndex>, StoreError> {
        Ok(self.read().unique.get(key).copied())
    }

    fn scan(
        &self,
        key: &IndexKey,
        after: Option<LeafIndex>,
        limit: usize,
    ) -> Result<Vec<LeafIndex>, StoreError> {
        let inner = self.read();
        let Some(list) = inner.lists.get(key) else {
            return Ok(Vec::new());
        };
        Ok(list
            .iter()
            .filter(|i| after.is_none_or(|a| **i > a))
            .take(limit)
            .copied()
            .collect())
    }

    fn append(&self, batch: &AppendBatch) -> Result<(), StoreError> {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if batch.first != inner.leaves.len() as u64 {
            return Err(StoreError::Corrupt(format!(
                "append at {} to a store of {} leaves",
                batch.first,
                inner.leaves.len()
            )));
        }
        inner.leaves.extend(batch.leaves.iter().cloned());
        inner.nodes.extend(batch.nodes.iter().copied());
        for (key, index) in &batch.keys {
            if key.is_list() {
                inner.lists.entry(key.clone()).or_default().insert(*index);
            } else {
                inner.unique.insert(key.clone(), *index);
            }
        }
        inner.state = batch.state;
        Ok(())
    }

    fn put_checkpoint(&self, size: TreeSize, note: &[u8]) -> Result<(), StoreError> {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        inner.checkpoint = Some((size, note.to_vec()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passes_the_conformance_suite() {
        super::super::conformance::run(super::MemoryStore::new);
    }
}
