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

use std::path::Path;

use gatelog_core::{Hash, LeafIndex, NodeId, TreeSize};
use rocksdb::{DB, Direction, IteratorMode, Options, WriteBatch, WriteOptions};

use super::{AppendBatch, IndexKey, LogStore, StoreError, TreeState};

const STATE: &[u8] = b"Mstate";
const CHECKPOINT: &[u8] = b"Mcheckpoint";

/// A RocksDB-backed log store.
pub struct RocksStore {
    db: DB,
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
        IndexKey::PackageHead(p) => {
            out.push(b'p');
            push_part(&mut out, p.as_bytes());
        }
        IndexKey::Package(p) => {
            out.push(b'P');
            push_part(&mut out, p.as_bytes());
        }
        IndexKey::Version(p, v) => {
            out.push(b'V');
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
        Ok(RocksStore {
            db: DB::open(&opts, path).map_err(backend)?,
        })
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
        })
    }

    fn write_synced(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db.write_opt(batch, &opts).map_err(backend)
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
        self.write_synced(wb)
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
