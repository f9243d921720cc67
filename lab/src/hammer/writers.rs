//! The hammer's writers: closed-loop ones that send the next request when
//! the last is answered, or one open-loop dispatcher that starts requests
//! on a [`Schedule`], on a thread of its own so it keeps time however busy
//! the rest of the hammer is. Every acknowledgement is verified; the
//! follow-ups it calls for are signed on the rayon pool, so signing does not
//! hold up the tasks that read and verify answers.

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
            shared
                .inflight
                .fetch_sub(items.len() as u64, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Runs [`paced`] on a thread of its own (blocking the calling thread),
/// starting the requests on `requests`.
pub(super) fn paced_on_own_thread(
    shared: Arc<Shared>,
    schedule: Schedule,
    batch: usize,
    in_flight: usize,
    deadline: Instant,
    requests: tokio::runtime::Handle,
) -> Duration {
    let clock = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime with a timer");
    clock.block_on(paced(
        shared, schedule, batch, in_flight, deadline, requests,
    ))
}

/// The open-loop dispatcher of a paced run: starts one request every
/// interval of `schedule`, each in its own task on `requests`, at most
/// `in_flight` at once. Returns how far it fell behind the schedule at
/// worst.
async fn paced(
    shared: Arc<Shared>,
    schedule: Schedule,
    batch: usize,
    in_flight: usize,
    deadline: Instant,
    requests: tokio::runtime::Handle,
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
        requests.spawn(async move {
            // A refused request is retried with the same due time, so its
            // latency includes the wait.
            while !send(&shared, &items, due).await {
                if shared.stop.load(Ordering::Relaxed) {
                    shared
                        .inflight
                        .fetch_sub(items.len() as u64, Ordering::SeqCst);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            drop(permit);
        });
    }
    // Let every request in flight finish.
    let _ = permits.acquire_many(in_flight.max(1) as u32).await;
    pacer.max_lag()
}

/// Submits one request and verifies its answers; latency of each
/// acknowledged event is counted from `since`. The items stay in flight
/// until their follow-ups are queued. False when the whole request failed
/// (busy, rate-limited, unreachable) and should be retried; the items are
/// then still the caller's.
async fn send(shared: &Arc<Shared>, items: &[(Step, Envelope)], since: Instant) -> bool {
    let envelopes: Vec<_> = items.iter().map(|(_, e)| e.clone()).collect();
    let outcomes = match shared.client.submit(&envelopes).await {
        Ok(outcomes) => outcomes,
        Err(e) => {
            count_error(shared, &e);
            return false;
        }
    };
    let took = since.elapsed();
    let mut acknowledged = Vec::with_capacity(items.len());
    for ((step, _), outcome) in items.iter().zip(outcomes) {
        match outcome {
            Ok(ack) => {
                shared.accepted.fetch_add(1, Ordering::Relaxed);
                if let Step::Publish(n) = step {
                    shared
                        .published
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(*n);
                }
                acknowledged.push((step.clone(), ack));
            }
            Err(e) => {
                count_error(shared, &e);
                if shared.refused.fetch_add(1, Ordering::Relaxed) < 3 {
                    eprintln!("refused: {e}");
                }
            }
        }
    }
    shared.submit_latency.record_n(took, acknowledged.len());
    let shared = shared.clone();
    let sent = items.len() as u64;
    rayon::spawn(move || {
        for (step, ack) in &acknowledged {
            shared.workload.acknowledged(step, ack);
        }
        shared.inflight.fetch_sub(sent, Ordering::SeqCst);
    });
    true
}
