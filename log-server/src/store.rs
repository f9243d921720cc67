//! The log's RocksDB store. Every write is one `WriteBatch` with a synced
//! WAL, so after a crash the store holds either all of a commit or none of it.
//!
//! Keys (all in the default column family for now):
//! - `meta/tree_size`: u64 big-endian, the number of durable leaves;
//! - `meta/checkpoint`: the latest signed checkpoint note, byte for byte.

use std::path::Path;

use gatelog_core::TreeSize;
use rocksdb::{DB, Options, WriteBatch, WriteOptions};

const TREE_SIZE: &[u8] = b"meta/tree_size";
const CHECKPOINT: &[u8] = b"meta/checkpoint";

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB reported an error.
    #[error("rocksdb: {0}")]
    Db(#[from] rocksdb::Error),
    /// A stored value is not in the expected format: the store is corrupt.
    #[error("corrupt store: {0}")]
    Corrupt(&'static str),
}

/// The RocksDB-backed store of one log.
pub struct Store {
    db: DB,
}

impl Store {
    /// Opens (or creates) the store in `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.set_paranoid_checks(true);
        Ok(Store {
            db: DB::open(&opts, path)?,
        })
    }

    /// The number of durable leaves.
    pub fn tree_size(&self) -> Result<TreeSize, StoreError> {
        match self.db.get(TREE_SIZE)? {
            None => Ok(TreeSize(0)),
            Some(v) => {
                let bytes: [u8; 8] = v
                    .as_slice()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("tree size is not 8 bytes"))?;
                Ok(TreeSize(u64::from_be_bytes(bytes)))
            }
        }
    }

    /// The latest signed checkpoint, if one was ever stored.
    pub fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get(CHECKPOINT)?)
    }

    /// Durably records a signed checkpoint for `size` (synced WAL).
    pub fn commit_checkpoint(&self, size: TreeSize, note: &[u8]) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        batch.put(TREE_SIZE, size.0.to_be_bytes());
        batch.put(CHECKPOINT, note);
        self.write_synced(batch)
    }

    fn write_synced(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        Ok(self.db.write_opt(batch, &opts)?)
    }
}
