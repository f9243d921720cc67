//! Device signatures checked on every core while the rules go on.
//!
//! A strict Ed25519 verification costs more than everything else the
//! monitor does for an approval, so the rules do not wait for it: queued
//! checks are handed to the rayon pool in batches as the chunk is judged,
//! and [`Signatures::finish`] collects every result before the chunk is
//! committed. The thread that finishes also checks the batches no worker
//! has taken yet, so it helps rather than waits. Every check is
//! `verify_strict` (never batch verification: monitors must accept exactly
//! the signatures everyone else accepts).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};

use gatelog_core::policy::DeviceSignatureCheck;

use super::Finding;

/// Signature checks handed over together: enough to pay for a task, few
/// enough that both cores get work early in a chunk.
const BATCH: usize = 64;

/// A device signature to check (as the shared judge handed it over), with
/// the alert finding it becomes if it fails.
pub(super) struct PendingSignature {
    pub finding: Finding,
    pub check: DeviceSignatureCheck,
}

impl PendingSignature {
    fn check(self) -> Option<Finding> {
        self.check.check().map(|_| self.finding)
    }
}

/// Batches of one chunk: those not yet taken, and the findings of those
/// checked, by batch number.
#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<(usize, Vec<PendingSignature>)>>,
    done: Mutex<Vec<(usize, Vec<Finding>)>>,
    finished: Condvar,
}

impl Shared {
    /// Checks one waiting batch, if any; whether there was one.
    fn check_one(&self) -> bool {
        let next = self.queue.lock().expect("signature queue").pop_front();
        let Some((number, batch)) = next else {
            return false;
        };
        let failed: Vec<Finding> = batch
            .into_iter()
            .filter_map(PendingSignature::check)
            .collect();
        self.done
            .lock()
            .expect("signature results")
            .push((number, failed));
        self.finished.notify_all();
        true
    }
}

/// The device signatures of the chunk being judged.
#[derive(Default)]
pub(super) struct Signatures {
    shared: Arc<Shared>,
    filling: Vec<PendingSignature>,
    batches: usize,
}

impl Signatures {
    /// Queues a check; full batches start on the pool at once.
    pub fn push(&mut self, pending: PendingSignature) {
        self.filling.push(pending);
        if self.filling.len() >= BATCH {
            self.hand_over();
        }
    }

    fn hand_over(&mut self) {
        let batch = std::mem::take(&mut self.filling);
        self.shared
            .queue
            .lock()
            .expect("signature queue")
            .push_back((self.batches, batch));
        self.batches += 1;
        let shared = self.shared.clone();
        rayon::spawn(move || {
            shared.check_one();
        });
    }

    /// Waits for every check queued since the last call and returns the
    /// findings of those that failed, in the order they were queued.
    pub fn finish(&mut self) -> Vec<Finding> {
        let mut failed: Vec<Finding> = std::mem::take(&mut self.filling)
            .into_iter()
            .filter_map(PendingSignature::check)
            .collect();
        while self.shared.check_one() {}
        let mut done = self.shared.done.lock().expect("signature results");
        while done.len() < self.batches {
            done = self.shared.finished.wait(done).expect("signature results");
        }
        let mut batches = std::mem::take(&mut *done);
        drop(done);
        batches.sort_by_key(|(number, _)| *number);
        let mut out: Vec<Finding> = batches.into_iter().flat_map(|(_, f)| f).collect();
        out.append(&mut failed);
        *self = Signatures::default();
        out
    }

    /// Forgets every queued check (after a failed chunk); batches already
    /// running finish into a queue nobody reads.
    pub fn clear(&mut self) {
        *self = Signatures::default();
    }
}
