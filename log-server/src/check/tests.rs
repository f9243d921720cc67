//! The check over real logs (built as the sequencer builds them) and over
//! the same logs with one stored value altered.

use std::collections::HashMap;

use gatelog_core::keys::SignatureType;
use gatelog_core::{CompactRange, Hash, LeafIndex, Origin, SignerKey, leaf_hash};
use gatelog_lab::sample::SampleRegistry;

use super::*;
use crate::log::recover;
use crate::store::memory::MemoryStore;
use crate::store::rocks::RocksStore;
use crate::store::{AppendBatch, IndexKey, TreeState};

const ORIGIN: &str = "check.test/log";

fn key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, &[3; 32]).unwrap()
}

/// The `logged_at` and `prev` of entry `i`, as an honest log sets them.
type Tweak = fn(u64, &mut u64, &mut Option<LeafIndex>);

fn honest(_: u64, _: &mut u64, _: &mut Option<LeafIndex>) {}

/// Appends `n` events of 5 packages in batches of 50 and signs them.
fn build<S: LogStore>(store: &S, n: u64, tweak: Tweak) {
    let reg = SampleRegistry::new("registry.example", 1);
    let mut range = CompactRange::new();
    let mut heads: HashMap<String, LeafIndex> = HashMap::new();
    let origin = Origin::new(ORIGIN).unwrap();
    recover(store, &key(), &origin).unwrap();
    let mut i = 0;
    while i < n {
        let mut batch = AppendBatch {
            first: i,
            ..AppendBatch::default()
        };
        let mut clock = 0;
        for j in i..(i + 50).min(n) {
            let package = format!("pkg-{}", j % 5);
            let env = reg.publish_direct(
                &package,
                &format!("1.0.{j}"),
                &j.to_le_bytes(),
                1_700_000_000,
            );
            let (mut logged_at, mut prev) = (1_000_000 + j * 10, heads.get(&package).copied());
            tweak(j, &mut logged_at, &mut prev);
            let leaf = gatelog_core::Leaf::new(logged_at, prev, env).unwrap();
            batch.nodes.extend(range.append(leaf.hash()));
            batch.keys.push((
                IndexKey::PackageHead("r".into(), package.clone()),
                LeafIndex(j),
            ));
            batch.leaves.push(leaf.into_bytes());
            heads.insert(package, LeafIndex(j));
            clock = clock.max(logged_at);
        }
        i = (i + 50).min(n);
        batch.state = TreeState {
            size: range.size(),
            clock,
        };
        store.append(&batch).unwrap();
        recover(store, &key(), &origin).unwrap();
    }
}

/// A store whose reads return altered values for some keys.
#[derive(Default)]
struct Altered {
    inner: MemoryStore,
    leaves: HashMap<u64, Option<Vec<u8>>>,
    nodes: HashMap<NodeId, Hash>,
    checkpoint: Option<Vec<u8>>,
    state: Option<TreeState>,
}

impl LogStore for Altered {
    fn state(&self) -> Result<TreeState, StoreError> {
        self.state.map_or_else(|| self.inner.state(), Ok)
    }
    fn latest_checkpoint(&self) -> Result<Option<(TreeSize, Vec<u8>)>, StoreError> {
        let real = self.inner.latest_checkpoint()?;
        Ok(match (&self.checkpoint, real) {
            (Some(note), Some((size, _))) => Some((size, note.clone())),
            (_, real) => real,
        })
    }
    fn read_hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>, StoreError> {
        let mut out = self.inner.read_hashes(ids)?;
        for (id, h) in ids.iter().zip(out.iter_mut()) {
            if let Some(altered) = self.nodes.get(id) {
                *h = *altered;
            }
        }
        Ok(out)
    }
    fn read_leaves(&self, start: u64, count: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = self.inner.read_leaves(start, count)?;
        for (i, leaf) in (start..).zip(out.iter_mut()) {
            match self.leaves.get(&i) {
                Some(Some(altered)) => *leaf = altered.clone(),
                Some(None) => return Err(StoreError::Missing(format!("leaf {i}"))),
                None => {}
            }
        }
        Ok(out)
    }
    fn lookup(&self, key: &IndexKey) -> Result<Option<LeafIndex>, StoreError> {
        self.inner.lookup(key)
    }
    fn scan(
        &self,
        key: &IndexKey,
        after: Option<LeafIndex>,
        limit: usize,
    ) -> Result<Vec<LeafIndex>, StoreError> {
        self.inner.scan(key, after, limit)
    }
    fn append(&self, batch: &AppendBatch) -> Result<(), StoreError> {
        self.inner.append(batch)
    }
    fn put_checkpoint(&self, size: TreeSize, note: &[u8]) -> Result<(), StoreError> {
        self.inner.put_checkpoint(size, note)
    }
}

fn altered(n: u64) -> Altered {
    let store = Altered::default();
    build(&store, n, honest);
    store
}

fn check(store: &dyn LogStore) -> Result<Report, Damage> {
    check_store(store, &key().verifier(), |_, _| {})
}

fn flip(bytes: &mut [u8], at: usize) {
    bytes[at] ^= 0x01;
}

fn flipped_hash(store: &Altered, id: NodeId) -> Hash {
    let mut bytes = *store.inner.read_hashes(&[id]).unwrap()[0].as_bytes();
    flip(&mut bytes, 7);
    Hash::from_slice(&bytes).unwrap()
}

#[test]
fn an_honest_log_passes() {
    let store = altered(300);
    let r = check(&store).unwrap();
    assert_eq!(r.entries, 300);
    assert_eq!(r.checkpoint.size, TreeSize(300));
    assert_eq!(r.packages, 5);
    assert_eq!(r.unsigned, 0);
    // Every stored subtree: 300 leaves, 150 pairs, 75, 37, 18, 9, 4, 2, 1.
    assert_eq!(r.nodes, 300 + 150 + 75 + 37 + 18 + 9 + 4 + 2 + 1);
    let empty = MemoryStore::new();
    assert_eq!(check(&empty).unwrap().entries, 0);
}

#[test]
fn a_flipped_entry_byte_is_named() {
    let mut store = altered(300);
    let mut leaf = store.inner.read_leaves(117, 1).unwrap().remove(0);
    flip(&mut leaf, 40);
    store.leaves.insert(117, Some(leaf));
    let d = check(&store).unwrap_err();
    assert_eq!(d.at, Location::Entry(117), "{d}");
    assert!(d.what.contains("entry's bytes are damaged"), "{d}");
}

#[test]
fn a_flipped_stored_leaf_hash_is_told_apart_from_a_flipped_entry() {
    let mut store = altered(300);
    let id = NodeId::new(0, 42);
    store.nodes.insert(id, flipped_hash(&store, id));
    let d = check(&store).unwrap_err();
    assert_eq!(d.at, Location::Entry(42), "{d}");
    assert!(d.what.contains("stored leaf hash is damaged"), "{d}");
}

#[test]
fn a_flipped_inner_hash_is_named() {
    let mut store = altered(300);
    // Level 3, index 5: a node no startup check reads.
    let id = NodeId::new(3, 5);
    store.nodes.insert(id, flipped_hash(&store, id));
    let d = check(&store).unwrap_err();
    assert_eq!(d.at, Location::Node(id), "{d}");
    assert!(d.to_string().contains("over entries 40..48"), "{d}");
}

#[test]
fn a_flipped_checkpoint_is_named() {
    let mut store = altered(300);
    let (_, mut note) = store.inner.latest_checkpoint().unwrap().unwrap();
    // The second character of the root hash (the third line).
    let at = note.iter().position(|b| *b == b'\n').unwrap() + 6;
    flip(&mut note, at);
    store.checkpoint = Some(note);
    let d = check(&store).unwrap_err();
    assert_eq!(d.at, Location::Checkpoint, "{d}");
}

#[test]
fn holes_and_lost_entries_are_named() {
    let mut store = altered(300);
    store.leaves.insert(200, None);
    let d = check(&store).unwrap_err();
    assert_eq!(d.at, Location::Entry(200), "{d}");
    assert!(d.what.contains("hole"), "{d}");

    // The state says fewer entries than the checkpoint signed.
    let mut store = altered(300);
    store.state = Some(TreeState {
        size: TreeSize(250),
        clock: u64::MAX,
    });
    let d = check(&store).unwrap_err();
    assert_eq!(d.at, Location::Checkpoint, "{d}");
    assert!(d.what.contains("missing"), "{d}");

    // An entry stored beyond the tree size.
    let mut store = Altered::default();
    build(&store.inner, 300, honest);
    let signed = store.inner.latest_checkpoint().unwrap().unwrap();
    build_more_unsigned(&store.inner, 300, 310, signed);
    store.state = Some(TreeState {
        size: TreeSize(300),
        clock: u64::MAX,
    });
    let d = check(&store).unwrap_err();
    assert_eq!(d.at, Location::Entry(300), "{d}");
    assert!(d.what.contains("beyond"), "{d}");
}

#[test]
fn a_log_that_signed_broken_structure_is_named() {
    fn backwards(i: u64, logged_at: &mut u64, _: &mut Option<LeafIndex>) {
        if i == 77 {
            *logged_at = 5;
        }
    }
    fn gap(i: u64, _: &mut u64, prev: &mut Option<LeafIndex>) {
        if i == 88 {
            *prev = Some(LeafIndex(83 - 5));
        }
    }
    fn fork(i: u64, _: &mut u64, prev: &mut Option<LeafIndex>) {
        if i == 99 {
            *prev = None;
        }
    }
    for (tweak, index, words) in [
        (backwards as Tweak, 77, "went backwards"),
        (gap as Tweak, 88, "previous entry of pkg-3 is 83"),
        (fork as Tweak, 99, "prev is null"),
    ] {
        let store = MemoryStore::new();
        build(&store, 150, tweak);
        let d = check(&store).unwrap_err();
        assert_eq!(d.at, Location::Entry(index), "{d}");
        assert!(d.what.contains(words), "{d}");
    }
}

#[test]
fn a_clock_behind_the_entries_is_named() {
    let mut store = altered(60);
    let real = store.inner.state().unwrap();
    store.state = Some(TreeState { clock: 3, ..real });
    let d = check(&store).unwrap_err();
    assert_eq!(d.at, Location::State, "{d}");
    assert!(d.what.contains("clock"), "{d}");
}

#[test]
fn unsigned_entries_after_the_checkpoint_are_reported_not_refused() {
    let store = MemoryStore::new();
    build(&store, 100, honest);
    // Write 20 more without signing them (a batch in flight).
    let mut range = crate::sequencer::load_range(&store, store.state().unwrap()).unwrap();
    let leaves: Vec<Vec<u8>> = (0..20u8).map(|i| vec![b'x', i]).collect();
    let mut batch = AppendBatch {
        first: 100,
        ..AppendBatch::default()
    };
    for leaf in &leaves {
        batch.nodes.extend(range.append(leaf_hash(leaf)));
    }
    batch.leaves = leaves;
    batch.state = TreeState {
        size: TreeSize(120),
        clock: u64::MAX,
    };
    store.append(&batch).unwrap();
    // Entries not written by a log are still damage, signed or not.
    let d = check(&store).unwrap_err();
    assert_eq!(d.at, Location::Entry(100), "{d}");

    let store = MemoryStore::new();
    build(&store, 100, honest);
    let signed = store.latest_checkpoint().unwrap().unwrap();
    build_more_unsigned(&store, 100, 150, signed);
    let r = check(&store).unwrap();
    assert_eq!(
        (r.entries, r.checkpoint.size, r.unsigned),
        (150, TreeSize(100), 50)
    );
}

/// Appends entries `[from, to)` of the honest log and puts back the
/// checkpoint `signed` (as if the server stopped before signing them).
fn build_more_unsigned(store: &MemoryStore, from: u64, to: u64, signed: (TreeSize, Vec<u8>)) {
    let fresh = MemoryStore::new();
    build(&fresh, to, honest);
    let mut range = CompactRange::new();
    let mut batch = AppendBatch {
        first: from,
        ..AppendBatch::default()
    };
    for (i, leaf) in (0..).zip(fresh.read_leaves(0, to).unwrap()) {
        let nodes = range.append(leaf_hash(&leaf));
        if i >= from {
            batch.nodes.extend(nodes);
            batch.leaves.push(leaf);
        }
    }
    batch.state = fresh.state().unwrap();
    store.append(&batch).unwrap();
    store.put_checkpoint(signed.0, &signed.1).unwrap();
}

#[test]
fn the_tail_check_sees_only_the_newest_entries() {
    let mut store = altered(300);
    let mut leaf = store.inner.read_leaves(10, 1).unwrap().remove(0);
    flip(&mut leaf, 40);
    store.leaves.insert(10, Some(leaf.clone()));
    assert!(verify_tail(&store, 200, 300).is_ok());
    store.leaves.clear();
    store.leaves.insert(250, Some(leaf));
    let d = verify_tail(&store, 200, 300).unwrap_err();
    assert_eq!(d.at, Location::Entry(250), "{d}");
}

/// Every file in a folder with its bytes.
fn snapshot(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_read_only_store_changes_nothing_and_works_beside_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    {
        let store = RocksStore::open(&db).unwrap();
        build(&store, 120, honest);
    }
    let before = snapshot(&db);
    let scratch = tempfile::tempdir().unwrap();
    {
        let ro = RocksStore::open_read_only(&db, scratch.path()).unwrap();
        assert_eq!(check(&ro).unwrap().entries, 120);
    }
    assert_eq!(snapshot(&db), before, "the check changed the data folder");

    // Beside a running writer it checks what was there when it opened.
    let writer = RocksStore::open(&db).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let ro = RocksStore::open_read_only(&db, scratch.path()).unwrap();
    let fresh = MemoryStore::new();
    build(&fresh, 170, honest);
    let mut range = crate::sequencer::load_range(&writer, writer.state().unwrap()).unwrap();
    let mut batch = AppendBatch {
        first: 120,
        ..AppendBatch::default()
    };
    for leaf in fresh.read_leaves(120, 50).unwrap() {
        batch.nodes.extend(range.append(leaf_hash(&leaf)));
        batch.leaves.push(leaf);
    }
    batch.state = fresh.state().unwrap();
    writer.append(&batch).unwrap();
    let r = check(&ro).unwrap();
    assert_eq!((r.entries, r.unsigned), (120, 0));

    // No store at all is an error, not an empty log.
    let nothing = tempfile::tempdir().unwrap();
    assert!(RocksStore::open_read_only(&nothing.path().join("db"), scratch.path()).is_err());
    assert!(!nothing.path().join("db").exists());
}
