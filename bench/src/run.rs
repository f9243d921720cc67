//! What one bench run covers, and the record of its setup times.
//!
//! - `GATELOG_BENCH_SIZES`: the tree sizes to run, comma-separated among
//!   `1K`, `1M`, `100M` (default: all three).
//! - `GATELOG_BENCH_SETUP_OUT`: a file to which each setup (building a tree,
//!   a peer's tree) appends one JSON line with its duration and memory.
//!
//! Criterion runs a bench binary without `--bench` in test mode (each
//! benchmark once, e.g. `cargo test --benches`); there only the 1 K trees
//! are built, so a test run stays quick and small.

use std::io::Write as _;
use std::time::Instant;

/// A tree size the benchmarks run at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    /// The label in benchmark names: `1K`, `1M`, `100M`.
    pub label: &'static str,
    /// The number of leaves.
    pub leaves: u64,
}

/// Every size, smallest first.
pub const ALL_SIZES: [Size; 3] = [
    Size {
        label: "1K",
        leaves: 1_000,
    },
    Size {
        label: "1M",
        leaves: 1_000_000,
    },
    Size {
        label: "100M",
        leaves: 100_000_000,
    },
];

/// The largest size built when criterion runs in test mode.
const TEST_MODE_MAX_LEAVES: u64 = 1_000;

/// Whether this process is a real benchmark run (`cargo bench` passes
/// `--bench`), as opposed to criterion's test mode.
pub fn benchmarking() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// The sizes this run covers (see the module doc).
pub fn sizes() -> Vec<Size> {
    let wanted = std::env::var("GATELOG_BENCH_SIZES").ok();
    let chosen: Vec<Size> = match wanted.as_deref() {
        None | Some("") => ALL_SIZES.to_vec(),
        Some(list) => {
            let labels: Vec<&str> = list.split(',').map(str::trim).collect();
            for label in &labels {
                assert!(
                    ALL_SIZES
                        .iter()
                        .any(|s| s.label.eq_ignore_ascii_case(label)),
                    "GATELOG_BENCH_SIZES: unknown size {label:?} (use 1K, 1M, 100M)"
                );
            }
            ALL_SIZES
                .into_iter()
                .filter(|s| labels.iter().any(|l| s.label.eq_ignore_ascii_case(l)))
                .collect()
        }
    };
    if benchmarking() {
        return chosen;
    }
    chosen
        .into_iter()
        .filter(|s| s.leaves <= TEST_MODE_MAX_LEAVES)
        .collect()
}

/// `count` leaf indices spread evenly over `[0, n)`, so that successive
/// proofs walk different paths: the golden-ratio sequence
/// `x_j = j · 0x9E3779B97F4A7C15 mod 2^64` scaled to `⌊x_j · n / 2^64⌋`.
pub fn spread(n: u64, count: usize) -> Vec<u64> {
    (1..=count as u64)
        .map(|j| {
            let x = j.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            ((u128::from(x) * u128::from(n)) >> 64) as u64
        })
        .collect()
}

/// Records that the setup `what` started at `started` is done and holds
/// `bytes` of data: on stderr, and as a JSON line in
/// `$GATELOG_BENCH_SETUP_OUT` when set.
pub fn setup_done(bench: &str, what: &str, started: Instant, bytes: usize) {
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "setup: {what}: {seconds:.1} s, {:.2} GiB",
        bytes as f64 / (1u64 << 30) as f64
    );
    let Some(path) = std::env::var_os("GATELOG_BENCH_SETUP_OUT") else {
        return;
    };
    let line = serde_json::json!({
        "bench": bench,
        "setup": what,
        "seconds": seconds,
        "bytes": bytes,
        "threads": rayon::current_num_threads(),
    });
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = written {
        eprintln!(
            "warning: cannot record setup in {}: {e}",
            path.to_string_lossy()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_stays_in_range_and_varies() {
        let picks = spread(1000, 64);
        assert!(picks.iter().all(|&i| i < 1000));
        let mut distinct = picks.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 64, "{picks:?}");
    }
}
