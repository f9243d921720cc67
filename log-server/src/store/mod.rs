//! Storage for one log, behind a small trait so the sequencer and the read
//! API do not know which database holds the bytes.
//!
//! What is stored:
//! - leaves, byte for byte, by index;
//! - every complete subtree hash ([`NodeId`]); nothing else of the tree is
//!   ever stored, so stored hashes never change;
//! - index keys ([`IndexKey`]) that point at leaves: lookups by leaf hash or
//!   envelope content digest, a package's latest event, and per-package,
//!   per-version and per-device lists. Everything of a package or device is
//!   keyed by its registry's host first: one registry's events never enter
//!   another registry's chains, lists or bundles;
//! - the tree size, the log clock and the latest signed checkpoint.
//!
//! Two operations write: [`LogStore::append`] (one atomic, synced batch of
//! leaves, hashes, index keys, size and clock) and
//! [`LogStore::put_checkpoint`] (synced). Everything else reads, and reads
//! never wait for a writer.
//!
//! Backends: [`rocks::RocksStore`] (the real one, keeping the tree's upper
//! levels in memory: [`upper`]) and [`memory::MemoryStore`]; both pass
//! [`conformance`].

#[cfg(test)]
pub mod conformance;
#[cfg(test)]
pub mod faulty;
pub mod memory;
pub mod rocks;
pub mod upper;

use gatelog_core::{Hash, LeafIndex, NodeId, ProofError, TreeSize};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error (I/O, disk full, corruption found by
    /// its own checks).
    #[error("storage: {0}")]
    Backend(String),
    /// The disk holding the store is full: the write did not happen. The
    /// store may refuse further writes until space is freed.
    #[error("the disk holding the log is full: {0}")]
    DiskFull(String),
    /// A stored value is not in the expected format.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// Something that must be stored is missing.
    #[error("missing from store: {0}")]
    Missing(String),
    /// A proof was requested that cannot exist (e.g. index beyond the size).
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// The log key could not sign a checkpoint: nothing new is published.
    #[error("cannot sign the checkpoint: {0}")]
    Signing(#[source] gatelog_core::checkpoint::CheckpointError),
    /// A failure injected by a test.
    #[cfg(test)]
    #[error("injected fault: {0}")]
    Injected(&'static str),
}

/// A key under which the store remembers leaf indexes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum IndexKey {
    /// Unique: RFC 6962 leaf hash → index.
    LeafHash(Hash),
    /// Unique: the envelope's content digest
    /// ([`gatelog_core::Envelope::content_digest`], payload type and payload,
    /// not signatures) → index: a resubmission is found by it.
    Envelope(Hash),
    /// Unique, overwritten: a package's latest event (the next event's
    /// `prev`), keyed by registry host and package name.
    PackageHead(String, String),
    /// List: every event of a package, keyed by registry host and name.
    Package(String, String),
    /// List: every event of one version of a package, keyed by registry
    /// host, package name and version.
    Version(String, String, String),
    /// List: `device-register`/`device-revoke` events of one device,
    /// keyed by registry host, maintainer and device id.
    Device(String, String, String),
}

impl IndexKey {
    /// Whether the key maps to one index (lookups) or to a list (scans).
    pub fn is_list(&self) -> bool {
        matches!(
            self,
            IndexKey::Package(..) | IndexKey::Version(..) | IndexKey::Device(..)
        )
    }
}

/// The durable state of the tree.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TreeState {
    /// Number of durable leaves.
    pub size: TreeSize,
    /// The largest `logged_at` ever written (ms); never decreases.
    pub clock: u64,
}

/// Everything one sequencer batch writes, applied atomically.
#[derive(Clone, Debug, Default)]
pub struct AppendBatch {
    /// Index of the first leaf; must equal the stored tree size.
    pub first: u64,
    /// Leaf bytes, in index order.
    pub leaves: Vec<Vec<u8>>,
    /// Every complete subtree the new leaves complete.
    pub nodes: Vec<(NodeId, Hash)>,
    /// Index keys to set (unique keys) or extend (list keys).
    pub keys: Vec<(IndexKey, LeafIndex)>,
    /// The state after the batch.
    pub state: TreeState,
}

/// The storage a log needs. Implementations must make `append` and
/// `put_checkpoint` atomic and durable before returning `Ok`.
pub trait LogStore: Send + Sync + 'static {
    /// The durable tree state.
    fn state(&self) -> Result<TreeState, StoreError>;

    /// The latest signed checkpoint note and the tree size it was stored for.
    fn latest_checkpoint(&self) -> Result<Option<(TreeSize, Vec<u8>)>, StoreError>;

    /// Hashes of stored complete subtrees, in the order asked; a missing
    /// node is [`StoreError::Missing`].
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError>;

    /// Like [`LogStore::read_hashes`], but from the durable storage itself,
    /// past any copy in memory: for checking what a write left on disk.
    fn read_stored_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        self.read_hashes(ids)
    }

    /// Leaves `[start, start + count)`; a missing leaf is an error.
    fn read_leaves(&self, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError>;

    /// The index a unique key points to.
    fn lookup(&self, key: &IndexKey) -> Result<Option<LeafIndex>, StoreError>;

    /// [`LogStore::lookup`] of many unique keys at once, in the order asked.
    fn lookup_many(&self, keys: &[IndexKey]) -> Result<Vec<Option<LeafIndex>>, StoreError> {
        keys.iter().map(|k| self.lookup(k)).collect()
    }

    /// Up to `limit` indexes of a list key greater than `after`, ascending.
    fn scan(
        &self,
        key: &IndexKey,
        after: Option<LeafIndex>,
        limit: usize,
    ) -> Result<Vec<LeafIndex>, StoreError>;

    /// Atomically and durably writes a batch.
    fn append(&self, batch: &AppendBatch) -> Result<(), StoreError>;

    /// Durably records the latest signed checkpoint, for tree size `size`.
    fn put_checkpoint(&self, size: TreeSize, note: &[u8]) -> Result<(), StoreError>;
}

/// Lets proof builders read through any store.
pub struct Hashes<'a, S: ?Sized>(pub &'a S);

impl<S: LogStore + ?Sized> gatelog_core::HashReader for Hashes<'_, S> {
    type Error = StoreError;
    fn read_hashes(&self, nodes: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        self.0.read_hashes(nodes)
    }
}
