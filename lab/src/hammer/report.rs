//! What a hammer run measured, and how it is printed (text or JSON).

use std::sync::Mutex;

use serde::Serialize;

/// Latency percentiles in milliseconds.
#[derive(Debug, Serialize, Default, Clone, Copy)]
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

/// Latency samples in microseconds, collected from many tasks.
#[derive(Default)]
pub struct Samples(Mutex<Vec<u32>>);

impl Samples {
    /// Records one sample.
    pub fn record(&self, took: std::time::Duration) {
        self.record_n(took, 1);
    }

    /// Records the same sample `n` times (one per event of a request).
    pub fn record_n(&self, took: std::time::Duration, n: usize) {
        let us = took.as_micros().min(u32::MAX as u128) as u32;
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        v.extend(std::iter::repeat_n(us, n));
    }

    /// The percentiles of everything recorded.
    pub fn latency(&self) -> Latency {
        let mut v = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        v.sort_unstable();
        Latency {
            p50: percentile(&v, 0.50),
            p90: percentile(&v, 0.90),
            p99: percentile(&v, 0.99),
            max: percentile(&v, 1.0),
        }
    }
}

fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// Verified reads of one kind.
#[derive(Debug, Serialize, Default)]
pub struct Reads {
    /// Reads that verified.
    pub count: u64,
    /// Per second of the run.
    pub per_second: f64,
    /// Request → verified answer.
    pub latency_ms: Latency,
}

impl Reads {
    /// `count` reads over `seconds`.
    pub fn new(count: u64, seconds: f64, latency_ms: Latency) -> Reads {
        Reads {
            count,
            per_second: count as f64 / seconds.max(1e-9),
            latency_ms,
        }
    }
}

/// What a run measured.
#[derive(Debug, Serialize, Default)]
pub struct Report {
    /// Events acknowledged (and verified).
    pub accepted: u64,
    /// Events refused (any reason).
    pub refused: u64,
    /// Wall time of the run, seconds.
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
    /// Checkpoints read and proven consistent with the previous one, and
    /// release bundles read with every entry verified (the readers).
    pub reads: u64,
    /// `reads` per second.
    pub reads_per_second: f64,
    /// Release bundles alone (part of `reads`).
    pub bundles: Reads,
    /// Inclusion proofs built by the log (`GET /v1/proofs/inclusion`, or
    /// `POST` for several at once), each verified against a verified
    /// checkpoint (the proof readers); latency is per request.
    pub proofs: Reads,
    /// Inclusion proofs built here from the log's tiles, each verified (the
    /// tile readers); tiles are fetched once and reused, so this measures
    /// mostly this machine, never the log's proof endpoint.
    pub tile_proofs: Reads,
    /// Tiles and entry bundles the tile readers fetched.
    pub tile_fetches: u64,
    /// Failed verifications (must be 0).
    pub verification_failures: u64,
    /// Tree size when the run started and ended.
    pub tree_size: (u64, u64),
    /// (seconds since start, tree size of the latest verified checkpoint)
    /// once a second.
    pub growth: Vec<(f64, u64)>,
    /// Server CPU seconds used during the run, if sampled.
    pub server_cpu_seconds: Option<f64>,
    /// Server peak resident memory in MiB, if sampled.
    pub server_peak_rss_mib: Option<f64>,
    /// CPU seconds this load generator used (it shares the machine).
    pub hammer_cpu_seconds: Option<f64>,
}

/// CPU seconds (user + system) and peak RSS (MiB) of a process, from /proc.
pub fn process_usage(pid: u32) -> Option<(f64, f64)> {
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

fn latency_line(l: &Latency) -> String {
    format!(
        "p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        l.p50, l.p90, l.p99, l.max
    )
}

impl Report {
    /// Entries added per second, from the growth samples: (min, median, max).
    pub fn growth_per_second(&self) -> Option<(u64, u64, u64)> {
        let mut steps: Vec<u64> = self
            .growth
            .windows(2)
            .map(|w| w[1].1.saturating_sub(w[0].1))
            .collect();
        steps.sort_unstable();
        Some((*steps.first()?, steps[steps.len() / 2], *steps.last()?))
    }

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
        if self.accepted > 0 {
            s += &format!(
                "latency    submit -> verified signed answer: {}\n",
                latency_line(&self.latency_ms)
            );
        }
        s += &format!(
            "reads      {} verified checkpoints and bundles ({:.0}/s)\n",
            self.reads, self.reads_per_second
        );
        for (what, r) in [
            ("proofs    ", &self.proofs),
            ("tile proof", &self.tile_proofs),
        ] {
            if r.count > 0 {
                s += &format!(
                    "{what} {} verified ({:.0}/s): {}\n",
                    r.count,
                    r.per_second,
                    latency_line(&r.latency_ms)
                );
            }
        }
        s += &format!(
            "tree       {} -> {} entries\n",
            self.tree_size.0, self.tree_size.1
        );
        if let Some((min, median, max)) = self.growth_per_second() {
            s += &format!("growth     per second: min {min}, median {median}, max {max} entries\n");
        }
        if let (Some(cpu), Some(rss)) = (self.server_cpu_seconds, self.server_peak_rss_mib) {
            s += &format!("server     {cpu:.1} CPU-seconds, peak RSS {rss:.0} MiB\n");
        }
        if let Some(cpu) = self.hammer_cpu_seconds {
            s += &format!("hammer     {cpu:.1} CPU-seconds\n");
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
    use super::*;
    use std::time::Duration;

    #[test]
    fn percentiles_come_from_the_samples() {
        let s = Samples::default();
        for ms in 1..=100 {
            s.record(Duration::from_millis(ms));
        }
        s.record_n(Duration::from_millis(500), 2);
        let l = s.latency();
        assert_eq!(l.max, 500.0);
        assert!((50.0..=52.0).contains(&l.p50), "{l:?}");
        assert!(l.p99 >= 99.0, "{l:?}");
        // Taking the percentiles empties the samples.
        assert_eq!(s.latency().max, 0.0);
    }

    #[test]
    fn growth_per_second_is_read_from_the_samples() {
        let mut r = Report::default();
        assert_eq!(r.growth_per_second(), None);
        r.growth = vec![(0.0, 10), (1.0, 110), (2.0, 110), (3.0, 400)];
        assert_eq!(r.growth_per_second(), Some((0, 100, 290)));
        assert!(r.to_text().contains("min 0, median 100, max 290"));
    }
}
