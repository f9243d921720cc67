//! `gatelog-server check`: an audit of a log's stored state, like a file
//! system's fsck. It re-derives the tree from the stored entries and
//! compares it with everything stored about it:
//!
//! - every entry is re-hashed and every stored subtree hash (hence every
//!   hash tile) is rebuilt and compared ([`tree`]);
//! - the latest stored checkpoint must verify with the log key, cover no
//!   more than is stored, and have the re-derived root at its size;
//! - entries are contiguous from 0 to the stored tree size with nothing
//!   beyond it, each is a canonical leaf with a valid event, `logged_at`
//!   never decreases and is not ahead of the stored clock, and every
//!   `prev` names its package's previous entry ([`leaves`]).
//!
//! It stops at the first problem, in log order, and names the entry or
//! node and what differs. It streams: memory is one chunk of entries, one
//! compact range and one index per distinct package. [`cli`] is the
//! command; [`verify_tail`] is the cheaper check the server runs at start.

pub mod cli;
pub mod leaves;
pub mod tree;

use std::fmt;
use std::time::{Duration, Instant};

use gatelog_core::{NodeId, TreeHead, TreeSize, VerifierKey, checkpoint, leaf_hash};
use rayon::prelude::*;

use crate::store::{LogStore, StoreError};
use leaves::LeafCheck;
use tree::TreeCheck;

/// Entries read, hashed and decoded at a time.
const CHUNK: u64 = 8192;

/// Where a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// One entry (leaf index).
    Entry(u64),
    /// One stored subtree hash.
    Node(NodeId),
    /// The latest stored checkpoint.
    Checkpoint,
    /// The stored tree size, clock or layout.
    State,
}

/// The first problem found, and what differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// Where.
    pub at: Location,
    /// What differs.
    pub what: String,
}

impl Damage {
    /// A problem at `at`.
    pub fn new(at: Location, what: impl Into<String>) -> Damage {
        Damage {
            at,
            what: what.into(),
        }
    }
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Location::Entry(i) => write!(f, "entry {i}: {}", self.what),
            Location::Node(id) => write!(
                f,
                "stored hash of node (level {}, index {}), over entries {}..{}: {}",
                id.level,
                id.index,
                id.first_leaf(),
                id.end(),
                self.what
            ),
            Location::Checkpoint => write!(f, "latest checkpoint: {}", self.what),
            Location::State => write!(f, "stored state: {}", self.what),
        }
    }
}

/// What a check that passed covered.
#[derive(Clone, Debug)]
pub struct Report {
    /// Entries re-hashed and checked.
    pub entries: u64,
    /// Stored subtree hashes compared.
    pub nodes: u64,
    /// Distinct packages.
    pub packages: usize,
    /// The latest signed checkpoint's tree head (verified).
    pub checkpoint: TreeHead,
    /// Entries stored after the latest checkpoint: a batch that was being
    /// written (when the server runs), or one the server signs when it
    /// next starts.
    pub unsigned: u64,
    /// The stored log clock (ms).
    pub clock: u64,
    /// How long it took.
    pub elapsed: Duration,
}

/// Checks everything stored against the log key `key`; `progress` is
/// called after each chunk with (entries checked, total).
pub fn check_store<S: LogStore + ?Sized>(
    store: &S,
    key: &VerifierKey,
    mut progress: impl FnMut(u64, u64),
) -> Result<Report, Damage> {
    let started = Instant::now();
    let state = store
        .state()
        .map_err(|e| Damage::new(Location::State, e.to_string()))?;
    let head = signed_head(store, key, state.size)?;
    let mut tree = TreeCheck::at(store, TreeSize(0))?;
    let mut leaves = LeafCheck::default();
    if head.size.0 == 0 {
        compare_root(&tree, head)?;
    }
    let mut next = 0;
    while next < state.size.0 {
        // Chunks end at the checkpoint's size, so its root is seen.
        let mut end = (next + CHUNK).min(state.size.0);
        if next < head.size.0 && head.size.0 < end {
            end = head.size.0;
        }
        let bytes = read_entries(store, next, end)?;
        let (hashes, decoded): (Vec<_>, Vec<_>) = bytes
            .par_iter()
            .map(|b| (leaf_hash(b), leaves::decode(b)))
            .unzip();
        // The tree first: an entry whose bytes changed is named as such
        // rather than as, say, unparsable.
        tree.append(store, &hashes)?;
        for (i, d) in (next..end).zip(decoded) {
            leaves.check(i, d)?;
        }
        if end == head.size.0 {
            compare_root(&tree, head)?;
        }
        next = end;
        progress(next, state.size.0);
    }
    check_nothing_beyond(store, state.size)?;
    if leaves.last_logged_at() > state.clock {
        return Err(Damage::new(
            Location::State,
            format!(
                "the stored log clock {} is behind the entries' logged_at {}: \
                 after a restart the log could log an earlier time",
                state.clock,
                leaves.last_logged_at()
            ),
        ));
    }
    Ok(Report {
        entries: state.size.0,
        nodes: tree.nodes_checked(),
        packages: leaves.packages(),
        checkpoint: head,
        unsigned: state.size.0 - head.size.0,
        clock: state.clock,
        elapsed: started.elapsed(),
    })
}

/// Re-derives the stored hashes of entries `[from, to)` from the stored
/// compact range at `from`: the server's start-up check of its newest
/// entries (a damaged entry there would otherwise only be seen when read).
pub fn verify_tail<S: LogStore + ?Sized>(store: &S, from: u64, to: u64) -> Result<(), Damage> {
    let mut tree = TreeCheck::at(store, TreeSize(from))?;
    let mut next = from;
    while next < to {
        let end = (next + CHUNK).min(to);
        let hashes: Vec<_> = read_entries(store, next, end)?
            .par_iter()
            .map(|b| leaf_hash(b))
            .collect();
        tree.append(store, &hashes)?;
        next = end;
    }
    Ok(())
}

/// The latest stored checkpoint, opened with `key`, which must cover no
/// more than the `stored` entries.
fn signed_head<S: LogStore + ?Sized>(
    store: &S,
    key: &VerifierKey,
    stored: TreeSize,
) -> Result<TreeHead, Damage> {
    let at = Location::Checkpoint;
    let latest = store
        .latest_checkpoint()
        .map_err(|e| Damage::new(at, format!("cannot be read: {e}")))?;
    let Some((size, note)) = latest else {
        if stored.0 == 0 {
            // A store created but never started: nothing to disagree with.
            return Ok(TreeHead::empty());
        }
        return Err(Damage::new(
            at,
            format!("none is stored, but {stored} entries are"),
        ));
    };
    let signed = checkpoint::open(&note, key)
        .map_err(|e| Damage::new(at, format!("does not verify with the log key {key}: {e}")))?;
    let head = signed.head();
    if head.size != size {
        return Err(Damage::new(
            at,
            format!(
                "stored for tree size {size}, but its signed note says {}",
                head.size
            ),
        ));
    }
    if head.size > stored {
        return Err(Damage::new(
            at,
            format!(
                "signs {} entries but only {stored} are stored: acknowledged entries are missing",
                head.size
            ),
        ));
    }
    Ok(head)
}

fn compare_root(tree: &TreeCheck, head: TreeHead) -> Result<(), Damage> {
    let root = tree.root();
    if root != head.root {
        return Err(Damage::new(
            Location::Checkpoint,
            format!(
                "it signs root {} for size {}, the stored entries re-derive to {root}",
                head.root, head.size
            ),
        ));
    }
    Ok(())
}

/// Reads entries `[from, to)`; a hole is named.
fn read_entries<S: LogStore + ?Sized>(
    store: &S,
    from: u64,
    to: u64,
) -> Result<Vec<Vec<u8>>, Damage> {
    store.read_leaves(from, to - from).map_err(|e| match e {
        StoreError::Missing(what) => {
            let index = what
                .strip_prefix("leaf ")
                .and_then(|i| i.parse().ok())
                .unwrap_or(from);
            Damage::new(
                Location::Entry(index),
                "missing: the stored entries have a hole",
            )
        }
        other => Damage::new(
            Location::State,
            format!("entries {from}..{to} cannot be read: {other}"),
        ),
    })
}

/// Nothing may be stored past the tree size: no entry, and no subtree
/// hash right after the last complete one of each level.
fn check_nothing_beyond<S: LogStore + ?Sized>(store: &S, size: TreeSize) -> Result<(), Damage> {
    if store.read_leaves(size.0, 1).is_ok() {
        return Err(Damage::new(
            Location::Entry(size.0),
            format!("stored beyond the tree size {size}"),
        ));
    }
    for level in 0..64u8 {
        let id = NodeId::new(level, size.0 >> level);
        if store.read_hashes(&[id]).is_ok() {
            return Err(Damage::new(
                Location::Node(id),
                format!("stored, but no such subtree is complete in a tree of size {size}"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
