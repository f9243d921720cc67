//! The conformance suite every [`LogStore`] backend must pass.

use gatelog_core::merkle::{root_from_nodes, root_nodes};
use gatelog_core::{CompactRange, Hash, LeafIndex, NodeId, TreeSize, leaf_hash};

use super::{AppendBatch, IndexKey, LogStore, StoreError, TreeState};

fn leaf(i: u64) -> Vec<u8> {
    format!("{{\"leaf\":{i}}}").into_bytes()
}

/// Appends `n` leaves in batches of up to 7, with their hashes and keys:
/// leaf `i` belongs to package `p{i % 3}`, version `v{i % 2}`.
pub fn fill<S: LogStore>(store: &S, n: u64) -> CompactRange {
    let mut range = CompactRange::new();
    let mut i = 0;
    while i < n {
        let end = (i + 7).min(n);
        let mut batch = AppendBatch {
            first: i,
            ..AppendBatch::default()
        };
        for j in i..end {
            let bytes = leaf(j);
            let hash = leaf_hash(&bytes);
            batch.nodes.extend(range.append(hash));
            let pkg = format!("p{}", j % 3);
            batch.keys.push((IndexKey::LeafHash(hash), LeafIndex(j)));
            batch
                .keys
                .push((IndexKey::PackageHead("r".into(), pkg.clone()), LeafIndex(j)));
            batch.keys.push((
                IndexKey::Version("r".into(), pkg.clone(), format!("v{}", j % 2)),
                LeafIndex(j),
            ));
            batch
                .keys
                .push((IndexKey::Package("r".into(), pkg), LeafIndex(j)));
            batch.leaves.push(bytes);
        }
        batch.state = TreeState {
            size: TreeSize(end),
            clock: 1000 + end,
        };
        store.append(&batch).expect("append");
        i = end;
    }
    range
}

/// Runs every check against fresh stores from `make`.
pub fn run<S: LogStore>(make: impl Fn() -> S) {
    empty_store(&make());
    appended_data_reads_back(&make());
    misplaced_append_changes_nothing(&make());
    checkpoints_overwrite(&make());
    list_keys_do_not_mix(&make());
}

fn empty_store<S: LogStore>(s: &S) {
    assert_eq!(s.state().unwrap(), TreeState::default());
    assert!(s.latest_checkpoint().unwrap().is_none());
    assert!(s.read_leaves(0, 1).is_err());
    assert!(s.read_leaves(0, 0).unwrap().is_empty());
    assert!(matches!(
        s.read_hashes(&[NodeId::new(0, 0)]),
        Err(StoreError::Missing(_))
    ));
    assert_eq!(
        s.lookup(&IndexKey::PackageHead("r".into(), "x".into()))
            .unwrap(),
        None
    );
    assert!(
        s.scan(&IndexKey::Package("r".into(), "x".into()), None, 10)
            .unwrap()
            .is_empty()
    );
}

fn appended_data_reads_back<S: LogStore>(s: &S) {
    let n = 100;
    let range = fill(s, n);
    assert_eq!(
        s.state().unwrap(),
        TreeState {
            size: TreeSize(n),
            clock: 1000 + n
        }
    );
    let leaves = s.read_leaves(0, n).unwrap();
    assert_eq!(leaves.len() as u64, n);
    for (i, l) in leaves.iter().enumerate() {
        assert_eq!(l, &leaf(i as u64));
    }
    assert_eq!(s.read_leaves(37, 5).unwrap()[0], leaf(37));
    assert_eq!(s.read_leaves(37, 1).unwrap(), vec![leaf(37)]);
    assert!(s.read_leaves(98, 3).is_err(), "reading past the end fails");
    assert!(s.read_leaves(n, 1).is_err(), "reading past the end fails");
    // Every size's root is recomputable from stored nodes.
    for size in [1, 2, 7, 8, 63, 64, 99, 100] {
        let size = TreeSize(size);
        let hashes = s.read_hashes(&root_nodes(size)).unwrap();
        let expect: Vec<Hash> = (0..size.0).map(|i| leaf_hash(&leaf(i))).collect();
        assert_eq!(
            root_from_nodes(size, &hashes).unwrap(),
            gatelog_core::merkle::root_of_leaf_hashes(&expect)
        );
    }
    assert_eq!(
        root_from_nodes(
            TreeSize(n),
            &s.read_hashes(&root_nodes(TreeSize(n))).unwrap()
        )
        .unwrap(),
        range.root()
    );
    assert_eq!(
        s.lookup(&IndexKey::LeafHash(leaf_hash(&leaf(42)))).unwrap(),
        Some(LeafIndex(42))
    );
    // Many lookups at once answer like one at a time, absent keys too.
    let keys = [
        IndexKey::LeafHash(leaf_hash(&leaf(7))),
        IndexKey::Envelope(Hash::sha256(b"never logged")),
        IndexKey::PackageHead("r".into(), "p1".into()),
        IndexKey::PackageHead("r".into(), "no such package".into()),
    ];
    assert_eq!(
        s.lookup_many(&keys).unwrap(),
        keys.iter()
            .map(|k| s.lookup(k).unwrap())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        s.lookup_many(&keys).unwrap(),
        [Some(LeafIndex(7)), None, Some(LeafIndex(97)), None]
    );
    // The head pointer is overwritten by later leaves of the package.
    assert_eq!(
        s.lookup(&IndexKey::PackageHead("r".into(), "p0".into()))
            .unwrap(),
        Some(LeafIndex(99))
    );
    let p1 = IndexKey::Package("r".into(), "p1".into());
    let all = s.scan(&p1, None, 1000).unwrap();
    assert_eq!(all, (1..n).step_by(3).map(LeafIndex).collect::<Vec<_>>());
    let page = s.scan(&p1, Some(LeafIndex(10)), 3).unwrap();
    assert_eq!(page, vec![LeafIndex(13), LeafIndex(16), LeafIndex(19)]);
    assert!(
        s.scan(&p1, Some(LeafIndex(u64::MAX)), 3)
            .unwrap()
            .is_empty()
    );
    let v = s
        .scan(
            &IndexKey::Version("r".into(), "p2".into(), "v1".into()),
            None,
            1000,
        )
        .unwrap();
    assert!(v.iter().all(|i| i.0 % 3 == 2 && i.0 % 2 == 1) && !v.is_empty());
}

fn misplaced_append_changes_nothing<S: LogStore>(s: &S) {
    fill(s, 10);
    let before = s.state().unwrap();
    let bad = AppendBatch {
        first: 5,
        leaves: vec![b"x".to_vec()],
        state: TreeState {
            size: TreeSize(6),
            clock: 1,
        },
        ..AppendBatch::default()
    };
    assert!(s.append(&bad).is_err());
    assert_eq!(s.state().unwrap(), before);
    assert_eq!(s.read_leaves(5, 1).unwrap()[0], leaf(5));
}

fn checkpoints_overwrite<S: LogStore>(s: &S) {
    s.put_checkpoint(TreeSize(0), b"first").unwrap();
    s.put_checkpoint(TreeSize(3), b"second").unwrap();
    assert_eq!(
        s.latest_checkpoint().unwrap(),
        Some((TreeSize(3), b"second".to_vec()))
    );
}

fn list_keys_do_not_mix<S: LogStore>(s: &S) {
    let keys = [
        IndexKey::Package("r".into(), "a".into()),
        IndexKey::Package("r".into(), "ab".into()),
        IndexKey::Version("r".into(), "a".into(), "b".into()),
        IndexKey::Version("r".into(), "ab".into(), String::new()),
        IndexKey::Device("r".into(), "m".into(), "d".into()),
        IndexKey::Device("r".into(), "md".into(), String::new()),
    ];
    let mut batch = AppendBatch {
        first: 0,
        state: TreeState {
            size: TreeSize(keys.len() as u64),
            clock: 0,
        },
        ..AppendBatch::default()
    };
    let mut range = CompactRange::new();
    for (i, key) in keys.iter().enumerate() {
        let bytes = leaf(i as u64);
        batch.nodes.extend(range.append(leaf_hash(&bytes)));
        batch.leaves.push(bytes);
        batch.keys.push((key.clone(), LeafIndex(i as u64)));
    }
    s.append(&batch).unwrap();
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            s.scan(key, None, 10).unwrap(),
            vec![LeafIndex(i as u64)],
            "{key:?}"
        );
    }
}
