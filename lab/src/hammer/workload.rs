//! The hammer's workload: release chains as a registry would log them.
//! Each package first gets a `device-register` for its maintainer's signing
//! key; then each release is a `stage` from CI, an `approve` signed by the
//! device over the staged tarball (once the stage's index and leaf hash are
//! known), and a `publish` naming both. The first stages are signed ahead
//! of time, on all cores, so the load generator spends less of the shared
//! machine during the run; beyond those, stages are signed as writers ask
//! for work (so a long run does not hold every envelope in memory). The
//! follow-ups are signed as acknowledgements arrive, as in real life.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::sample::{SampleRegistry, device_key};
use ed25519_dalek::SigningKey;
use gatelog_core::{Envelope, LeafIndex};

use gatelog_client::logclient::Ack;

/// What a submitted envelope was, so its acknowledgement can be followed up.
#[derive(Clone, Debug)]
pub enum Step {
    /// A device registration (no follow-up).
    Register,
    /// A stage of release `n`.
    Stage(u64),
    /// The approval of release `n`, whose stage is at this index.
    Approve(u64, LeafIndex),
    /// The publish of release `n` (end of the chain).
    Publish(u64),
}

/// Work shared by all writers.
pub struct Workload {
    registry: SampleRegistry,
    packages: u64,
    devices: Vec<SigningKey>,
    ready: Mutex<VecDeque<(Step, Envelope)>>,
    /// Device registrations not acknowledged yet. No stage goes out before
    /// they are all logged, so no approval can reach the log ahead of its
    /// device's registration (concurrent requests are sequenced in any
    /// order, and `gatelog verify` rightly fails such an approval).
    unregistered: AtomicU64,
    /// The next release to stage, and the end of the releases to stage.
    next_stage: AtomicU64,
    releases: u64,
}

const TIME: i64 = 1_780_000_000;

/// Stages signed before the run starts, at most (about 1 KiB each).
pub const PRESIGNED_STAGES: u64 = 100_000;

/// The registry whose key signs every workload event.
pub const REGISTRY_HOST: &str = "hammer.registry.test";

/// The sample registry of [`REGISTRY_HOST`] (deterministic key).
pub fn registry() -> SampleRegistry {
    SampleRegistry::new(REGISTRY_HOST, 77)
}

impl Workload {
    /// `releases` release chains over `packages` packages, the first
    /// `presign` stages signed now.
    pub fn new(registry: SampleRegistry, packages: u64, releases: u64, presign: u64) -> Workload {
        Workload::numbered(registry, packages, 0..releases, presign)
    }

    /// The release chains numbered `releases` over `packages` packages, the
    /// first `presign` stages signed now. Chains numbered apart from another
    /// run's (which start at 0) are new entries in a log that run filled,
    /// not resubmissions.
    pub fn numbered(
        registry: SampleRegistry,
        packages: u64,
        releases: Range<u64>,
        presign: u64,
    ) -> Workload {
        let packages = packages.max(1);
        // One signing device per maintainer; a maintainer has several packages.
        let devices: Vec<SigningKey> = (0..MAINTAINERS).map(|m| device_key(m as u8)).collect();
        let mut ready = VecDeque::new();
        // A maintainer registers their device once, as on a real account.
        for p in 0..packages.min(MAINTAINERS) {
            let env = registry.device_register(
                &package(p),
                &maintainer(p),
                "key-1",
                &devices[(p % MAINTAINERS) as usize],
                // Registered weeks before use, as on a real account (a
                // device registered hours before approving is suspicious).
                TIME - 30 * 86_400,
            );
            ready.push_back((Step::Register, env));
        }
        let mut workload = Workload {
            registry,
            packages,
            devices,
            ready: Mutex::new(VecDeque::new()),
            unregistered: AtomicU64::new(ready.len() as u64),
            next_stage: AtomicU64::new(releases.start),
            releases: releases.end,
        };
        let presigned = releases.end.min(releases.start.saturating_add(presign));
        ready.extend(workload.sign_stages(releases.start..presigned));
        workload.ready = Mutex::new(ready);
        workload.next_stage = AtomicU64::new(presigned);
        workload
    }

    /// Signs the stages of `releases` on all cores, in order.
    fn sign_stages(&self, releases: std::ops::Range<u64>) -> Vec<(Step, Envelope)> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
        let per = (releases.end - releases.start).div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let parts: Vec<_> = (0..threads)
                .map(|t| {
                    let from = (releases.start + t * per).min(releases.end);
                    let to = (from + per).min(releases.end);
                    scope.spawn(move || {
                        (from..to)
                            .map(|n| (Step::Stage(n), self.stage(n)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            parts
                .into_iter()
                .flat_map(|p| p.join().unwrap_or_default())
                .collect()
        })
    }

    /// Takes up to `n` envelopes to send: device registrations first (alone,
    /// until all are acknowledged), then follow-ups, then new stages. Empty
    /// when every chain is either done or waits for an answer.
    pub fn take(&self, n: usize) -> Vec<(Step, Envelope)> {
        if self.unregistered.load(Ordering::SeqCst) > 0 {
            let mut q = self.ready.lock().unwrap_or_else(|e| e.into_inner());
            let k = q
                .iter()
                .take(n)
                .take_while(|(step, _)| matches!(step, Step::Register))
                .count();
            return q.drain(..k).collect();
        }
        let mut out: Vec<(Step, Envelope)> = {
            let mut q = self.ready.lock().unwrap_or_else(|e| e.into_inner());
            let k = n.min(q.len());
            q.drain(..k).collect()
        };
        let wanted = (n - out.len()) as u64;
        if wanted > 0 {
            // Claim the next stage numbers, then sign outside any lock.
            let first = self
                .next_stage
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                    (s < self.releases).then(|| s + wanted.min(self.releases - s))
                })
                .unwrap_or(self.releases);
            let end = (first + wanted).min(self.releases);
            out.extend((first..end).map(|n| (Step::Stage(n), self.stage(n))));
        }
        out
    }

    fn stage(&self, n: u64) -> Envelope {
        let p = n % self.packages;
        self.registry.stage(
            &package(p),
            &version(n, self.packages),
            &tarball(n),
            // Each package builds in its own repository's CI.
            &format!("hammer/pkg-{p}"),
            TIME + n as i64,
        )
    }

    /// Queues the next step of a chain after an acknowledgement. Follow-ups
    /// go to the front so chains complete while new stages keep flowing.
    pub fn acknowledged(&self, step: &Step, ack: &Ack) {
        let next = match *step {
            Step::Register => {
                let _ =
                    self.unregistered
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                            left.checked_sub(1)
                        });
                return;
            }
            Step::Publish(_) => return,
            Step::Stage(n) => {
                let p = n % self.packages;
                let env = self.registry.approve(
                    &package(p),
                    &version(n, self.packages),
                    &tarball(n),
                    ack.index,
                    &ack.leaf_hash,
                    &maintainer(p),
                    Some(("key-1", &self.devices[(p % MAINTAINERS) as usize])),
                    TIME + n as i64 + 300,
                );
                (Step::Approve(n, ack.index), env)
            }
            Step::Approve(n, stage) => {
                let p = n % self.packages;
                let env = self.registry.publish(
                    &package(p),
                    &version(n, self.packages),
                    &tarball(n),
                    stage,
                    ack.index,
                    TIME + n as i64 + 400,
                );
                (Step::Publish(n), env)
            }
        };
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_front(next);
    }

    /// Puts envelopes back after a refused request (retried later).
    pub fn requeue(&self, items: Vec<(Step, Envelope)>) {
        let mut q = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        for item in items.into_iter().rev() {
            q.push_front(item);
        }
    }

    /// Device registrations a run over `packages` packages logs first.
    pub fn registrations(packages: u64) -> u64 {
        packages.clamp(1, MAINTAINERS)
    }

    /// A published release to read back: (package, version).
    pub fn release(&self, n: u64) -> (String, String) {
        (package(n % self.packages), version(n, self.packages))
    }
}

fn package(p: u64) -> String {
    format!("@hammer/pkg-{p}")
}

const MAINTAINERS: u64 = 97;

fn maintainer(p: u64) -> String {
    format!("maintainer-{}", p % MAINTAINERS)
}

fn version(n: u64, packages: u64) -> String {
    format!("1.{}.0", n / packages)
}

fn tarball(n: u64) -> Vec<u8> {
    format!("release-{n}.tgz").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatelog_core::{Hash, TreeHead};

    fn ack(index: u64) -> Ack {
        Ack {
            index: LeafIndex(index),
            leaf_hash: Hash([7; 32]),
            head: TreeHead::empty(),
        }
    }

    #[test]
    fn no_stage_goes_out_before_every_registration_is_acknowledged() {
        let work = Workload::new(registry(), 5, 20, 10);
        let first = work.take(100);
        assert_eq!(first.len(), 5, "only the registrations");
        assert!(first.iter().all(|(s, _)| matches!(s, Step::Register)));
        assert!(work.take(100).is_empty(), "stages wait for the answers");
        for (i, (step, _)) in first.iter().enumerate().take(4) {
            work.acknowledged(step, &ack(i as u64));
        }
        assert!(work.take(100).is_empty(), "one registration is unanswered");
        work.acknowledged(&first[4].0, &ack(4));
        let next = work.take(100);
        assert_eq!(next.len(), 20);
        assert!(next.iter().all(|(s, _)| matches!(s, Step::Stage(_))));
    }

    #[test]
    fn a_refused_registration_is_sent_again_before_any_stage() {
        let work = Workload::new(registry(), 3, 5, 5);
        let regs = work.take(2);
        assert_eq!(regs.len(), 2);
        work.requeue(regs);
        let again = work.take(10);
        assert_eq!(again.len(), 3);
        assert!(again.iter().all(|(s, _)| matches!(s, Step::Register)));
    }
}
