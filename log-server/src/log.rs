//! Opening a log: key, store, and the startup check that the stored tree and
//! the latest signed checkpoint agree.
//!
//! - No checkpoint and no entries: first start; sign the empty tree.
//! - Stored entries equal the checkpoint's size: the stored tree must have
//!   the checkpoint's root.
//! - More entries than the checkpoint covers: a crash between writing a
//!   batch and signing it. Those entries were never acknowledged; after
//!   checking that the checkpoint's tree is a prefix of the stored one, the
//!   stored tree is signed.
//! - Anything else (fewer entries than signed, another root, a checkpoint
//!   that does not verify, one of the newest [`TAIL_CHECK`] entries that
//!   does not re-derive to the stored hashes): the store was damaged or
//!   tampered with. The log
//!   refuses to start rather than sign something that could contradict what
//!   it signed before.

use std::path::Path;
use std::sync::Arc;

use gatelog_core::checkpoint::{self, CheckpointError};
use gatelog_core::merkle::{root_from_nodes, root_nodes};
use gatelog_core::{Checkpoint, Origin, SignedCheckpoint, SignerKey, TreeHead, TreeSize};

use crate::check;
use crate::keyfile::{self, KeyFileError, KeySource};
use crate::published::Published;
use crate::store::rocks::RocksStore;
use crate::store::{LogStore, StoreError};

/// The newest entries the startup check re-hashes and re-derives the
/// stored hashes of (a few milliseconds); `gatelog-server check` audits all.
pub const TAIL_CHECK: u64 = 4096;

/// Why the log could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The origin is not a valid checkpoint origin.
    #[error("invalid origin: {0}")]
    Origin(CheckpointError),
    /// The signing key could not be loaded or created.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The data folder could not be created.
    #[error("data folder {0}: {1}")]
    DataDir(String, std::io::Error),
    /// Stored state and the latest signed checkpoint disagree.
    #[error(
        "REFUSING TO START: stored state and the latest signed checkpoint disagree: {0}. \
         The data folder is damaged or was modified; restore it from a backup."
    )]
    StateMismatch(String),
}

/// An open log, before its sequencer and HTTP API start.
pub struct Log<S: LogStore> {
    /// The origin line of every checkpoint.
    pub origin: Origin,
    /// The signing key.
    pub key: SignerKey,
    /// Where the key came from.
    pub key_source: KeySource,
    /// Storage.
    pub store: Arc<S>,
    /// The latest durable signed checkpoint.
    pub published: Arc<Published>,
}

impl Log<RocksStore> {
    /// Opens the log in `data` (RocksDB in `data/db`, key in `data/log.key`),
    /// creating both on first start.
    pub fn open(data: &Path, origin: &str) -> Result<Log<RocksStore>, OpenError> {
        let origin = Origin::new(origin).map_err(OpenError::Origin)?;
        std::fs::create_dir_all(data)
            .map_err(|e| OpenError::DataDir(data.display().to_string(), e))?;
        // RocksDB's CURRENT file exists once a store was created.
        let holds_a_log = data.join("db").join("CURRENT").exists();
        let (key, key_source) = keyfile::load_or_create(data, origin.as_str(), !holds_a_log)?;
        let store = Arc::new(RocksStore::open(&data.join("db"))?);
        Log::with_store(store, key, key_source, origin)
    }
}

impl<S: LogStore> Log<S> {
    /// Opens a log over any store, running the startup check.
    pub fn with_store(
        store: Arc<S>,
        key: SignerKey,
        key_source: KeySource,
        origin: Origin,
    ) -> Result<Log<S>, OpenError> {
        let latest = recover(&*store, &key, &origin)?;
        Ok(Log {
            origin,
            key,
            key_source,
            store,
            published: Arc::new(Published::new(latest)),
        })
    }
}

fn mismatch(why: impl Into<String>) -> OpenError {
    OpenError::StateMismatch(why.into())
}

fn sign_and_store<S: LogStore + ?Sized>(
    store: &S,
    key: &SignerKey,
    checkpoint: Checkpoint,
) -> Result<SignedCheckpoint, OpenError> {
    let note = checkpoint.sign(key).map_err(|e| mismatch(e.to_string()))?;
    store.put_checkpoint(checkpoint.head.size, &note.to_bytes())?;
    Ok(SignedCheckpoint { checkpoint, note })
}

/// The startup check described in the module docs.
pub fn recover<S: LogStore + ?Sized>(
    store: &S,
    key: &SignerKey,
    origin: &Origin,
) -> Result<SignedCheckpoint, OpenError> {
    let state = store.state()?;
    let root_at = |size: TreeSize| -> Result<_, OpenError> {
        let hashes = store
            .read_hashes(&root_nodes(size))
            .map_err(|e| mismatch(format!("the stored tree of size {size} is incomplete: {e}")))?;
        Ok(root_from_nodes(size, &hashes).map_err(StoreError::from)?)
    };
    // The newest entries must re-derive to the stored hashes: damage where
    // the last writes landed is found before anything is signed over it.
    let from = state.size.0.saturating_sub(TAIL_CHECK);
    check::verify_tail(store, from, state.size.0).map_err(|damage| {
        mismatch(format!(
            "{damage}. Run `gatelog-server check` for a full audit"
        ))
    })?;
    let Some((cp_size, note)) = store.latest_checkpoint()? else {
        if state.size != TreeSize(0) {
            return Err(mismatch(format!(
                "{} entries are stored but no checkpoint was ever signed",
                state.size
            )));
        }
        // First start: the empty tree is durable by definition.
        return sign_and_store(
            store,
            key,
            Checkpoint::new(origin.clone(), TreeHead::empty()),
        );
    };
    let signed = checkpoint::open(&note, &key.verifier())
        .map_err(|e| mismatch(format!("the stored checkpoint does not verify: {e}")))?;
    let head = signed.head();
    if head.size != cp_size {
        return Err(mismatch(format!(
            "the checkpoint record says size {cp_size}, its note says {}",
            head.size
        )));
    }
    if state.size < head.size {
        return Err(mismatch(format!(
            "the store holds {} entries but the log signed a checkpoint of {}: acknowledged entries are missing",
            state.size, head.size
        )));
    }
    let root = root_at(head.size)?;
    if root != head.root {
        return Err(mismatch(format!(
            "the stored tree of size {} has root {root}, the signed checkpoint says {}",
            head.size, head.root
        )));
    }
    if state.size == head.size {
        return Ok(signed);
    }
    // Durable but never signed (crash between write and sign): sign it now.
    tracing::warn!(
        signed = head.size.0,
        stored = state.size.0,
        "signing entries written before the last stop"
    );
    let root = root_at(state.size)?;
    sign_and_store(
        store,
        key,
        Checkpoint::new(
            origin.clone(),
            TreeHead {
                size: state.size,
                root,
            },
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use crate::store::{AppendBatch, TreeState};
    use gatelog_core::keys::SignatureType;
    use gatelog_core::{CompactRange, leaf_hash};

    fn key() -> SignerKey {
        SignerKey::from_seed("test.example/log", SignatureType::Ed25519, &[1; 32]).unwrap()
    }

    fn origin() -> Origin {
        Origin::new("test.example/log").unwrap()
    }

    /// Appends `n` raw leaves (no index keys) after `first`.
    fn append(store: &MemoryStore, range: &mut CompactRange, n: u64) {
        let first = range.size().0;
        let mut batch = AppendBatch {
            first,
            ..AppendBatch::default()
        };
        for i in first..first + n {
            let leaf = format!("leaf {i}").into_bytes();
            batch.nodes.extend(range.append(leaf_hash(&leaf)));
            batch.leaves.push(leaf);
        }
        batch.state = TreeState {
            size: range.size(),
            clock: 0,
        };
        store.append(&batch).unwrap();
    }

    #[test]
    fn first_start_signs_the_empty_tree_and_restart_agrees() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), "test.example/log").unwrap();
        assert_eq!(log.key_source, KeySource::Created);
        let first = log.published.get().to_bytes();
        let opened = checkpoint::open(&first, &log.key.verifier()).unwrap();
        assert_eq!(opened.head(), TreeHead::empty());
        drop(log);
        let again = Log::open(dir.path(), "test.example/log").unwrap();
        assert_eq!(again.published.get().to_bytes(), first);
    }

    #[test]
    fn unsigned_durable_entries_are_signed_at_startup() {
        let store = MemoryStore::new();
        recover(&store, &key(), &origin()).unwrap();
        let mut range = CompactRange::new();
        append(&store, &mut range, 5);
        let cp = recover(&store, &key(), &origin()).unwrap();
        assert_eq!(cp.head(), range.head());
        assert_eq!(store.latest_checkpoint().unwrap().unwrap().0, TreeSize(5));
    }

    #[test]
    fn disagreements_refuse_to_start() {
        let check = |store: &MemoryStore, why: &str| {
            let err = recover(store, &key(), &origin()).unwrap_err();
            assert!(matches!(err, OpenError::StateMismatch(_)), "{why}: {err}");
            assert!(err.to_string().contains("REFUSING TO START"), "{why}");
        };

        // A checkpoint signed by another key.
        let store = MemoryStore::new();
        let stranger =
            SignerKey::from_seed("test.example/log", SignatureType::Ed25519, &[9; 32]).unwrap();
        let forged = Checkpoint::new(origin(), TreeHead::empty())
            .sign(&stranger)
            .unwrap();
        store
            .put_checkpoint(TreeSize(0), &forged.to_bytes())
            .unwrap();
        check(&store, "foreign signature");

        // Fewer entries than the log signed: acknowledged entries lost.
        let store = MemoryStore::new();
        let mut range = CompactRange::new();
        append(&store, &mut range, 3);
        let mut bigger = range.clone();
        bigger.append(leaf_hash(b"lost"));
        let cp = Checkpoint::new(origin(), bigger.head())
            .sign(&key())
            .unwrap();
        store.put_checkpoint(TreeSize(4), &cp.to_bytes()).unwrap();
        check(&store, "lost entries");

        // Same size, another root (a rewritten history).
        let store = MemoryStore::new();
        let mut range = CompactRange::new();
        append(&store, &mut range, 3);
        let mut other = CompactRange::new();
        for i in 0..3u8 {
            other.append(leaf_hash(&[i]));
        }
        let cp = Checkpoint::new(origin(), other.head())
            .sign(&key())
            .unwrap();
        store.put_checkpoint(TreeSize(3), &cp.to_bytes()).unwrap();
        check(&store, "other root");

        // Entries but no checkpoint ever.
        let store = MemoryStore::new();
        append(&store, &mut CompactRange::new(), 2);
        check(&store, "no checkpoint");
    }
}
