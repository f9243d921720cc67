//! Opening a log: key, store and the startup check that the stored tree and
//! the latest signed checkpoint agree. A disagreement means the store was
//! damaged or tampered with; the log refuses to start rather than sign
//! anything that could contradict what it signed before.

use std::path::Path;

use gatelog_core::checkpoint::{self, CheckpointError};
use gatelog_core::{Checkpoint, Hash, Origin, SignedCheckpoint, SignerKey, TreeHead, TreeSize};

use crate::keyfile::{self, KeyFileError, KeySource};
use crate::store::{Store, StoreError};

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

/// An open log.
pub struct Log {
    /// The origin line of every checkpoint.
    pub origin: Origin,
    /// The signing key.
    pub key: SignerKey,
    /// Where the key came from.
    pub key_source: KeySource,
    /// Storage.
    pub store: Store,
    latest: SignedCheckpoint,
}

impl Log {
    /// Opens the log in `data`, creating key and store on first start.
    pub fn open(data: &Path, origin: &str) -> Result<Log, OpenError> {
        let origin = Origin::new(origin).map_err(OpenError::Origin)?;
        std::fs::create_dir_all(data)
            .map_err(|e| OpenError::DataDir(data.display().to_string(), e))?;
        let (key, key_source) = keyfile::load_or_create(data, origin.as_str())?;
        let store = Store::open(&data.join("db"))?;
        let latest = startup_check(&store, &key, &origin)?;
        Ok(Log {
            origin,
            key,
            key_source,
            store,
            latest,
        })
    }

    /// The latest signed checkpoint.
    pub fn latest_checkpoint(&self) -> &SignedCheckpoint {
        &self.latest
    }
}

/// Verifies stored state against the last signed checkpoint, or signs the
/// empty tree's checkpoint on first start.
fn startup_check(
    store: &Store,
    key: &SignerKey,
    origin: &Origin,
) -> Result<SignedCheckpoint, OpenError> {
    let size = store.tree_size()?;
    let Some(note) = store.latest_checkpoint()? else {
        if size != TreeSize(0) {
            return Err(OpenError::StateMismatch(format!(
                "{size} entries are stored but no checkpoint was ever signed"
            )));
        }
        // The empty tree is durable by definition: sign it, persist the
        // signature, and only then serve it.
        let cp = Checkpoint::new(origin.clone(), TreeHead::empty());
        let note = cp
            .sign(key)
            .map_err(|e| OpenError::StateMismatch(e.to_string()))?;
        store.commit_checkpoint(size, &note.to_bytes())?;
        return Ok(SignedCheckpoint {
            checkpoint: cp,
            note,
        });
    };
    let signed = checkpoint::open(&note, &key.verifier()).map_err(|e| {
        OpenError::StateMismatch(format!("the stored checkpoint does not verify: {e}"))
    })?;
    if signed.head().size != size {
        return Err(OpenError::StateMismatch(format!(
            "the store holds {size} entries, the latest checkpoint says {}",
            signed.head().size
        )));
    }
    if size == TreeSize(0) && signed.head().root != Hash::empty_tree() {
        return Err(OpenError::StateMismatch(
            "the checkpoint of the empty tree has a non-empty root".into(),
        ));
    }
    Ok(signed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatelog_core::keys::SignatureType;

    #[test]
    fn first_start_signs_the_empty_tree_and_restart_agrees() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), "test.example/log").unwrap();
        assert_eq!(log.key_source, KeySource::Created);
        let first = log.latest_checkpoint().to_bytes();
        let opened = checkpoint::open(&first, &log.key.verifier()).unwrap();
        assert_eq!(opened.head(), TreeHead::empty());
        drop(log);
        let again = Log::open(dir.path(), "test.example/log").unwrap();
        assert_eq!(again.latest_checkpoint().to_bytes(), first);
    }

    #[test]
    fn a_checkpoint_that_disagrees_with_the_store_stops_startup() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), "test.example/log").unwrap();
        // Another key signed the stored checkpoint.
        let stranger =
            SignerKey::from_seed("test.example/log", SignatureType::Ed25519, &[9; 32]).unwrap();
        let forged = Checkpoint::new(log.origin.clone(), TreeHead::empty())
            .sign(&stranger)
            .unwrap();
        log.store
            .commit_checkpoint(TreeSize(0), &forged.to_bytes())
            .unwrap();
        drop(log);
        let err = Log::open(dir.path(), "test.example/log").err().unwrap();
        assert!(matches!(err, OpenError::StateMismatch(_)), "{err}");

        // A size that the checkpoint does not cover.
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(dir.path(), "test.example/log").unwrap();
        let note = log.latest_checkpoint().to_bytes();
        log.store.commit_checkpoint(TreeSize(3), &note).unwrap();
        drop(log);
        let err = Log::open(dir.path(), "test.example/log").err().unwrap();
        assert!(err.to_string().contains("REFUSING TO START"), "{err}");
    }
}
