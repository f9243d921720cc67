//! `gatelog-lab hammer`: a load generator with verifying readers.
//!
//! Writers ([`writers`]) submit release chains ([`workload`]) through the
//! batch endpoint (or one event per request) and verify every
//! acknowledgement: the checkpoint's signature and the inclusion proof.
//! They either send as fast as the log answers (closed loop), or at a fixed
//! offered rate ([`pace`], open loop, latency counted from each request's
//! scheduled time). Readers ([`readers`], [`tiles`]) follow the checkpoint
//! (proving consistency between successive ones), fetch release bundles,
//! and prove random entries through the log's proof endpoint or from its
//! tiles, verifying everything. With no writers the run only reads, for a
//! fixed time, so reads can be measured at a given tree size. The run stops
//! by itself after a bounded number of events or time, and only targets
//! loopback addresses. [`report`] holds what it measured.

pub mod pace;
mod readers;
pub mod report;
mod tiles;
pub mod workload;
mod writers;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use gatelog_core::TreeHead;

use gatelog_client::logclient::{ClientError, LogClient};
use pace::Schedule;
pub use report::{Latency, Report};
use report::{Reads, Samples, process_usage};
use workload::Workload;

/// What to run.
#[derive(Clone, Debug)]
pub struct HammerConfig {
    /// Base URL of the log (loopback only).
    pub log: String,
    /// Concurrent writer tasks (with `rate`: requests in flight at most);
    /// 0 only reads, until `max_duration`.
    pub writers: usize,
    /// Followers: checkpoints with consistency proofs, and release bundles.
    pub readers: usize,
    /// Proof readers: the log's inclusion proofs of random entries.
    pub proof_readers: usize,
    /// Inclusion proofs per proof reader's request: 1 asks
    /// `GET /v1/proofs/inclusion` for each, more asks
    /// `POST /v1/proofs/inclusion` for that many at once.
    pub proof_batch: usize,
    /// Tile readers: inclusion proofs of random entries built from tiles.
    pub tile_readers: usize,
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

/// State shared by every task of a run.
struct Shared {
    client: LogClient,
    workload: Workload,
    accepted: AtomicU64,
    refused: AtomicU64,
    failures: AtomicU64,
    /// Events sent and not yet answered.
    inflight: AtomicU64,
    /// Releases whose publish was acknowledged (followers read them back).
    published: Mutex<Vec<u64>>,
    submit_latency: Samples,
    checkpoint_reads: AtomicU64,
    bundle_reads: AtomicU64,
    bundle_latency: Samples,
    proof_reads: AtomicU64,
    proof_latency: Samples,
    tile_proofs: AtomicU64,
    tile_latency: Samples,
    tile_fetches: AtomicU64,
    /// The latest verified tree head.
    head: RwLock<TreeHead>,
    stop: AtomicBool,
}

impl Shared {
    fn head(&self) -> TreeHead {
        *self.head.read().unwrap_or_else(|e| e.into_inner())
    }

    fn set_head(&self, head: TreeHead) {
        let mut h = self.head.write().unwrap_or_else(|e| e.into_inner());
        if head.size >= h.size {
            *h = head;
        }
    }
}

/// How many stages to sign before the clock starts: none when only
/// reading, else what the run can use, up to [`workload::PRESIGNED_STAGES`].
fn presign(config: &HammerConfig) -> u64 {
    if config.writers == 0 {
        return 0;
    }
    let mut n = config.releases.min(workload::PRESIGNED_STAGES);
    if let Some(rate) = config.rate {
        // A paced run offers about rate × seconds events, a third of them stages.
        let stages = rate * config.max_duration.as_secs_f64() / 3.0;
        n = n.min(stages.ceil() as u64 + 1);
    }
    n
}

fn count_error(shared: &Shared, e: &ClientError) {
    if matches!(e, ClientError::Verification(_)) {
        shared.failures.fetch_add(1, Ordering::Relaxed);
        eprintln!("VERIFICATION FAILURE: {e}");
    }
}

/// Runs the hammer against a log whose verifier key is `log_key`, signing
/// events as `registry`.
pub async fn run(
    config: &HammerConfig,
    log_key: gatelog_core::VerifierKey,
    registry: crate::sample::SampleRegistry,
) -> Result<Report, HammerError> {
    if !is_loopback(&config.log) {
        return Err(HammerError::NotLoopback(config.log.clone()));
    }
    let client = LogClient::new(&config.log, log_key)?;
    let first = client.checkpoint().await?;
    let start_size = first.head().size.0;
    let shared = Arc::new(Shared {
        client,
        workload: Workload::new(registry, config.packages, config.releases, presign(config)),
        accepted: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        failures: AtomicU64::new(0),
        inflight: AtomicU64::new(0),
        published: Mutex::new(Vec::new()),
        submit_latency: Samples::default(),
        checkpoint_reads: AtomicU64::new(0),
        bundle_reads: AtomicU64::new(0),
        bundle_latency: Samples::default(),
        proof_reads: AtomicU64::new(0),
        proof_latency: Samples::default(),
        tile_proofs: AtomicU64::new(0),
        tile_latency: Samples::default(),
        tile_fetches: AtomicU64::new(0),
        head: RwLock::new(first.head()),
        stop: AtomicBool::new(false),
    });
    let cpu_before = config.server_pid.and_then(process_usage);
    let own_cpu_before = process_usage(std::process::id());
    let started = Instant::now();
    let deadline = started + config.max_duration;
    let batch = config.batch_size.max(1);
    let schedule = match config.rate {
        Some(rate) => Some(Schedule::new(started, rate, batch).ok_or(HammerError::Rate(rate))?),
        None => None,
    };
    let writers: Vec<_> = match schedule {
        _ if config.writers == 0 => Vec::new(),
        Some(schedule) => {
            let (shared, writers) = (shared.clone(), config.writers);
            let requests = tokio::runtime::Handle::current();
            vec![tokio::task::spawn_blocking(move || {
                writers::paced_on_own_thread(shared, schedule, batch, writers, deadline, requests)
            })]
        }
        None => (0..config.writers)
            .map(|_| {
                let shared = shared.clone();
                tokio::spawn(async move {
                    writers::writer(shared, batch, deadline).await;
                    Duration::ZERO
                })
            })
            .collect(),
    };
    let keeper = tokio::spawn(readers::keep_head(
        shared.clone(),
        first,
        started,
        Duration::from_millis(200),
    ));
    let mut readers = Vec::new();
    for i in 0..config.readers {
        readers.push(tokio::spawn(readers::follower(
            shared.clone(),
            0x9E37_79B9 + i as u64,
        )));
    }
    for i in 0..config.proof_readers {
        readers.push(tokio::spawn(readers::proof_reader(
            shared.clone(),
            0x5851_F42D + i as u64,
            config.proof_batch.max(1),
        )));
    }
    let cache = Arc::new(tiles::TileCache::default());
    for i in 0..config.tile_readers {
        readers.push(tokio::spawn(tiles::tile_reader(
            shared.clone(),
            cache.clone(),
            0x2545_F491 + i as u64,
        )));
    }
    let mut send_lag = Duration::ZERO;
    if writers.is_empty() {
        // Reads only: for the whole time.
        tokio::time::sleep_until(deadline.into()).await;
    }
    for w in writers {
        send_lag = send_lag.max(w.await.unwrap_or_default());
    }
    let seconds = started.elapsed().as_secs_f64();
    shared.stop.store(true, Ordering::SeqCst);
    for r in readers {
        let _ = r.await;
    }
    let mut growth = keeper.await.unwrap_or_default();
    let usage_after = config.server_pid.and_then(process_usage);
    let own_cpu_after = process_usage(std::process::id());
    let end_size = shared.client.checkpoint().await?.head().size.0;
    growth.push((started.elapsed().as_secs_f64(), end_size));
    let accepted = shared.accepted.load(Ordering::Relaxed);
    let bundles = shared.bundle_reads.load(Ordering::Relaxed);
    let reads = shared.checkpoint_reads.load(Ordering::Relaxed) + bundles;
    Ok(Report {
        accepted,
        refused: shared.refused.load(Ordering::Relaxed),
        seconds,
        events_per_second: accepted as f64 / seconds.max(1e-9),
        offered_rate: config.rate.filter(|_| config.writers > 0),
        max_send_lag_ms: schedule
            .filter(|_| config.writers > 0)
            .map(|_| send_lag.as_secs_f64() * 1000.0),
        latency_ms: shared.submit_latency.latency(),
        reads,
        reads_per_second: reads as f64 / seconds.max(1e-9),
        bundles: Reads::new(bundles, seconds, shared.bundle_latency.latency()),
        proofs: Reads::new(
            shared.proof_reads.load(Ordering::Relaxed),
            seconds,
            shared.proof_latency.latency(),
        ),
        tile_proofs: Reads::new(
            shared.tile_proofs.load(Ordering::Relaxed),
            seconds,
            shared.tile_latency.latency(),
        ),
        tile_fetches: shared.tile_fetches.load(Ordering::Relaxed),
        verification_failures: shared.failures.load(Ordering::Relaxed),
        tree_size: (start_size, end_size),
        growth,
        server_cpu_seconds: match (cpu_before, usage_after) {
            (Some((a, _)), Some((b, _))) => Some(b - a),
            _ => None,
        },
        server_peak_rss_mib: usage_after.map(|(_, rss)| rss),
        hammer_cpu_seconds: match (own_cpu_before, own_cpu_after) {
            (Some((a, _)), Some((b, _))) => Some(b - a),
            _ => None,
        },
    })
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
