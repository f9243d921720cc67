//! The latest signed checkpoint as readers see it. The sequencer replaces it
//! only after the checkpoint is durable; readers clone an `Arc` and never
//! wait on the writer for longer than a pointer swap.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use gatelog_core::SignedCheckpoint;

/// The checkpoint currently served, and when it was installed.
pub struct Published {
    inner: RwLock<(Arc<SignedCheckpoint>, Instant)>,
    /// Since when entries have been written but not yet signed, if any.
    unsigned_since: std::sync::Mutex<Option<Instant>>,
}

impl Published {
    /// Starts with `checkpoint`.
    pub fn new(checkpoint: SignedCheckpoint) -> Published {
        Published {
            inner: RwLock::new((Arc::new(checkpoint), Instant::now())),
            unsigned_since: std::sync::Mutex::new(None),
        }
    }

    /// The latest durable signed checkpoint.
    pub fn get(&self) -> Arc<SignedCheckpoint> {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .clone()
    }

    /// When the latest checkpoint was installed.
    pub fn installed_at(&self) -> Instant {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).1
    }

    /// Installs a newer checkpoint (call only once it is durable); it
    /// covers every entry written so far.
    pub fn set(&self, checkpoint: Arc<SignedCheckpoint>) {
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = (checkpoint, Instant::now());
        *self
            .unsigned_since
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Notes that entries are about to be written that no checkpoint covers
    /// yet; the earliest such moment is kept until a checkpoint covers them.
    pub fn mark_unsigned(&self) {
        self.unsigned_since
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(Instant::now);
    }

    /// Forgets the unsigned mark (a write failed without persisting).
    pub fn clear_unsigned(&self) {
        *self
            .unsigned_since
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// How long the oldest unsigned entries have waited, if any wait.
    pub fn unsigned_for(&self) -> Option<std::time::Duration> {
        self.unsigned_since
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map(|t| t.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatelog_core::keys::{SignatureType, SignerKey};
    use gatelog_core::{Checkpoint, Origin, TreeHead};

    #[test]
    fn unsigned_time_runs_from_the_first_write_until_a_checkpoint() {
        let key = SignerKey::from_seed("p.example/log", SignatureType::Ed25519, &[1; 32]).unwrap();
        let cp = Checkpoint::new(Origin::new("p.example/log").unwrap(), TreeHead::empty());
        let signed = SignedCheckpoint {
            note: cp.sign(&key).unwrap(),
            checkpoint: cp,
        };
        let p = Published::new(signed.clone());
        assert!(p.unsigned_for().is_none());
        p.mark_unsigned();
        std::thread::sleep(std::time::Duration::from_millis(5));
        p.mark_unsigned();
        assert!(p.unsigned_for().unwrap() >= std::time::Duration::from_millis(5));
        p.set(Arc::new(signed));
        assert!(p.unsigned_for().is_none());
    }
}
