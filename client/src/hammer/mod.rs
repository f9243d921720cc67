//! `gatelog hammer`: a load generator with verifying readers.
//!
//! Writers submit release chains ([`workload`]) through the batch endpoint
//! (or one event per request) and verify every acknowledgement: the
//! checkpoint's signature and the inclusion proof. They either send as fast
//! as the log answers (closed loop), or at a fixed offered rate ([`pace`],
//! open loop, latency counted from each request's scheduled time). Readers
//! follow the checkpoint (proving consistency between successive ones) and
//! fetch release bundles, verifying every entry. The run stops by itself
//! after a bounded number of events or time, and only targets loopback
//! addresses.

pub mod pace;
pub mod workload;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatelog_core::{Envelope, SignedCheckpoint};
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::logclient::{ClientError, LogClient};
use pace::{Pacer, Schedule};
use workload::{Step, Workload};

/// What to run.
#[derive(Clone, Debug)]
pub struct HammerConfig {
    /// Base URL of the log (loopback only).
    pub log: String,
    /// Concurrent writer tasks (with `rate`: requests in flight at most).
    pub writers: usize,
    /// Concurrent reader tasks.
    pub readers: usize,
    /// Envelopes per request (1 = one per request).
    pub batch_size: usize,
    /// Release chains (3 events each, plus one registration per package).
    pub releases: u64,
    /// Packages the releases are spread over.
    pub packages: u64,
    /// No new request starts after this long.
    pub max_duration: Duration,
    /// Offered load in events per second (open loop); `None` sends as fast
    /// as the log answers.
    pub rate: Option<f64>,
    /// Process to sample CPU time and memory of (the server), if known.
    pub server_pid: Option<u32>,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Serialize, Default)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Worst.
    pub max: f64,
}

/// What a run measured.
#[derive(Debug, Serialize, Default)]
pub struct Report {
    /// Events acknowledged (and verified).
    pub accepted: u64,
    /// Events refused (any reason).
    pub refused: u64,
    /// Wall time of the write phase, seconds.
    pub seconds: f64,
    /// Acknowledged events per second.
    pub events_per_second: f64,
    /// The offered rate of a paced run, events per second.
    pub offered_rate: Option<f64>,
    /// How far a paced run's sends fell behind their schedule at worst, ms
    /// (near the request interval or above: the load generator could not
    /// offer the rate, and latencies include that wait).
    pub max_send_lag_ms: Option<f64>,
    /// Submit → verified signed answer, per event; in a paced run from the
    /// request's scheduled send time.
    pub latency_ms: Latency,
    /// Verified reads (checkpoints and bundles).
    pub reads: u64,
    /// Reads per second.
    pub reads_per_second: f64,
    /// Failed verifications (must be 0).
    pub verification_failures: u64,
    /// Tree size when the run started and ended.
    pub tree_size: (u64, u64),
    /// (seconds since start, tree size) once a second.
    pub growth: Vec<(f64, u64)>,
    /// Server CPU seconds used during the run, if sampled.
    pub server_cpu_seconds: Option<f64>,
    /// Server peak resident memory in MiB, if sampled.
    pub server_peak_rss_mib: Option<f64>,
}

/// Why the hammer would not run.
#[derive(Debug, thiserror::Error)]
pub enum HammerError {
    /// Not a loopback target.
    #[error("refusing to load {0}: the hammer only targets loopback addresses")]
    NotLoopback(String),
    /// The offered rate is not a positive number of events per second.
    #[error("--rate must be a positive number of events per second, not {0}")]
    Rate(f64),
    /// The log failed.
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// Whether `url` points at this machine.
pub fn is_loopback(url: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else {
        return false;
    };
    match u.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

struct Shared {
    client: LogClient,
    workload: Workload,
    accepted: AtomicU64,
    refused: AtomicU64,
    failures: AtomicU64,
    reads: AtomicU64,
    inflight: AtomicU64,
    max_size: AtomicU64,
    published: Mutex<Vec<u64>>,
    latencies_us: Mutex<Vec<u32>>,
    stop: AtomicBool,
}

fn count_error(shared: &Shared, e: &ClientError) {
    if matches!(e, ClientError::Verification(_)) {
        shared.failures.fetch_add(1, Ordering::Relaxed);
        eprintln!("VERIFICATION FAILURE: {e}");
    }
}

/// A closed-loop writer: sends its next request when the last one is
/// answered.
async fn writer(shared: Arc<Shared>, batch: usize, deadline: Instant) {
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
async fn paced(
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
    let took = since.elapsed().as_micros().min(u32::MAX as u128) as u32;
    let mut lat = Vec::with_capacity(outcomes.len());
    for ((step, _), outcome) in items.iter().zip(outcomes) {
        match outcome {
            Ok(ack) => {
                shared.accepted.fetch_add(1, Ordering::Relaxed);
                shared
                    .max_size
                    .fetch_max(ack.head.size.0, Ordering::Relaxed);
                lat.push(took);
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
    shared
        .latencies_us
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(lat);
    true
}

async fn reader(shared: Arc<Shared>, seed: u64) {
    let mut rng = seed | 1;
    let mut last: Option<SignedCheckpoint> = None;
    while !shared.stop.load(Ordering::Relaxed) {
        match shared.client.checkpoint().await {
            Ok(cp) => {
                if let Some(old) = &last {
                    match crate::verify::prove(Some(&shared.client), old, &cp).await {
                        Ok(()) => {}
                        Err(crate::verify::VerifyError::Log(e)) => count_error(&shared, &e),
                        Err(e) => {
                            shared.failures.fetch_add(1, Ordering::Relaxed);
                            eprintln!("VERIFICATION FAILURE: {e}");
                        }
                    }
                }
                last = Some(cp);
                shared.reads.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => count_error(&shared, &e),
        }
        for _ in 0..16 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let pick = {
                let p = shared.published.lock().unwrap_or_else(|e| e.into_inner());
                if p.is_empty() {
                    None
                } else {
                    Some(p[(rng % p.len() as u64) as usize])
                }
            };
            let Some(n) = pick else {
                tokio::time::sleep(Duration::from_millis(20)).await;
                break;
            };
            let (package, version) = shared.workload.release(n);
            match shared.client.verified_bundle(&package, &version).await {
                // A published release has at least its stage, approval and publish.
                Ok((_, entries)) if entries.len() >= 3 => {
                    shared.reads.fetch_add(1, Ordering::Relaxed);
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

/// CPU seconds (user + system) and peak RSS (MiB) of a process, from /proc.
fn process_usage(pid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hwm_kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    // Linux reports CPU time in clock ticks of 1/100 s on every common platform.
    Some((ticks / 100.0, hwm_kib / 1024.0))
}

fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// Runs the hammer against a log whose verifier key is `log_key`, signing
/// events as `registry`.
pub async fn run(
    config: &HammerConfig,
    log_key: gatelog_core::VerifierKey,
    registry: gatelog_core::sample::SampleRegistry,
) -> Result<Report, HammerError> {
    if !is_loopback(&config.log) {
        return Err(HammerError::NotLoopback(config.log.clone()));
    }
    let client = LogClient::new(&config.log, log_key)?;
    let start_size = client.checkpoint().await?.head().size.0;
    let shared = Arc::new(Shared {
        client,
        workload: Workload::new(registry, config.packages, config.releases),
        accepted: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        failures: AtomicU64::new(0),
        reads: AtomicU64::new(0),
        inflight: AtomicU64::new(0),
        max_size: AtomicU64::new(start_size),
        published: Mutex::new(Vec::new()),
        latencies_us: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
    });
    let cpu_before = config.server_pid.and_then(process_usage);
    let started = Instant::now();
    let deadline = started + config.max_duration;
    let batch = config.batch_size.max(1);
    let schedule = match config.rate {
        Some(rate) => Some(Schedule::new(started, rate, batch).ok_or(HammerError::Rate(rate))?),
        None => None,
    };
    let writers: Vec<_> = match schedule {
        Some(schedule) => vec![tokio::spawn(paced(
            shared.clone(),
            schedule,
            batch,
            config.writers,
            deadline,
        ))],
        None => (0..config.writers.max(1))
            .map(|_| {
                let shared = shared.clone();
                tokio::spawn(async move {
                    writer(shared, batch, deadline).await;
                    Duration::ZERO
                })
            })
            .collect(),
    };
    let readers: Vec<_> = (0..config.readers)
        .map(|i| tokio::spawn(reader(shared.clone(), 0x9E37_79B9 + i as u64)))
        .collect();
    let sampler = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut growth = Vec::new();
            while !shared.stop.load(Ordering::Relaxed) {
                growth.push((
                    started.elapsed().as_secs_f64(),
                    shared.max_size.load(Ordering::Relaxed),
                ));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            growth
        })
    };
    let mut send_lag = Duration::ZERO;
    for w in writers {
        send_lag = send_lag.max(w.await.unwrap_or_default());
    }
    let seconds = started.elapsed().as_secs_f64();
    shared.stop.store(true, Ordering::SeqCst);
    for r in readers {
        let _ = r.await;
    }
    let growth = sampler.await.unwrap_or_default();
    let usage_after = config.server_pid.and_then(process_usage);
    let end_size = shared.client.checkpoint().await?.head().size.0;
    let mut lat = std::mem::take(
        &mut *shared
            .latencies_us
            .lock()
            .unwrap_or_else(|e| e.into_inner()),
    );
    lat.sort_unstable();
    let accepted = shared.accepted.load(Ordering::Relaxed);
    let reads = shared.reads.load(Ordering::Relaxed);
    Ok(Report {
        accepted,
        refused: shared.refused.load(Ordering::Relaxed),
        seconds,
        events_per_second: accepted as f64 / seconds.max(1e-9),
        offered_rate: config.rate,
        max_send_lag_ms: schedule.map(|_| send_lag.as_secs_f64() * 1000.0),
        latency_ms: Latency {
            p50: percentile(&lat, 0.50),
            p90: percentile(&lat, 0.90),
            p99: percentile(&lat, 0.99),
            max: percentile(&lat, 1.0),
        },
        reads,
        reads_per_second: reads as f64 / seconds.max(1e-9),
        verification_failures: shared.failures.load(Ordering::Relaxed),
        tree_size: (start_size, end_size),
        growth,
        server_cpu_seconds: match (cpu_before, usage_after) {
            (Some((a, _)), Some((b, _))) => Some(b - a),
            _ => None,
        },
        server_peak_rss_mib: usage_after.map(|(_, rss)| rss),
    })
}

impl Report {
    /// The human summary.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        s += &format!(
            "accepted   {} events in {:.2}s = {:.0} events/s ({} refused)\n",
            self.accepted, self.seconds, self.events_per_second, self.refused
        );
        if let (Some(rate), Some(lag)) = (self.offered_rate, self.max_send_lag_ms) {
            s += &format!(
                "offered    {rate:.0} events/s (open loop; sends fell behind schedule by {lag:.1} ms at worst)\n"
            );
        }
        s += &format!(
            "latency    submit -> verified signed answer: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms\n",
            self.latency_ms.p50, self.latency_ms.p90, self.latency_ms.p99, self.latency_ms.max
        );
        s += &format!(
            "reads      {} verified ({:.0}/s)\n",
            self.reads, self.reads_per_second
        );
        s += &format!(
            "tree       {} -> {} entries\n",
            self.tree_size.0, self.tree_size.1
        );
        if let (Some(cpu), Some(rss)) = (self.server_cpu_seconds, self.server_peak_rss_mib) {
            s += &format!("server     {cpu:.1} CPU-seconds, peak RSS {rss:.0} MiB\n");
        }
        s += &format!(
            "failures   {} verification failures\n",
            self.verification_failures
        );
        s
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_loopback_targets_are_allowed() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1/",
            "http://[::1]:80",
            "http://127.9.9.9",
        ] {
            assert!(super::is_loopback(ok), "{ok}");
        }
        for bad in [
            "http://10.0.0.1",
            "https://example.com",
            "http://192.168.1.1:8080",
            "nonsense",
            "http://0.0.0.0",
        ] {
            assert!(!super::is_loopback(bad), "{bad}");
        }
    }
}
