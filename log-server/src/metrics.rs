//! Prometheus metrics of one log instance (no global registry, so several
//! logs can run in one test process). Served at `GET /metrics`.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::sequencer::{Accepted, SubmitError};

/// Label of the rejects counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    /// The error code answered (e.g. `bad_event`, `rate_limited`).
    pub reason: String,
}

/// Label of the time skew counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Direction {
    /// `ahead` or `behind` the log clock.
    pub direction: String,
}

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    entries: Counter,
    duplicates: Counter,
    tree_size: Gauge,
    checkpoint_age: Gauge<f64, AtomicU64>,
    batch_size: Histogram,
    batch_seconds: Histogram,
    rejects: Family<Reason, Counter>,
    write_failures: Counter,
    writes_failing: Gauge,
    time_skew: Family<Direction, Counter>,
    /// While writes fail: the latest error, since when, and when it was
    /// last logged.
    failing: Mutex<Option<WriteFailure>>,
}

struct WriteFailure {
    error: String,
    since: Instant,
    logged: Instant,
}

/// How often a continuing write failure is logged again.
const LOG_FAILURE_EVERY: Duration = Duration::from_secs(60);

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("gatelog");
        let entries = Counter::default();
        let duplicates = Counter::default();
        let tree_size = Gauge::default();
        let checkpoint_age = Gauge::<f64, AtomicU64>::default();
        let batch_size = Histogram::new(exponential_buckets(1.0, 4.0, 9));
        let batch_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 14));
        let rejects = Family::<Reason, Counter>::default();
        let write_failures = Counter::default();
        let writes_failing = Gauge::default();
        let time_skew = Family::<Direction, Counter>::default();
        registry.register("entries", "Entries appended to the log", entries.clone());
        registry.register(
            "duplicate_submissions",
            "Resubmissions answered with an existing entry",
            duplicates.clone(),
        );
        registry.register(
            "tree_size",
            "Size of the latest signed checkpoint",
            tree_size.clone(),
        );
        registry.register(
            "checkpoint_age_seconds",
            "Seconds since the latest checkpoint was signed",
            checkpoint_age.clone(),
        );
        registry.register(
            "batch_entries",
            "New entries per sequencer batch",
            batch_size.clone(),
        );
        registry.register(
            "batch_commit_seconds",
            "Time to write, check, sign and store one batch",
            batch_seconds.clone(),
        );
        registry.register("rejects", "Refused submissions by reason", rejects.clone());
        registry.register(
            "storage_write_failures",
            "Batch or checkpoint writes the store refused (nothing was acknowledged)",
            write_failures.clone(),
        );
        registry.register(
            "storage_writes_failing",
            "1 while the latest write failed (e.g. the disk is full), else 0",
            writes_failing.clone(),
        );
        registry.register(
            "time_skew",
            "Entries logged whose registry time is beyond the skew limits of the log clock",
            time_skew.clone(),
        );
        Metrics {
            registry,
            entries,
            duplicates,
            tree_size,
            checkpoint_age,
            batch_size,
            batch_seconds,
            rejects,
            write_failures,
            writes_failing,
            time_skew,
            failing: Mutex::new(None),
        }
    }

    /// Records a new entry whose registry time is skewed (`ahead`/`behind`).
    pub fn record_time_skew(&self, direction: &str) {
        self.time_skew
            .get_or_create(&Direction {
                direction: direction.to_owned(),
            })
            .inc();
    }

    /// Records a failed write; true when it should be logged (the first
    /// failure, then once a minute while failures go on).
    pub fn record_write_failure(&self, error: &str) -> bool {
        self.write_failures.inc();
        self.writes_failing.set(1);
        let now = Instant::now();
        let mut failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *failing {
            Some(f) if now.duration_since(f.logged) < LOG_FAILURE_EVERY => {
                f.error = error.to_owned();
                false
            }
            Some(f) => {
                f.error = error.to_owned();
                f.logged = now;
                true
            }
            None => {
                *failing = Some(WriteFailure {
                    error: error.to_owned(),
                    since: now,
                    logged: now,
                });
                true
            }
        }
    }

    /// Records a write that worked; returns for how long writes had
    /// failed, if they had.
    pub fn record_write_ok(&self) -> Option<Duration> {
        let mut failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        let f = failing.take()?;
        self.writes_failing.set(0);
        Some(f.since.elapsed())
    }

    /// The latest write error while writes fail.
    pub fn write_problem(&self) -> Option<String> {
        let failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        failing.as_ref().map(|f| f.error.clone())
    }

    /// Records a committed batch.
    pub fn record_batch(&self, new_entries: usize, took: Duration, tree_size: u64) {
        self.entries.inc_by(new_entries as u64);
        self.batch_size.observe(new_entries as f64);
        self.batch_seconds.observe(took.as_secs_f64());
        self.tree_size.set(tree_size as i64);
    }

    /// Records the sequencer's answer to one submission.
    pub fn record_submit_result(&self, result: &Result<Accepted, SubmitError>) {
        if let Ok(a) = result
            && a.duplicate
        {
            self.duplicates.inc();
        }
    }

    /// Records a refused submission.
    pub fn record_reject(&self, reason: &str) {
        self.rejects
            .get_or_create(&Reason {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Sets the tree size gauge (at startup).
    pub fn set_tree_size(&self, size: u64) {
        self.tree_size.set(size as i64);
    }

    /// The Prometheus text exposition, with the checkpoint age updated.
    pub fn render(&self, checkpoint_age: Duration) -> String {
        self.checkpoint_age.set(checkpoint_age.as_secs_f64());
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Entries appended since start (for tests and logs).
    pub fn entries(&self) -> u64 {
        self.entries.get()
    }
}
