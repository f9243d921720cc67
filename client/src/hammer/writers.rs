//! The hammer's writers: closed-loop ones that send the next request when
//! the last is answered, or one open-loop dispatcher that starts requests
//! on a [`Schedule`]. Every acknowledgement is verified.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use gatelog_core::Envelope;
use tokio::sync::Semaphore;

use super::pace::{Pacer, Schedule};
use super::workload::Step;
use super::{Shared, count_error};

/// A closed-loop writer: sends its next request when the last one is
/// answered.
pub(super) async fn writer(shared: Arc<Shared>, batch: usize, deadline: Instant) {
    while !shared.stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        let items = shared.workload.take(batch);
        if items.is_empty() {
            if shared.inflight.load(Ordering::SeqCst) == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            continue;
        }
        shared
            .inflight
            .fetch_add(items.len() as u64, Ordering::SeqCst);
        if !send(&shared, &items, Instant::now()).await {
            // Busy, rate-limited or unreachable: put the work back and slow down.
            shared.workload.requeue(items.clone());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        shared
            .inflight
            .fetch_sub(items.len() as u64, Ordering::SeqCst);
    }
}

/// The open-loop dispatcher of a paced run: starts one request every
/// interval of `schedule`, each in its own task, at most `in_flight` at
/// once. Returns how far it fell behind the schedule at worst.
pub(super) async fn paced(
    shared: Arc<Shared>,
    schedule: Schedule,
    batch: usize,
    in_flight: usize,
    deadline: Instant,
) -> Duration {
    let mut pacer = Pacer::new(schedule);
    let permits = Arc::new(Semaphore::new(in_flight.max(1)));
    while !shared.stop.load(Ordering::Relaxed) {
        let Some(due) = pacer.tick(deadline).await else {
            break;
        };
        let items = shared.workload.take(batch);
        if items.is_empty() {
            if shared.inflight.load(Ordering::SeqCst) == 0 {
                break; // every chain is done
            }
            continue; // chains wait for answers: this slot stays empty
        }
        shared
            .inflight
            .fetch_add(items.len() as u64, Ordering::SeqCst);
        // Waiting for a permit delays the send, never its due time.
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            // A refused request is retried with the same due time, so its
            // latency includes the wait.
            while !send(&shared, &items, due).await && !shared.stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            shared
                .inflight
                .fetch_sub(items.len() as u64, Ordering::SeqCst);
            drop(permit);
        });
    }
    // Let every request in flight finish.
    let _ = permits.acquire_many(in_flight.max(1) as u32).await;
    pacer.max_lag()
}

/// Submits one request and verifies its answers; latency of each
/// acknowledged event is counted from `since`. False when the whole request
/// failed (busy, rate-limited, unreachable) and should be retried.
async fn send(shared: &Shared, items: &[(Step, Envelope)], since: Instant) -> bool {
    let envelopes: Vec<_> = items.iter().map(|(_, e)| e.clone()).collect();
    let outcomes = match shared.client.submit(&envelopes).await {
        Ok(outcomes) => outcomes,
        Err(e) => {
            count_error(shared, &e);
            return false;
        }
    };
    let took = since.elapsed();
    let mut acknowledged = 0;
    for ((step, _), outcome) in items.iter().zip(outcomes) {
        match outcome {
            Ok(ack) => {
                shared.accepted.fetch_add(1, Ordering::Relaxed);
                acknowledged += 1;
                if let Step::Publish(n) = step {
                    shared
                        .published
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(*n);
                }
                shared.workload.acknowledged(step, &ack);
            }
            Err(e) => {
                count_error(shared, &e);
                if shared.refused.fetch_add(1, Ordering::Relaxed) < 3 {
                    eprintln!("refused: {e}");
                }
            }
        }
    }
    shared.submit_latency.record_n(took, acknowledged);
    true
}
