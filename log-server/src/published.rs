//! The latest signed checkpoint, and the one readers are served. The
//! sequencer replaces the latest only after it is durable; readers clone an
//! `Arc` and never wait on the writer for longer than a pointer swap.
//!
//! Without witnesses both are the same. With witnesses
//! ([`crate::witnessing`]), acknowledgements carry the latest at once while
//! `GET /checkpoint` and the read API serve the newest checkpoint whose
//! cosigning has settled, with the cosignatures collected for it.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use gatelog_core::SignedCheckpoint;

/// The checkpoint currently served, and when it was installed.
pub struct Published {
    inner: RwLock<(Arc<SignedCheckpoint>, Instant)>,
    /// What readers are served (the latest, or the newest cosigned).
    served: RwLock<Arc<SignedCheckpoint>>,
    /// Set when witnesses decide what is served.
    witnessed: bool,
    /// Tells the witnessing task of each new latest checkpoint.
    changed: tokio::sync::watch::Sender<Arc<SignedCheckpoint>>,
    /// Since when entries have been written but not yet signed, if any.
    unsigned_since: std::sync::Mutex<Option<Instant>>,
}

impl Published {
    /// Starts with `checkpoint`.
    pub fn new(checkpoint: SignedCheckpoint) -> Published {
        Published::with_witnesses(checkpoint, false)
    }

    /// Starts with `checkpoint`; when `witnessed`, only
    /// [`Published::set_served`] changes what readers see.
    pub fn with_witnesses(checkpoint: SignedCheckpoint, witnessed: bool) -> Published {
        let checkpoint = Arc::new(checkpoint);
        Published {
            inner: RwLock::new((checkpoint.clone(), Instant::now())),
            served: RwLock::new(checkpoint.clone()),
            witnessed,
            changed: tokio::sync::watch::channel(checkpoint).0,
            unsigned_since: std::sync::Mutex::new(None),
        }
    }

    /// The checkpoint readers are served: `GET /checkpoint`, proofs and
    /// bundles without a `tree_size`.
    pub fn served(&self) -> Arc<SignedCheckpoint> {
        self.served
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Serves `checkpoint` (a durable one, possibly with cosignatures).
    pub fn set_served(&self, checkpoint: Arc<SignedCheckpoint>) {
        *self.served.write().unwrap_or_else(|e| e.into_inner()) = checkpoint;
    }

    /// Follows new latest checkpoints.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<Arc<SignedCheckpoint>> {
        self.changed.subscribe()
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
        if !self.witnessed {
            self.set_served(checkpoint.clone());
        }
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) =
            (checkpoint.clone(), Instant::now());
        self.changed.send_replace(checkpoint);
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
