//! The latest signed checkpoint as readers see it. The sequencer replaces it
//! only after the checkpoint is durable; readers clone an `Arc` and never
//! wait on the writer for longer than a pointer swap.

use std::sync::{Arc, RwLock};
use std::time::Instant;

use gatelog_core::SignedCheckpoint;

/// The checkpoint currently served, and when it was installed.
pub struct Published {
    inner: RwLock<(Arc<SignedCheckpoint>, Instant)>,
}

impl Published {
    /// Starts with `checkpoint`.
    pub fn new(checkpoint: SignedCheckpoint) -> Published {
        Published {
            inner: RwLock::new((Arc::new(checkpoint), Instant::now())),
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

    /// Installs a newer checkpoint (call only once it is durable).
    pub fn set(&self, checkpoint: Arc<SignedCheckpoint>) {
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = (checkpoint, Instant::now());
    }
}
