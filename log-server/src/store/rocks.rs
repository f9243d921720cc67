//! The RocksDB [`LogStore`]: one database in a folder, every write a
//! `WriteBatch` with a synced WAL.
//!
//! Key layout (one column family; the first byte says what a key is):
//!
//! | key | value |
//! | --- | --- |
//! | `L` ‖ index u64 BE | leaf bytes |
//! | `N` ‖ level u8 ‖ index u64 BE | 32-byte hash |
//! | `U` ‖ kind ‖ parts | leaf index u64 BE (unique keys) |
//! | `I` ‖ kind ‖ parts ‖ index u64 BE | empty (list keys) |
//! | `Mstate` | tree size u64 BE ‖ clock u64 BE |
//! | `Mcheckpoint` | tree size u64 BE ‖ signed note |
//!
//! String parts are length-prefixed (u16 BE) so no name can be a prefix of
//! another key.
//!
//! Reads: the tree's upper levels come from memory ([`UpperLevels`]);
//! bloom filters (in the memtable and the tables) make lookups of keys that
//! do not exist, such as a new envelope's digest, cheap.

use std::path::Path;

use gatelog_core::{Hash, LeafIndex, NodeId, TreeSize};
use rocksdb::{
    BlockBasedOptions, Cache, DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};

use super::upper::{self, UpperLevels};
use super::{AppendBatch, IndexKey, LogStore, StoreError, TreeState};

const STATE: &[u8] = b"Mstate";
const CHECKPOINT: &[u8] = b"Mcheckpoint";
/// The layout of index keys. 2: package and version keys start with the
/// registry host, envelopes are found by content digest. A folder without
/// it but with entries was written by an earlier layout.
const FORMAT: &[u8] = b"Mformat";
const FORMAT_VERSION: &[u8] = b"2";

/// Block cache for tables on disk; recent entries are in the memtables.
const BLOCK_CACHE_BYTES: usize = 64 << 20;

/// A RocksDB-backed log store.
pub struct RocksStore {
    db: DB,
    upper: UpperLevels,
}

fn backend(e: rocksdb::Error) -> StoreError {
    let message = e.into_string();
    // RocksDB passes ENOSPC on as an IO error carrying the OS's text.
    if message.contains("No space left on device") {
        StoreError::DiskFull(message)
    } else {
        StoreError::Backend(message)
    }
}

fn leaf_key(index: u64) -> [u8; 9] {
    let mut k = [b'L'; 9];
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

fn node_key(id: NodeId) -> [u8; 10] {
    let mut k = [b'N'; 10];
    k[1] = id.level;
    k[2..].copy_from_slice(&id.index.to_be_bytes());
    k
}

fn push_part(out: &mut Vec<u8>, part: &[u8]) {
    // Parts are validated names far below 64 KiB; clamp defensively.
    let len = part.len().min(u16::MAX as usize);
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(&part[..len]);
}

fn index_key(tag: u8, key: &IndexKey) -> Vec<u8> {
    let mut out = vec![tag];
    match key {
        IndexKey::LeafHash(h) => {
            out.push(b'h');
            out.extend_from_slice(h.as_bytes());
        }
        IndexKey::Envelope(h) => {
            out.push(b'e');
            out.extend_from_slice(h.as_bytes());
        }
        IndexKey::PackageHead(r, p) => {
            out.push(b'p');
            push_part(&mut out, r.as_bytes());
            push_part(&mut out, p.as_bytes());
        }
        IndexKey::Package(r, p) => {
            out.push(b'P');
            push_part(&mut out, r.as_bytes());
            push_part(&mut out, p.as_bytes());
        }
        IndexKey::Version(r, p, v) => {
            out.push(b'V');
            push_part(&mut out, r.as_bytes());
            push_part(&mut out, p.as_bytes());
            push_part(&mut out, v.as_bytes());
        }
        IndexKey::Device(r, m, d) => {
            out.push(b'D');
            push_part(&mut out, r.as_bytes());
            push_part(&mut out, m.as_bytes());
            push_part(&mut out, d.as_bytes());
        }
    }
    out
}

fn read_u64(bytes: &[u8], what: &str) -> Result<u64, StoreError> {
    let arr: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{what} is not 8 bytes")))?;
    Ok(u64::from_be_bytes(arr))
}

impl RocksStore {
    /// Opens (or creates) the database in `path`.
    pub fn open(path: &Path) -> Result<RocksStore, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        // Surface corruption as errors instead of skipping damaged data.
        opts.set_paranoid_checks(true);
        opts.increase_parallelism(2);
        // Whole-key bloom filters: most lookups (envelope digests, package
        // heads of new packages) are for keys that are not there.
        opts.set_memtable_whole_key_filtering(true);
        opts.set_memtable_prefix_bloom_ratio(0.05);
        let mut table = BlockBasedOptions::default();
        table.set_bloom_filter(10.0, false);
        table.set_block_cache(&Cache::new_lru_cache(BLOCK_CACHE_BYTES));
        opts.set_block_based_table_factory(&table);
        let store = RocksStore {
            db: DB::open(&opts, path).map_err(backend)?,
            upper: UpperLevels::default(),
        };
        let size = store.state()?.size;
        store.check_format(size)?;
        store.fill_upper(upper::missing(size, &[]))?;
        Ok(store)
    }

    /// Opens the database in `path` read-only, as a RocksDB secondary
    /// instance whose own files (its info log) go to `scratch`: nothing in
    /// `path` is written, and a server may keep running on it. Reads see
    /// the database as it was when opened.
    pub fn open_read_only(path: &Path, scratch: &Path) -> Result<RocksStore, StoreError> {
        if !path.join("CURRENT").exists() {
            return Err(StoreError::Missing(format!(
                "no RocksDB store in {}",
                path.display()
            )));
        }
        let mut opts = Options::default();
        opts.set_paranoid_checks(true);
        // A secondary instance must keep every table file open.
        opts.set_max_open_files(-1);
        Ok(RocksStore {
            db: DB::open_as_secondary(&opts, path, scratch).map_err(backend)?,
            // Empty: every read goes to the files, which is what an audit
            // wants to see.
            upper: UpperLevels::default(),
        })
    }

    fn write_synced(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db.write_opt(batch, &opts).map_err(backend)
    }

    /// Reads node ranges `(level, first, end)` from the database into the
    /// upper levels.
    fn fill_upper(&self, ranges: Vec<(u8, u64, u64)>) -> Result<(), StoreError> {
        for (level, first, end) in ranges {
            let from = node_key(NodeId {
                level,
                index: first,
            });
            let iter = self
                .db
                .iterator(IteratorMode::From(&from, Direction::Forward));
            let mut hashes = Vec::with_capacity((end - first) as usize);
            for (index, item) in (first..end).zip(iter) {
                let (key, value) = item.map_err(backend)?;
                let id = NodeId { level, index };
                if *key != node_key(id) {
                    return Err(StoreError::Missing(format!("node {id:?}")));
                }
                hashes.push(
                    Hash::from_slice(&value).ok_or_else(|| {
                        StoreError::Corrupt(format!("node {id:?} is not 32 bytes"))
                    })?,
                );
            }
            if (hashes.len() as u64) < end - first {
                return Err(StoreError::Missing(format!(
                    "node level {level} index {}",
                    first + hashes.len() as u64
                )));
            }
            self.upper.extend(level, first, &hashes);
        }
        Ok(())
    }
}

impl RocksStore {
    /// Refuses a folder whose index keys have another layout, and marks a
    /// new one with this layout.
    fn check_format(&self, size: TreeSize) -> Result<(), StoreError> {
        match self.db.get(FORMAT).map_err(backend)? {
            Some(v) if v == FORMAT_VERSION => Ok(()),
            None if size.0 == 0 => {
                let mut wb = WriteBatch::default();
                wb.put(FORMAT, FORMAT_VERSION);
                self.write_synced(wb)
            }
            found => Err(StoreError::Corrupt(format!(
                "the data folder's index layout is {}, this gatelog reads layout {}: \
                 load its entries into a new folder",
                found.map_or_else(
                    || "1".to_owned(),
                    |v| String::from_utf8_lossy(&v).into_owned()
                ),
                String::from_utf8_lossy(FORMAT_VERSION),
            ))),
        }
    }
}

impl LogStore for RocksStore {
    fn state(&self) -> Result<TreeState, StoreError> {
        match self.db.get(STATE).map_err(backend)? {
            None => Ok(TreeState::default()),
            Some(v) if v.len() == 16 => Ok(TreeState {
                size: TreeSize(read_u64(&v[..8], "tree size")?),
                clock: read_u64(&v[8..], "clock")?,
            }),
            Some(_) => Err(StoreError::Corrupt("tree state is not 16 bytes".into())),
        }
    }

    fn latest_checkpoint(&self) -> Result<Option<(TreeSize, Vec<u8>)>, StoreError> {
        match self.db.get(CHECKPOINT).map_err(backend)? {
            None => Ok(None),
            Some(v) if v.len() > 8 => Ok(Some((
                TreeSize(read_u64(&v[..8], "checkpoint size")?),
                v[8..].to_vec(),
            ))),
            Some(_) => Err(StoreError::Corrupt("checkpoint record too short".into())),
        }
    }

    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let kept: Vec<Option<Hash>> = ids.iter().map(|id| self.upper.get(*id)).collect();
        if kept.iter().all(Option::is_some) {
            return Ok(kept.into_iter().flatten().collect());
        }
        let rest: Vec<NodeId> = ids
            .iter()
            .zip(&kept)
            .filter(|(_, k)| k.is_none())
            .map(|(id, _)| *id)
            .collect();
        let mut read = self.read_stored_hashes(&rest)?.into_iter();
        Ok(kept
            .into_iter()
            .map(|k| k.or_else(|| read.next()).unwrap_or_default())
            .collect())
    }

    fn read_stored_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let keys: Vec<[u8; 10]> = ids.iter().map(|id| node_key(*id)).collect();
        self.db
            .multi_get(&keys)
            .into_iter()
            .zip(ids)
            .map(|(got, id)| match got.map_err(backend)? {
                Some(v) => Hash::from_slice(&v)
                    .ok_or_else(|| StoreError::Corrupt(format!("node {id:?} is not 32 bytes"))),
                None => Err(StoreError::Missing(format!("node {id:?}"))),
            })
            .collect()
    }

    fn read_leaves(&self, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        if count == 1 {
            // A point read is much cheaper than an iterator.
            return match self.db.get(leaf_key(start)).map_err(backend)? {
                Some(leaf) => Ok(vec![leaf]),
                None => Err(StoreError::Missing(format!("leaf {start}"))),
            };
        }
        let mut out = Vec::with_capacity(count.min(4096) as usize);
        let from = leaf_key(start);
        let iter = self
            .db
            .iterator(IteratorMode::From(&from, Direction::Forward));
        for (expected, item) in (start..start.saturating_add(count)).zip(iter) {
            let (key, value) = item.map_err(backend)?;
            if key.len() != 9 || key[0] != b'L' || read_u64(&key[1..], "leaf key")? != expected {
                return Err(StoreError::Missing(format!("leaf {expected}")));
            }
            out.push(value.into_vec());
        }
        if (out.len() as u64) < count {
            return Err(StoreError::Missing(format!(
                "leaf {}",
                start + out.len() as u64
            )));
        }
        Ok(out)
    }

    fn lookup(&self, key: &IndexKey) -> Result<Option<LeafIndex>, StoreError> {
        match self.db.get(index_key(b'U', key)).map_err(backend)? {
            None => Ok(None),
            Some(v) => Ok(Some(LeafIndex(read_u64(&v, "index value")?))),
        }
    }

    fn lookup_many(&self, keys: &[IndexKey]) -> Result<Vec<Option<LeafIndex>>, StoreError> {
        self.db
            .multi_get(keys.iter().map(|k| index_key(b'U', k)))
            .into_iter()
            .map(|got| match got.map_err(backend)? {
                None => Ok(None),
                Some(v) => Ok(Some(LeafIndex(read_u64(&v, "index value")?))),
            })
            .collect()
    }

    fn scan(
        &self,
        key: &IndexKey,
        after: Option<LeafIndex>,
        limit: usize,
    ) -> Result<Vec<LeafIndex>, StoreError> {
        let prefix = index_key(b'I', key);
        let mut from = prefix.clone();
        match after {
            Some(LeafIndex(u64::MAX)) => return Ok(Vec::new()),
            Some(a) => from.extend_from_slice(&(a.0 + 1).to_be_bytes()),
            None => {}
        }
        let mut out = Vec::new();
        for item in self
            .db
            .iterator(IteratorMode::From(&from, Direction::Forward))
        {
            if out.len() >= limit {
                break;
            }
            let (k, _) = item.map_err(backend)?;
            if !k.starts_with(&prefix) || k.len() != prefix.len() + 8 {
                break;
            }
            out.push(LeafIndex(read_u64(&k[prefix.len()..], "list key")?));
        }
        Ok(out)
    }

    fn append(&self, batch: &AppendBatch) -> Result<(), StoreError> {
        let stored = self.state()?;
        if batch.first != stored.size.0 {
            return Err(StoreError::Corrupt(format!(
                "append at {} to a store of {} leaves",
                batch.first, stored.size
            )));
        }
        let mut wb = WriteBatch::default();
        for (i, leaf) in batch.leaves.iter().enumerate() {
            wb.put(leaf_key(batch.first + i as u64), leaf);
        }
        for (id, hash) in &batch.nodes {
            wb.put(node_key(*id), hash.as_bytes());
        }
        for (key, index) in &batch.keys {
            if key.is_list() {
                let mut k = index_key(b'I', key);
                k.extend_from_slice(&index.0.to_be_bytes());
                wb.put(k, []);
            } else {
                wb.put(index_key(b'U', key), index.0.to_be_bytes());
            }
        }
        let mut state = batch.state.size.0.to_be_bytes().to_vec();
        state.extend_from_slice(&batch.state.clock.to_be_bytes());
        wb.put(STATE, state);
        self.write_synced(wb)?;
        // Durable now: keep the new upper nodes (and any a failed but
        // persisted write left out) in memory.
        let gaps = self.upper.absorb(batch.state.size, &batch.nodes);
        if let Err(e) = self.fill_upper(gaps) {
            // The write stands; those nodes are read from the database
            // until a later write fills the gap.
            tracing::warn!("upper tree levels not cached: {e}");
        }
        Ok(())
    }

    fn put_checkpoint(&self, size: TreeSize, note: &[u8]) -> Result<(), StoreError> {
        let mut value = size.0.to_be_bytes().to_vec();
        value.extend_from_slice(note);
        let mut wb = WriteBatch::default();
        wb.put(CHECKPOINT, value);
        self.write_synced(wb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_the_conformance_suite() {
        let dirs = std::sync::Mutex::new(Vec::new());
        super::super::conformance::run(|| {
            let dir = tempfile::tempdir().unwrap();
            let store = RocksStore::open(dir.path()).unwrap();
            dirs.lock().unwrap().push(dir);
            store
        });
    }

    /// Every complete subtree of a tree of `size`, lowest level first.
    fn all_nodes(size: u64) -> Vec<NodeId> {
        (0..64u8)
            .flat_map(|level| (0..size >> level).map(move |index| NodeId { level, index }))
            .collect()
    }

    #[test]
    fn upper_levels_in_memory_match_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let ids = all_nodes(1000);
        let expected = {
            let s = RocksStore::open(dir.path()).unwrap();
            super::super::conformance::fill(&s, 1000);
            // 1000 leaves: 15 nodes at level 6, down to 1 at level 9.
            assert_eq!(s.upper.lengths(), vec![15, 7, 3, 1]);
            let stored = s.read_stored_hashes(&ids).unwrap();
            assert_eq!(s.read_hashes(&ids).unwrap(), stored);
            stored
        };
        // Reopened, the levels are read back from the database.
        let s = RocksStore::open(dir.path()).unwrap();
        assert_eq!(s.upper.lengths(), vec![15, 7, 3, 1]);
        assert_eq!(s.read_hashes(&ids).unwrap(), expected);
        // A node that does not exist is still an error.
        let beyond = NodeId {
            level: 6,
            index: 15,
        };
        assert!(matches!(
            s.read_hashes(&[beyond]),
            Err(StoreError::Missing(_))
        ));
    }

    #[test]
    fn data_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = RocksStore::open(dir.path()).unwrap();
            super::super::conformance::fill(&s, 10);
        }
        let s = RocksStore::open(dir.path()).unwrap();
        assert_eq!(s.state().unwrap().size, TreeSize(10));
        assert_eq!(s.read_leaves(0, 10).unwrap().len(), 10);
    }
}
