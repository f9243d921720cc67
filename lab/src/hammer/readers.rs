//! The hammer's verifying readers:
//! - the head keeper follows `/checkpoint` (signature, and consistency with
//!   the checkpoint before), shares the latest verified tree head with the
//!   other readers and records the tree's growth once a second;
//! - followers (`--readers`) re-read the checkpoint the same way and fetch
//!   release bundles of published releases, verifying every entry;
//! - proof readers (`--proof-readers`) fetch the log's inclusion proofs of
//!   random entries and verify each against the shared verified head.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use gatelog_core::SignedCheckpoint;

use super::{Shared, count_error};

/// A small xorshift generator: readers pick entries at random, and need
/// neither quality nor secrecy.
pub(super) struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (any value).
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed | 1)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Checks `new` against `old` with a consistency proof from the log.
async fn prove(shared: &Shared, old: &SignedCheckpoint, new: &SignedCheckpoint) {
    match gatelog_client::verify::prove(Some(&shared.client), old, new).await {
        Ok(()) => {}
        Err(gatelog_client::verify::VerifyError::Log(e)) => count_error(shared, &e),
        Err(e) => {
            shared.failures.fetch_add(1, Ordering::Relaxed);
            eprintln!("VERIFICATION FAILURE: {e}");
        }
    }
}

/// Follows the checkpoint every `every` until the run stops, starting
/// from `first`; returns the growth samples, one a second.
pub(super) async fn keep_head(
    shared: Arc<Shared>,
    first: SignedCheckpoint,
    started: Instant,
    every: Duration,
) -> Vec<(f64, u64)> {
    let mut growth = vec![(0.0, first.head().size.0)];
    let mut last = first;
    let mut next_sample = Duration::from_secs(1);
    while !shared.stop.load(Ordering::Relaxed) {
        tokio::time::sleep(every).await;
        match shared.client.checkpoint().await {
            Ok(cp) => {
                prove(&shared, &last, &cp).await;
                shared.set_head(cp.head());
                last = cp;
            }
            Err(e) => count_error(&shared, &e),
        }
        if started.elapsed() >= next_sample {
            growth.push((started.elapsed().as_secs_f64(), last.head().size.0));
            next_sample += Duration::from_secs(1);
        }
    }
    growth
}

/// A follower: proves each new checkpoint consistent with the one before,
/// then reads up to 16 release bundles of published releases.
pub(super) async fn follower(shared: Arc<Shared>, seed: u64) {
    let mut rng = XorShift::new(seed);
    let mut last: Option<SignedCheckpoint> = None;
    while !shared.stop.load(Ordering::Relaxed) {
        match shared.client.checkpoint().await {
            Ok(cp) => {
                if let Some(old) = &last {
                    prove(&shared, old, &cp).await;
                }
                last = Some(cp);
                shared.checkpoint_reads.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => count_error(&shared, &e),
        }
        for _ in 0..16 {
            let pick = {
                let p = shared.published.lock().unwrap_or_else(|e| e.into_inner());
                if p.is_empty() {
                    None
                } else {
                    Some(p[rng.below(p.len() as u64) as usize])
                }
            };
            let Some(n) = pick else {
                tokio::time::sleep(Duration::from_millis(20)).await;
                break;
            };
            let (package, version) = shared.workload.release(n);
            let asked = Instant::now();
            match shared
                .client
                .verified_bundle(super::workload::REGISTRY_HOST, &package, &version)
                .await
            {
                // A published release has at least its stage, approval and publish.
                Ok((_, entries)) if entries.len() >= 3 => {
                    shared.bundle_reads.fetch_add(1, Ordering::Relaxed);
                    shared.bundle_latency.record(asked.elapsed());
                }
                Ok(_) => {
                    shared.failures.fetch_add(1, Ordering::Relaxed);
                    eprintln!("VERIFICATION FAILURE: bundle of {package}@{version} misses entries");
                }
                Err(e) => count_error(&shared, &e),
            }
        }
    }
}

/// A proof reader: asks the log for the inclusion proofs of `batch` random
/// entries of the latest verified tree (one request) and verifies each,
/// again and again. Latency is per request.
pub(super) async fn proof_reader(shared: Arc<Shared>, seed: u64, batch: usize) {
    let mut rng = XorShift::new(seed);
    while !shared.stop.load(Ordering::Relaxed) {
        let head = shared.head();
        if head.size.0 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let asked = Instant::now();
        let answer = if batch == 1 {
            let index = rng.below(head.size.0);
            shared
                .client
                .verified_inclusion_at(index, &head)
                .await
                .map(|_| 1)
        } else {
            let indexes: Vec<u64> = (0..batch).map(|_| rng.below(head.size.0)).collect();
            shared
                .client
                .verified_inclusions_at(&indexes, &head)
                .await
                .map(|acks| acks.len() as u64)
        };
        match answer {
            Ok(n) => {
                shared.proof_reads.fetch_add(n, Ordering::Relaxed);
                shared.proof_latency.record(asked.elapsed());
            }
            Err(e) => {
                count_error(&shared, &e);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::XorShift;

    #[test]
    fn picks_stay_in_range_and_spread() {
        let mut rng = XorShift::new(0);
        let mut seen = [false; 10];
        for _ in 0..1000 {
            let k = rng.below(10);
            seen[k as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
