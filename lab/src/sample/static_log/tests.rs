//! Tests of the static log: leaves built as the server builds them, and
//! files that a c2sp.org/tlog-tiles reader accepts. [`check_files`] is
//! shared with the story's tests.

use std::collections::BTreeMap;

use super::*;
use crate::sample::SampleRegistry;
use gatelog_core::checkpoint;
use gatelog_core::merkle::root_of_leaf_hashes;
use gatelog_core::tile::{
    EntryTile, TILE_HEIGHT, Tile, TilePath, node_hash_from_tile, parse_entry_bundle_for_tile,
    parse_tile_path, tile_hashes,
};
use gatelog_core::tree::NodeId;

/// Checks every file of `log` against its leaves: the checkpoint verifies
/// and holds the root recomputed from the leaves; every hash of every tile,
/// and every node [`node_hash_from_tile`] derives from it, is the root of
/// its leaves; entry bundles give the leaves back; tiles are exactly those
/// of the tree's size, partial ones only at each level's right edge.
pub(crate) fn check_files(log: &StaticLog) {
    let files = log.files();
    let leaves = log.leaves();
    let size = log.size();
    let hashes: Vec<Hash> = leaves.iter().map(|l| leaf_hash(l)).collect();
    let root_of = |node: NodeId| {
        root_of_leaf_hashes(&hashes[node.first_leaf() as usize..node.end() as usize])
    };

    let opened = checkpoint::open(&files[CHECKPOINT_PATH], &log.verifier_key()).unwrap();
    assert_eq!(opened.checkpoint.origin, *log.origin());
    assert_eq!(opened.head().size, size);
    assert_eq!(opened.head().root, root_of_leaf_hashes(&hashes));

    let mut tiles: BTreeMap<u8, Vec<Tile>> = BTreeMap::new();
    let mut bundles: Vec<EntryTile> = Vec::new();
    for (path, data) in files.iter().filter(|(p, _)| *p != CHECKPOINT_PATH) {
        match parse_tile_path(path).unwrap() {
            TilePath::Hashes(tile) => {
                let level = tile.level() * TILE_HEIGHT;
                let first = tile.index() * 256;
                let stored = tile_hashes(tile, data).unwrap();
                for (k, hash) in stored.iter().enumerate() {
                    assert_eq!(
                        *hash,
                        root_of(NodeId::new(level, first + k as u64)),
                        "{path}"
                    );
                }
                for up in 1..=TILE_HEIGHT {
                    let span = 1u64 << up;
                    for i in 0..u64::from(tile.width()) / span {
                        let node = NodeId::new(level + up, (first >> up) + i);
                        let got = node_hash_from_tile(tile, data, node).unwrap();
                        assert_eq!(got, root_of(node), "{path} {node:?}");
                    }
                }
                tiles.entry(tile.level()).or_default().push(tile);
            }
            TilePath::Entries(bundle) => {
                let entries = parse_entry_bundle_for_tile(bundle, data).unwrap();
                let start = (bundle.index() * 256) as usize;
                for (k, entry) in entries.iter().enumerate() {
                    assert_eq!(*entry, leaves[start + k].as_slice(), "{path}");
                }
                bundles.push(bundle);
            }
        }
    }
    // Level by level: full tiles 0.., then one partial of the remainder.
    let mut level = 0u8;
    loop {
        let count = size.0 >> (u32::from(level) * 8);
        if count == 0 {
            break;
        }
        let mut want: Vec<Tile> = (0..count / 256)
            .map(|i| Tile::full(level, i).unwrap())
            .collect();
        if !count.is_multiple_of(256) {
            want.push(Tile::new(level, count / 256, (count % 256) as u16).unwrap());
        }
        let mut got = tiles.remove(&level).unwrap_or_default();
        got.sort();
        assert_eq!(got, want, "level {level} at size {size}");
        level += 1;
    }
    assert!(tiles.is_empty(), "tiles above the tree: {tiles:?}");
    bundles.sort();
    let want: Vec<EntryTile> = tiles_for_size(size)
        .filter(|t| t.level() == 0)
        .map(|t| EntryTile::new(t.index(), t.width()).unwrap())
        .collect();
    assert_eq!(bundles, want);
}

fn raw_log(size: u64) -> StaticLog {
    let mut log = StaticLog::new("test.log.example/static", 3);
    for i in 0..size {
        let (index, hash) = log.append_raw_leaf(format!("leaf {i}").into_bytes());
        assert_eq!(
            (index, hash),
            (LeafIndex(i), leaf_hash(format!("leaf {i}").as_bytes()))
        );
    }
    log
}

#[test]
fn files_match_the_leaves_at_every_interesting_size() {
    for size in [0, 1, 2, 255, 256, 257, 511, 512, 513, 1000] {
        check_files(&raw_log(size));
    }
}

#[test]
fn files_of_a_tree_with_three_tile_levels() {
    // 70,000 is c2sp.org/tlog-tiles' example: full and partial tiles on
    // levels 0 and 1, a partial tile on level 2.
    let log = raw_log(70_000);
    check_files(&log);
    let files = log.files();
    for path in [
        "tile/0/272",
        "tile/0/273.p/112",
        "tile/1/000",
        "tile/1/001.p/17",
        "tile/2/000.p/1",
        "tile/entries/273.p/112",
    ] {
        assert!(files.contains_key(path), "{path}");
    }
    assert_eq!(files.len(), 1 + (274 + 2 + 1) + 274);
}

fn leaf(log: &StaticLog, i: usize) -> Leaf {
    Leaf::parse(&log.leaves()[i]).unwrap()
}

#[test]
fn append_builds_leaves_as_the_server_does() {
    let reg = SampleRegistry::new("registry.example", 1);
    let mut log = StaticLog::new("test.log.example/static", 3);
    let a = |v: &str, t| reg.publish_direct("a", v, b"a", t);
    let b = |v: &str, t| reg.publish_direct("b", v, b"b", t);
    let (i0, h0) = log.append(&a("1.0.0", 100), 5_000);
    let (i1, _) = log.append(&b("1.0.0", 100), 4_000);
    let (i2, _) = log.append(&a("1.0.1", 100), 6_000);
    assert_eq!((i0, i1, i2), (LeafIndex(0), LeafIndex(1), LeafIndex(2)));
    assert_eq!(leaf(&log, 0).hash(), h0);
    assert_eq!(
        (leaf(&log, 0).prev(), leaf(&log, 0).logged_at()),
        (None, 5_000)
    );
    // The log clock never goes back.
    assert_eq!(
        (leaf(&log, 1).prev(), leaf(&log, 1).logged_at()),
        (None, 5_000)
    );
    assert_eq!(
        (leaf(&log, 2).prev(), leaf(&log, 2).logged_at()),
        (Some(i0), 6_000)
    );
    assert_eq!(
        leaf(&log, 2).as_bytes(),
        Leaf::new(6_000, Some(i0), a("1.0.1", 100))
            .unwrap()
            .as_bytes()
    );

    // A misbehaving log: a raw leaf with a wrong `prev` and an old clock.
    let bad = Leaf::new(1_000, Some(LeafIndex(1)), a("1.0.2", 100)).unwrap();
    let (i3, h3) = log.append_raw_leaf(bad.to_bytes());
    assert_eq!(h3, bad.hash());
    let (_, _) = log.append_raw_leaf(b"not a leaf".to_vec());
    log.append(&a("1.0.3", 100), 0);
    assert_eq!(
        (leaf(&log, 5).prev(), leaf(&log, 5).logged_at()),
        (Some(i3), 6_000)
    );
    assert_eq!(log.size(), TreeSize(6));
    check_files(&log);
}

#[test]
fn checkpoints_are_deterministic_and_signed_by_the_seeded_key() {
    let one = raw_log(300);
    let two = raw_log(300);
    assert_eq!(one.files(), two.files());
    let other = StaticLog::new("test.log.example/static", 4);
    assert!(checkpoint::open(&one.checkpoint(), &other.verifier_key()).is_err());
    assert_eq!(one.verifier_key().name(), "test.log.example/static");
    assert_eq!(
        one.head().root,
        root_of_leaf_hashes(
            &one.leaves()
                .iter()
                .map(|l| leaf_hash(l))
                .collect::<Vec<_>>()
        )
    );
}
