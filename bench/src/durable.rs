//! Durable append + inclusion proofs on the server's RocksDB store: the
//! gatelog half of the comparison with pymerkle's SQLite tree
//! (`scripts/bench-pymerkle.py` does the same work in the same order).
//!
//! The work, for both: `entries` entries of `entry_bytes` bytes (entry `i`
//! is `i` as 8 big-endian bytes, repeated), appended in commits of `batch`
//! entries, each commit durable before the next starts; then `proofs`
//! inclusion proofs at the tree size reached, at the indices of
//! [`proof_indices`], built from the store and verified against the root.
//!
//! On gatelog's side a commit is what the sequencer writes for a batch
//! (`LogStore::append`: the leaves, every complete subtree hash they
//! complete and the tree size, in one `WriteBatch` with a synced WAL),
//! without the index keys and the checkpoint signature, which pymerkle has
//! no counterpart of.

use std::path::Path;
use std::time::Instant;

use gatelog_core::merkle::verify_inclusion;
use gatelog_core::{CompactRange, Hash, HashReader, LeafIndex, TreeHead, TreeSize, leaf_hash};
use gatelog_server::store::rocks::RocksStore;
use gatelog_server::store::{AppendBatch, Hashes, LogStore, StoreError, TreeState};

/// What one run does.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// Entries appended.
    pub entries: u64,
    /// Entries per durable commit.
    pub batch: u64,
    /// Bytes per entry (a multiple of 8).
    pub entry_bytes: usize,
    /// Inclusion proofs built and verified at the end.
    pub proofs: usize,
}

/// Entry `i`: `i` as 8 big-endian bytes, repeated to `len` bytes.
pub fn entry(i: u64, len: usize) -> Vec<u8> {
    i.to_be_bytes().repeat(len / 8)
}

/// The leaf indices proven: `⌊(j · 0x9E3779B97F4A7C15 mod 2^64) · n / 2^64⌋`
/// for `j = 1..=count`, the same sequence as the Python driver.
pub fn proof_indices(n: u64, count: usize) -> Vec<u64> {
    crate::run::spread(n, count)
}

/// Runs the workload on a new RocksDB store in `dir`; returns the report.
pub fn run(dir: &Path, w: &Workload) -> Result<serde_json::Value, StoreError> {
    assert!(w.entries > 0 && w.batch > 0 && w.entry_bytes.is_multiple_of(8));
    let entries: Vec<Vec<u8>> = (0..w.entries).map(|i| entry(i, w.entry_bytes)).collect();
    let store = RocksStore::open(dir)?;
    if store.state()?.size != TreeSize(0) {
        return Err(StoreError::Corrupt(format!(
            "{} already holds a tree; the run needs an empty folder",
            dir.display()
        )));
    }

    let started = Instant::now();
    let mut range = CompactRange::new();
    let mut pending = entries.clone().into_iter().peekable();
    let mut commits = 0u64;
    while pending.peek().is_some() {
        let first = range.size().0;
        let leaves: Vec<Vec<u8>> = pending.by_ref().take(w.batch as usize).collect();
        let mut nodes = Vec::new();
        for leaf in &leaves {
            nodes.extend(range.append(leaf_hash(leaf)));
        }
        store.append(&AppendBatch {
            first,
            leaves,
            nodes,
            keys: Vec::new(),
            state: TreeState {
                size: range.size(),
                clock: 0,
            },
        })?;
        commits += 1;
    }
    let append_seconds = started.elapsed().as_secs_f64();

    let head = TreeHead {
        size: range.size(),
        root: range.root(),
    };
    let reader = Hashes(&store);
    if reader.root(head.size)? != head.root {
        return Err(StoreError::Corrupt(
            "the root read back differs from the appended one".into(),
        ));
    }

    let indices = proof_indices(w.entries, w.proofs);
    let started = Instant::now();
    let proofs = indices
        .iter()
        .map(|&i| reader.inclusion_proof(LeafIndex(i), head.size))
        .collect::<Result<Vec<_>, _>>()?;
    let build_seconds = started.elapsed().as_secs_f64();

    let hashes: Vec<Hash> = indices
        .iter()
        .map(|&i| leaf_hash(&entries[i as usize]))
        .collect();
    let started = Instant::now();
    for (proof, hash) in proofs.iter().zip(&hashes) {
        verify_inclusion(hash, proof, &head)?;
    }
    let verify_seconds = started.elapsed().as_secs_f64();
    drop(store);

    Ok(serde_json::json!({
        "impl": "gatelog",
        "store": "RocksDB (gatelog-server RocksStore, synced WAL)",
        "entries": w.entries,
        "batch": w.batch,
        "commits": commits,
        "entry_bytes": w.entry_bytes,
        "append_seconds": append_seconds,
        "appends_per_second": w.entries as f64 / append_seconds,
        "proofs": w.proofs,
        "proof_build_seconds": build_seconds,
        "proof_verify_seconds": verify_seconds,
        "root": head.root.to_hex(),
        "disk_bytes": disk_bytes(dir),
    }))
}

/// Bytes of the files under `dir` (the store's size on disk).
pub fn disk_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_run_proves_every_pick_and_reports_the_rfc6962_root() {
        let dir = tempfile::tempdir().unwrap();
        let w = Workload {
            entries: 300,
            batch: 7,
            entry_bytes: 64,
            proofs: 20,
        };
        let report = run(dir.path(), &w).unwrap();
        assert_eq!(report["commits"], 43);
        let mut range = CompactRange::new();
        for i in 0..300 {
            range.append(leaf_hash(&entry(i, 64)));
        }
        assert_eq!(report["root"], range.root().to_hex());
        // A second run into the same folder is refused, not appended.
        assert!(run(dir.path(), &w).is_err());
    }
}
