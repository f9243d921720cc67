//! c2sp.org/tlog-tiles: tile coordinates, paths, which tiles exist at a tree
//! size, hashes stored in tiles, and entry bundles.
//!
//! A Merkle tree tile at level `L`, index `N` and width `W` holds the stored
//! hashes at tree level `8·L` with indices `N·256 .. N·256+W`: the complete
//! subtrees [`NodeId`]`{ level: 8·L, index }`. Any node at levels `8·L` to
//! `8·L+7`, and a full tile's root, is computed from a run of them
//! ([`node_hash_from_tile`]). An entry bundle at index `N` holds the
//! entries whose leaf hashes make up the level 0 tile `N`.

mod bundle;
mod error;
mod hashes;
mod path;

pub use bundle::{
    MAX_ENTRY_BUNDLE_SIZE, MAX_ENTRY_SIZE, encode_entry_bundle, parse_entry_bundle,
    parse_entry_bundle_for_tile,
};
pub use error::TileError;
pub use hashes::{encode_tile, node_hash_from_tile, tile_hash_ids, tile_hashes};
pub use path::{MAX_TILE_PATH_LEN, parse_tile_path};

use crate::hash::HASH_SIZE;
use crate::tree::{LeafIndex, NodeId, TreeSize};

/// Tree levels covered by one tile: a tile is a subtree of height 8.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile, and entries in a full entry bundle.
pub const TILE_WIDTH: u16 = 256;
/// Highest tile level a path may name (c2sp.org/tlog-tiles).
pub const MAX_TILE_LEVEL: u8 = 63;

/// Tile levels that can hold hashes of a `u64`-sized tree: level 8 would
/// start at tree level 64.
const USED_LEVELS: u8 = 8;

/// A Merkle tree tile: `width` hashes at tree level `8·level`, starting at
/// index `index·256`. Width 256 is a full tile, 1..=255 a partial one.
///
/// Fields are private so every `Tile` has `level <= 63` and
/// `1 <= width <= 256`, which is what a path can express.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Tile {
    level: u8,
    index: u64,
    width: u16,
}

/// An entry bundle (c2sp.org/tlog-tiles "log entries"): the `width` entries
/// starting at leaf `index·256`, whose leaf hashes form level 0 tile `index`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct EntryTile {
    index: u64,
    width: u16,
}

/// Either kind of resource under `tile/`, as named by a path.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TilePath {
    /// `tile/<L>/<N>[.p/<W>]`.
    Hashes(Tile),
    /// `tile/entries/<N>[.p/<W>]`.
    Entries(EntryTile),
}

fn check_width(width: u16) -> Result<(), TileError> {
    if (1..=TILE_WIDTH).contains(&width) {
        Ok(())
    } else {
        Err(TileError::InvalidWidth { width })
    }
}

/// Number of stored hashes at tree level `8·level` in a tree of `size`.
fn hash_count(size: u64, level: u8) -> u64 {
    size.checked_shr(u32::from(level) * u32::from(TILE_HEIGHT))
        .unwrap_or(0)
}

/// Width of tile `index` when `count` hashes exist at its level, if any.
fn width_for_count(index: u64, count: u64) -> Option<u16> {
    let full = count >> 8;
    let partial = (count & 0xff) as u16;
    if index < full {
        Some(TILE_WIDTH)
    } else if index == full && partial > 0 {
        Some(partial)
    } else {
        None
    }
}

/// Smallest tree size holding hashes `first .. first+width` at tree level
/// `8·level`, if it fits in a `u64`.
fn end_size(level: u8, index: u64, width: u16) -> Option<u64> {
    let shift = u32::from(level) * u32::from(TILE_HEIGHT);
    let hashes = u128::from(index) * u128::from(TILE_WIDTH) + u128::from(width);
    // hashes·2^shift <= MAX  <=>  hashes <= MAX >> shift.
    let limit = u128::from(u64::MAX).checked_shr(shift).unwrap_or(0);
    (hashes <= limit).then(|| (hashes << shift) as u64)
}

impl Tile {
    /// The tile at `level` and `index` with `width` hashes.
    pub fn new(level: u8, index: u64, width: u16) -> Result<Tile, TileError> {
        if level > MAX_TILE_LEVEL {
            return Err(TileError::LevelOutOfRange {
                level: level.to_string(),
            });
        }
        check_width(width)?;
        Ok(Tile {
            level,
            index,
            width,
        })
    }

    /// The full tile at `level` and `index`.
    pub fn full(level: u8, index: u64) -> Result<Tile, TileError> {
        Tile::new(level, index, TILE_WIDTH)
    }

    /// The tile at `level` and `index` as it is in a tree of `size`: full,
    /// or the right-most partial tile, or `None` if it has no hashes yet.
    pub fn at_size(level: u8, index: u64, size: TreeSize) -> Option<Tile> {
        if level > MAX_TILE_LEVEL {
            return None;
        }
        let width = width_for_count(index, hash_count(size.0, level))?;
        Some(Tile {
            level,
            index,
            width,
        })
    }

    /// The tile level `L`; its hashes are at tree level `8·L`.
    pub fn level(self) -> u8 {
        self.level
    }

    /// The tile index `N`; its first hash has index `N·256` in its level.
    pub fn index(self) -> u64 {
        self.index
    }

    /// Number of hashes, 1..=256.
    pub fn width(self) -> u16 {
        self.width
    }

    /// Whether the tile holds all 256 hashes.
    pub fn is_full(self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The full tile at the same position: what a client may fetch as a
    /// fallback when a partial tile was deleted (c2sp.org/tlog-tiles).
    pub fn to_full(self) -> Tile {
        Tile {
            width: TILE_WIDTH,
            ..self
        }
    }

    /// Length of the tile's data: `width · 32` bytes.
    pub fn data_len(self) -> usize {
        usize::from(self.width) * HASH_SIZE
    }

    /// The smallest tree size that holds all of this tile's hashes, or
    /// `None` if no tree of at most `u64::MAX` leaves does.
    pub fn end_size(self) -> Option<TreeSize> {
        end_size(self.level, self.index, self.width).map(TreeSize)
    }

    /// Whether a tree of `size` holds all of this tile's hashes, so a log
    /// at that size can serve it (possibly as an older partial tile).
    pub fn is_available_at(self, size: TreeSize) -> bool {
        self.end_size().is_some_and(|end| end <= size)
    }

    /// The canonical path, `tile/<L>/<N>[.p/<W>]`, without a leading slash.
    pub fn to_path(self) -> String {
        self.to_string()
    }

    /// Parses a canonical `tile/<L>/<N>[.p/<W>]` path without a leading
    /// slash; see [`parse_tile_path`].
    pub fn parse(path: &str) -> Result<Tile, TileError> {
        match parse_tile_path(path)? {
            TilePath::Hashes(tile) => Ok(tile),
            TilePath::Entries(_) => Err(TileError::NotHashTile),
        }
    }
}

impl EntryTile {
    /// The entry bundle at `index` with `width` entries.
    pub fn new(index: u64, width: u16) -> Result<EntryTile, TileError> {
        check_width(width)?;
        Ok(EntryTile { index, width })
    }

    /// The full entry bundle at `index`.
    pub fn full(index: u64) -> EntryTile {
        EntryTile {
            index,
            width: TILE_WIDTH,
        }
    }

    /// The bundle at `index` as it is in a tree of `size`, or `None` if it
    /// has no entries yet.
    pub fn at_size(index: u64, size: TreeSize) -> Option<EntryTile> {
        let width = width_for_count(index, size.0)?;
        Some(EntryTile { index, width })
    }

    /// The bundle index `N`; its first entry is leaf `N·256`.
    pub fn index(self) -> u64 {
        self.index
    }

    /// Number of entries, 1..=256.
    pub fn width(self) -> u16 {
        self.width
    }

    /// Whether the bundle holds all 256 entries.
    pub fn is_full(self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The full bundle at the same position.
    pub fn to_full(self) -> EntryTile {
        EntryTile {
            width: TILE_WIDTH,
            ..self
        }
    }

    /// The level 0 tile holding the leaf hashes of these entries.
    pub fn hash_tile(self) -> Tile {
        Tile {
            level: 0,
            index: self.index,
            width: self.width,
        }
    }

    /// The smallest tree size that holds all of these entries, or `None` if
    /// no tree of at most `u64::MAX` leaves does.
    pub fn end_size(self) -> Option<TreeSize> {
        self.hash_tile().end_size()
    }

    /// Whether a tree of `size` holds all of these entries.
    pub fn is_available_at(self, size: TreeSize) -> bool {
        self.hash_tile().is_available_at(size)
    }

    /// The leaves whose entries the bundle holds, in order, so storage can
    /// read them and [`encode_entry_bundle`] them.
    pub fn leaves(self) -> Result<Vec<LeafIndex>, TileError> {
        Ok(tile_hash_ids(self.hash_tile())?
            .into_iter()
            .map(|node| LeafIndex(node.index))
            .collect())
    }

    /// The canonical path, `tile/entries/<N>[.p/<W>]`, without a leading
    /// slash.
    pub fn to_path(self) -> String {
        self.to_string()
    }

    /// Parses a canonical `tile/entries/<N>[.p/<W>]` path without a leading
    /// slash; see [`parse_tile_path`].
    pub fn parse(path: &str) -> Result<EntryTile, TileError> {
        match parse_tile_path(path)? {
            TilePath::Entries(tile) => Ok(tile),
            TilePath::Hashes(_) => Err(TileError::NotEntryTile),
        }
    }
}

/// Tiles at `level` from full tile `first_full` on, when `count` hashes
/// exist at that level: full tiles, then the partial one if any.
fn level_tiles(level: u8, first_full: u64, count: u64) -> impl Iterator<Item = Tile> {
    let full = count >> 8;
    let partial = (count & 0xff) as u16;
    (first_full..full)
        .map(move |index| Tile {
            level,
            index,
            width: TILE_WIDTH,
        })
        .chain((partial > 0).then_some(Tile {
            level,
            index: full,
            width: partial,
        }))
}

/// Every tile of a tree of `size`, level by level from 0, each level's
/// full tiles in index order followed by its partial tile, if any.
///
/// Lazy: level 0 of a large tree has `size / 256` tiles.
pub fn tiles_for_size(size: TreeSize) -> impl Iterator<Item = Tile> {
    tiles_between(0, size.0)
}

/// Every entry bundle of a tree of `size`, full ones then the partial one.
pub fn entry_tiles_for_size(size: TreeSize) -> impl Iterator<Item = EntryTile> {
    level_tiles(0, 0, size.0).map(|t| EntryTile {
        index: t.index,
        width: t.width,
    })
}

fn tiles_between(from: u64, to: u64) -> impl Iterator<Item = Tile> {
    (0..USED_LEVELS)
        .map_while(move |level| {
            let (old, new) = (hash_count(from, level), hash_count(to, level));
            // Equal counts here mean equal counts on every level above.
            (old != new).then(|| level_tiles(level, old >> 8, new))
        })
        .flatten()
}

/// The tiles a tree of size `to` has and a tree of size `from` lacks: what
/// a log must write when it grows, or a monitor must fetch to follow it.
/// A tile that was partial at `from` and is wider at `to` counts as new.
pub fn tiles_added(from: TreeSize, to: TreeSize) -> Result<impl Iterator<Item = Tile>, TileError> {
    if to < from {
        return Err(TileError::TreeShrinks {
            from: from.0,
            to: to.0,
        });
    }
    Ok(tiles_between(from.0, to.0))
}

/// The entry bundles a tree of size `to` has and a tree of size `from`
/// lacks.
pub fn entry_tiles_added(
    from: TreeSize,
    to: TreeSize,
) -> Result<impl Iterator<Item = EntryTile>, TileError> {
    if to < from {
        return Err(TileError::TreeShrinks {
            from: from.0,
            to: to.0,
        });
    }
    Ok(tiles_between(from.0, to.0)
        .take_while(|t| t.level == 0)
        .map(|t| EntryTile {
            index: t.index,
            width: t.width,
        }))
}

/// The tile, as it is in a tree of `size`, from which `node` is computed:
/// a node at tree level `8·L + k` (`k < 8`) hashes the `2^k` level-`8·L`
/// hashes starting at `index·2^k`, all in level `L` tile `index·2^k / 256`.
pub fn tile_for_node(node: NodeId, size: TreeSize) -> Result<Tile, TileError> {
    let not_in_tree = || TileError::NodeNotInTree {
        level: node.level,
        index: node.index,
        size: size.0,
    };
    let in_tree =
        node.level < 64 && (u128::from(node.index) + 1) << node.level <= u128::from(size.0);
    if !in_tree {
        return Err(not_in_tree());
    }
    let level = node.level / TILE_HEIGHT;
    // No overflow: the node's leaves are in the tree.
    let first = node.index << (node.level % TILE_HEIGHT);
    // Always `Some` and wide enough: the node's hashes exist at `size`.
    Tile::at_size(level, first >> 8, size).ok_or_else(not_in_tree)
}

/// The entry bundle, as it is in a tree of `size`, that holds `leaf`.
pub fn entry_tile_for_leaf(leaf: LeafIndex, size: TreeSize) -> Result<EntryTile, TileError> {
    if !size.contains(leaf) {
        return Err(TileError::LeafNotInTree {
            index: leaf.0,
            size: size.0,
        });
    }
    EntryTile::at_size(leaf.0 >> 8, size).ok_or(TileError::LeafNotInTree {
        index: leaf.0,
        size: size.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(level: u8, index: u64, width: u16) -> Tile {
        Tile::new(level, index, width).unwrap()
    }

    fn all(size: u64) -> Vec<Tile> {
        tiles_for_size(TreeSize(size)).collect()
    }

    fn full_level0(count: u64) -> impl Iterator<Item = Tile> {
        (0..count).map(|i| t(0, i, 256))
    }

    #[test]
    fn tiles_for_hand_picked_sizes() {
        assert_eq!(all(0), vec![]);
        assert_eq!(all(1), vec![t(0, 0, 1)]);
        assert_eq!(all(255), vec![t(0, 0, 255)]);
        // Spec: "a tree of size 256 will be represented by a full level 0
        // tile and a partial level 1 tile of width 1".
        assert_eq!(all(256), vec![t(0, 0, 256), t(1, 0, 1)]);
        assert_eq!(all(257), vec![t(0, 0, 256), t(0, 1, 1), t(1, 0, 1)]);
        let mut want: Vec<Tile> = full_level0(256).collect();
        want.extend([t(1, 0, 256), t(2, 0, 1)]);
        assert_eq!(all(65536), want);
        let mut want: Vec<Tile> = full_level0(256).collect();
        want.extend([t(0, 256, 1), t(1, 0, 256), t(2, 0, 1)]);
        assert_eq!(all(65537), want);
    }

    #[test]
    fn tiles_for_spec_example_size_70000() {
        // Spec: 273 full level 0 tiles, one partial level 0 tile of width
        // 112, one full level 1 tile, a partial level 1 tile of width 17 and
        // a partial level 2 tile of width 1.
        let mut want: Vec<Tile> = full_level0(273).collect();
        want.extend([t(0, 273, 112), t(1, 0, 256), t(1, 1, 17), t(2, 0, 1)]);
        assert_eq!(all(70000), want);
    }

    #[test]
    fn largest_trees_reach_level_7_and_no_further() {
        // Every level but 7 completes a tile at 255·2^56; level 7 can
        // never be full in a u64 tree.
        let to = 255u64 << 56;
        let got: Vec<Tile> = tiles_added(TreeSize(to - 1), TreeSize(to))
            .unwrap()
            .collect();
        let mut want: Vec<Tile> = (0..7)
            .map(|level| t(level, ((to - 1) >> (8 * level)) >> 8, 256))
            .collect();
        want.push(t(7, 0, 255));
        assert_eq!(got, want);
        let got: Vec<Tile> = tiles_added(TreeSize(u64::MAX - 1), TreeSize(u64::MAX))
            .unwrap()
            .collect();
        assert_eq!(got, vec![t(0, u64::MAX >> 8, 255)]);
        assert_eq!(Tile::at_size(7, 0, TreeSize(u64::MAX)), Some(t(7, 0, 255)));
        assert_eq!(Tile::at_size(8, 0, TreeSize(u64::MAX)), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        #[test]
        fn tiles_added_is_the_set_difference(a in 0..200_000u64, b in 0..200_000u64) {
            let (from, to) = (TreeSize(a.min(b)), TreeSize(a.max(b)));
            let old: std::collections::HashSet<Tile> = tiles_for_size(from).collect();
            let want: Vec<Tile> = tiles_for_size(to).filter(|t| !old.contains(t)).collect();
            let got: Vec<Tile> = tiles_added(from, to).unwrap().collect();
            proptest::prop_assert_eq!(got, want);
            let old: std::collections::HashSet<EntryTile> = entry_tiles_for_size(from).collect();
            let want: Vec<EntryTile> =
                entry_tiles_for_size(to).filter(|t| !old.contains(t)).collect();
            let got: Vec<EntryTile> = entry_tiles_added(from, to).unwrap().collect();
            proptest::prop_assert_eq!(got, want);
        }

        #[test]
        fn tiles_at_size_match_the_listing(size in 0..200_000u64, level in 0..4u8, index in 0..1000u64) {
            let listed = tiles_for_size(TreeSize(size))
                .find(|t| t.level() == level && t.index() == index);
            proptest::prop_assert_eq!(Tile::at_size(level, index, TreeSize(size)), listed);
            if let Some(tile) = listed {
                proptest::prop_assert!(tile.is_available_at(TreeSize(size)));
            }
        }
    }

    #[test]
    fn entry_tiles_follow_level_0() {
        let got: Vec<EntryTile> = entry_tiles_for_size(TreeSize(513)).collect();
        assert_eq!(
            got,
            vec![
                EntryTile::full(0),
                EntryTile::full(1),
                EntryTile::new(2, 1).unwrap()
            ]
        );
        assert_eq!(entry_tiles_for_size(TreeSize(0)).count(), 0);
        assert_eq!(
            EntryTile::at_size(1, TreeSize(300)),
            EntryTile::new(1, 44).ok()
        );
        assert_eq!(EntryTile::at_size(2, TreeSize(300)), None);
        assert_eq!(EntryTile::at_size(1, TreeSize(256)), None);
    }

    #[test]
    fn tiles_added_on_growth() {
        let got: Vec<Tile> = tiles_added(TreeSize(255), TreeSize(257)).unwrap().collect();
        assert_eq!(got, vec![t(0, 0, 256), t(0, 1, 1), t(1, 0, 1)]);
        let got: Vec<Tile> = tiles_added(TreeSize(257), TreeSize(300)).unwrap().collect();
        assert_eq!(got, vec![t(0, 1, 44)]);
        assert_eq!(
            tiles_added(TreeSize(300), TreeSize(300)).unwrap().count(),
            0
        );
        assert_eq!(
            tiles_added(TreeSize(3), TreeSize(2)).err(),
            Some(TileError::TreeShrinks { from: 3, to: 2 })
        );
        let got: Vec<Tile> = tiles_added(TreeSize(u64::MAX - 1), TreeSize(u64::MAX))
            .unwrap()
            .collect();
        assert_eq!(got, vec![t(0, u64::MAX >> 8, 255)]);
        let got: Vec<EntryTile> = entry_tiles_added(TreeSize(200), TreeSize(600))
            .unwrap()
            .collect();
        assert_eq!(
            got,
            vec![
                EntryTile::full(0),
                EntryTile::full(1),
                EntryTile::new(2, 88).unwrap()
            ]
        );
        assert_eq!(
            entry_tiles_added(TreeSize(600), TreeSize(600))
                .unwrap()
                .count(),
            0
        );
        assert!(entry_tiles_added(TreeSize(1), TreeSize(0)).is_err());
    }

    #[test]
    fn tile_for_node_picks_the_tile_at_that_size() {
        let size = TreeSize(70000);
        assert_eq!(tile_for_node(NodeId::new(0, 5), size), Ok(t(0, 0, 256)));
        assert_eq!(
            tile_for_node(NodeId::new(0, 69999), size),
            Ok(t(0, 273, 112))
        );
        assert_eq!(
            tile_for_node(NodeId::new(3, 69984 / 8), size),
            Ok(t(0, 273, 112))
        );
        assert_eq!(tile_for_node(NodeId::new(7, 0), size), Ok(t(0, 0, 256)));
        assert_eq!(tile_for_node(NodeId::new(8, 0), size), Ok(t(1, 0, 256)));
        assert_eq!(tile_for_node(NodeId::new(8, 272), size), Ok(t(1, 1, 17)));
        assert_eq!(tile_for_node(NodeId::new(12, 16), size), Ok(t(1, 1, 17)));
        assert_eq!(tile_for_node(NodeId::new(16, 0), size), Ok(t(2, 0, 1)));
        assert_eq!(
            tile_for_node(NodeId::new(0, 70000), size),
            Err(TileError::NodeNotInTree {
                level: 0,
                index: 70000,
                size: 70000
            })
        );
        assert!(tile_for_node(NodeId::new(17, 0), size).is_err());
        assert!(tile_for_node(NodeId::new(64, 0), TreeSize(u64::MAX)).is_err());
        assert!(tile_for_node(NodeId::new(255, u64::MAX), TreeSize(u64::MAX)).is_err());
        assert_eq!(
            tile_for_node(NodeId::new(63, 0), TreeSize(u64::MAX)),
            Ok(t(7, 0, 255))
        );
    }

    #[test]
    fn entry_tile_for_leaf_and_its_leaves() {
        let size = TreeSize(300);
        let bundle = entry_tile_for_leaf(LeafIndex(299), size).unwrap();
        assert_eq!(bundle, EntryTile::new(1, 44).unwrap());
        let leaves = bundle.leaves().unwrap();
        assert_eq!(leaves.first(), Some(&LeafIndex(256)));
        assert_eq!(leaves.last(), Some(&LeafIndex(299)));
        assert_eq!(
            entry_tile_for_leaf(LeafIndex(300), size),
            Err(TileError::LeafNotInTree {
                index: 300,
                size: 300
            })
        );
    }

    #[test]
    fn constructors_check_ranges_and_availability() {
        assert_eq!(
            Tile::new(64, 0, 1),
            Err(TileError::LevelOutOfRange { level: "64".into() })
        );
        assert_eq!(
            Tile::new(0, 0, 0),
            Err(TileError::InvalidWidth { width: 0 })
        );
        assert_eq!(
            Tile::new(0, 0, 257),
            Err(TileError::InvalidWidth { width: 257 })
        );
        assert_eq!(
            EntryTile::new(0, 0),
            Err(TileError::InvalidWidth { width: 0 })
        );
        assert_eq!(Tile::at_size(64, 0, TreeSize(u64::MAX)), None);
        assert_eq!(t(0, 1, 5).end_size(), Some(TreeSize(261)));
        assert_eq!(t(1, 0, 2).end_size(), Some(TreeSize(512)));
        assert_eq!(t(7, 0, 256).end_size(), None);
        assert_eq!(t(8, 0, 1).end_size(), None);
        assert_eq!(
            t(0, u64::MAX >> 8, 255).end_size(),
            Some(TreeSize(u64::MAX))
        );
        assert!(t(0, 0, 5).is_available_at(TreeSize(1000)));
        assert!(!t(0, 3, 256).is_available_at(TreeSize(1000)));
        assert_eq!(t(0, 3, 5).to_full(), t(0, 3, 256));
        assert_eq!(t(2, 3, 5).data_len(), 160);
    }
}
