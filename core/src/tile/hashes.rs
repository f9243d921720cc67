//! The hashes stored in Merkle tree tiles, and the nodes computed from them
//! (c2sp.org/tlog-tiles: "the Merkle Tree levels between those expressed
//! by the tile hashes are reconstructed by hashing the leaves").

use crate::hash::{HASH_SIZE, Hash, node_hash};
use crate::tree::NodeId;

use super::{TILE_HEIGHT, Tile, TileError};

fn check_len(tile: Tile, data: &[u8]) -> Result<(), TileError> {
    if data.len() == tile.data_len() {
        Ok(())
    } else {
        Err(TileError::TileDataLength {
            tile: tile.to_path(),
            expected: tile.data_len(),
            actual: data.len(),
        })
    }
}

/// The `width` nodes whose hashes `tile` holds, in order: tree level
/// `8·L`, indices `N·256 .. N·256+W`. A server reads these from storage
/// and concatenates them ([`encode_tile`]).
///
/// Fails for a tile that no tree of at most `u64::MAX` leaves holds, whose
/// node indices might not even fit in a `u64`.
pub fn tile_hash_ids(tile: Tile) -> Result<Vec<NodeId>, TileError> {
    if tile.end_size().is_none() {
        return Err(TileError::TileBeyondMaxTree {
            tile: tile.to_path(),
        });
    }
    // Both fit: the tile ends inside a u64 tree, so level <= 7 and
    // index·256 + width <= u64::MAX.
    let level = tile.level() * TILE_HEIGHT;
    let first = tile.index() << 8;
    Ok((0..u64::from(tile.width()))
        .map(|i| NodeId::new(level, first + i))
        .collect())
}

/// Concatenates the hashes of [`tile_hash_ids`] into the tile's bytes.
pub fn encode_tile(tile: Tile, hashes: &[Hash]) -> Result<Vec<u8>, TileError> {
    if hashes.len() != usize::from(tile.width()) {
        return Err(TileError::HashCount {
            tile: tile.to_path(),
            expected: usize::from(tile.width()),
            actual: hashes.len(),
        });
    }
    Ok(hashes.iter().flat_map(|h| h.0).collect())
}

/// Splits a tile's bytes into its hashes; the data must be exactly
/// `width · 32` bytes.
pub fn tile_hashes(tile: Tile, data: &[u8]) -> Result<Vec<Hash>, TileError> {
    check_len(tile, data)?;
    Ok(data
        .chunks_exact(HASH_SIZE)
        .filter_map(Hash::from_slice)
        .collect())
}

/// The hash of `node` computed from `tile`'s bytes: a node at tree level
/// `8·L + k` is the RFC 6962 complete subtree over the `2^k` tile hashes
/// starting at `index·2^k`, which must all be in the tile. `k` may be 8
/// for a full tile: its root, which the tile above holds, so a client can
/// check one against the other.
///
/// `data` must be exactly `width · 32` bytes. The result is only as
/// trustworthy as the tile: callers check it against a verified root.
pub fn node_hash_from_tile(tile: Tile, data: &[u8], node: NodeId) -> Result<Hash, TileError> {
    check_len(tile, data)?;
    let not_in_tile = || TileError::NodeNotInTile {
        level: node.level,
        index: node.index,
        tile: tile.to_path(),
    };
    let base = u32::from(tile.level()) * u32::from(TILE_HEIGHT);
    let Some(k) = u32::from(node.level)
        .checked_sub(base)
        .filter(|&k| k <= u32::from(TILE_HEIGHT))
    else {
        return Err(not_in_tile());
    };
    // u128: index·2^k and N·256 may exceed u64 for tiles past any real tree.
    let first = u128::from(node.index) << k;
    let tile_first = u128::from(tile.index()) << 8;
    let count = 1u128 << k;
    if first < tile_first || first + count > tile_first + u128::from(tile.width()) {
        return Err(not_in_tile());
    }
    // offset < 256 and count <= 256 now.
    let (offset, count) = ((first - tile_first) as usize, count as usize);
    let mut level: Vec<Hash> = data[offset * HASH_SIZE..(offset + count) * HASH_SIZE]
        .chunks_exact(HASH_SIZE)
        .filter_map(Hash::from_slice)
        .collect();
    // Hash pairs in place, halving the run until one hash is left.
    let mut len = level.len();
    while len > 1 {
        for i in 0..len / 2 {
            level[i] = node_hash(&level[2 * i], &level[2 * i + 1]);
        }
        len /= 2;
    }
    Ok(level[0])
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::hash::leaf_hash;
    use crate::tile::{tile_for_node, tiles_for_size};
    use crate::tree::TreeSize;

    const LEAVES: u64 = 3000;

    /// RFC 6962 MTH by direct recursion over the leaf hashes.
    fn mth(leaves: &[Hash]) -> Hash {
        if leaves.len() == 1 {
            return leaves[0];
        }
        let split = leaves.len().next_power_of_two() / 2;
        node_hash(&mth(&leaves[..split]), &mth(&leaves[split..]))
    }

    /// Every complete subtree of the first `LEAVES` leaves.
    fn all_nodes(leaves: &[Hash]) -> HashMap<NodeId, Hash> {
        let mut nodes = HashMap::new();
        for level in 0..12u8 {
            let span = 1usize << level;
            for index in 0..leaves.len() / span {
                let hash = mth(&leaves[index * span..(index + 1) * span]);
                nodes.insert(NodeId::new(level, index as u64), hash);
            }
        }
        nodes
    }

    fn leaves() -> Vec<Hash> {
        (0..LEAVES).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    fn tile_data(tile: Tile, nodes: &HashMap<NodeId, Hash>) -> Vec<u8> {
        let hashes: Vec<Hash> = tile_hash_ids(tile)
            .unwrap()
            .iter()
            .map(|id| nodes[id])
            .collect();
        encode_tile(tile, &hashes).unwrap()
    }

    #[test]
    fn every_node_below_level_16_is_computed_from_its_tile() {
        let leaves = leaves();
        let nodes = all_nodes(&leaves);
        for size in [1, 2, 7, 255, 256, 257, 511, 512, 1000, 2048, 2999, 3000] {
            let size = TreeSize(size);
            let tiles: HashMap<Tile, Vec<u8>> = tiles_for_size(size)
                .map(|tile| (tile, tile_data(tile, &nodes)))
                .collect();
            let mut checked = 0;
            for (&node, &want) in nodes.iter().filter(|(node, _)| node.end() <= size.0) {
                let tile = tile_for_node(node, size).unwrap();
                let data = &tiles[&tile];
                assert_eq!(
                    node_hash_from_tile(tile, data, node),
                    Ok(want),
                    "{node:?} at {size}"
                );
                checked += 1;
            }
            assert_eq!(checked, nodes.keys().filter(|n| n.end() <= size.0).count());
        }
    }

    #[test]
    fn every_node_inside_a_tile_is_computed_and_others_rejected() {
        let leaves = leaves();
        let nodes = all_nodes(&leaves);
        for tile in tiles_for_size(TreeSize(LEAVES)) {
            let data = tile_data(tile, &nodes);
            for (&node, &want) in &nodes {
                let base = tile.level() * TILE_HEIGHT;
                let inside = (base..=base + TILE_HEIGHT).contains(&node.level)
                    && node.index << (node.level - base) >= tile.index() * 256
                    && (node.index + 1) << (node.level - base)
                        <= tile.index() * 256 + u64::from(tile.width());
                let got = node_hash_from_tile(tile, &data, node);
                if inside {
                    assert_eq!(got, Ok(want), "{node:?} in {tile}");
                } else {
                    assert!(
                        matches!(got, Err(TileError::NodeNotInTile { .. })),
                        "{node:?} {tile}"
                    );
                }
            }
        }
    }

    #[test]
    fn upper_tile_hashes_are_roots_of_full_tiles_below() {
        let leaves = leaves();
        let nodes = all_nodes(&leaves);
        let upper = Tile::new(1, 0, 11).unwrap();
        let upper_hashes = tile_hashes(upper, &tile_data(upper, &nodes)).unwrap();
        for (i, hash) in upper_hashes.iter().enumerate() {
            let below = Tile::full(0, i as u64).unwrap();
            let data = tile_data(below, &nodes);
            let root = node_hash_from_tile(below, &data, NodeId::new(8, i as u64)).unwrap();
            assert_eq!(root, *hash);
            assert_eq!(root, mth(&leaves[i * 256..(i + 1) * 256]));
        }
    }

    #[test]
    fn tile_data_length_is_checked() {
        let tile = Tile::new(0, 0, 5).unwrap();
        let node = NodeId::new(0, 0);
        for len in [0, 31, 128, 161, 8192] {
            assert_eq!(
                node_hash_from_tile(tile, &vec![0; len], node),
                Err(TileError::TileDataLength {
                    tile: "tile/0/000.p/5".into(),
                    expected: 160,
                    actual: len
                })
            );
            assert!(tile_hashes(tile, &vec![0; len]).is_err());
        }
        let err = encode_tile(tile, &[Hash::default(); 4]).unwrap_err();
        assert_eq!(err.to_string(), "tile tile/0/000.p/5 holds 5 hashes, got 4");
    }

    #[test]
    fn huge_coordinates_do_not_overflow() {
        let tile = Tile::new(63, u64::MAX, 256).unwrap();
        let data = vec![7u8; tile.data_len()];
        assert!(node_hash_from_tile(tile, &data, NodeId::new(255, u64::MAX)).is_err());
        assert!(matches!(
            tile_hash_ids(tile),
            Err(TileError::TileBeyondMaxTree { .. })
        ));
        let tile = Tile::new(7, 0, 255).unwrap();
        let ids = tile_hash_ids(tile).unwrap();
        assert_eq!(ids.first(), Some(&NodeId::new(56, 0)));
        assert_eq!(ids.last(), Some(&NodeId::new(56, 254)));
        let tile = Tile::new(0, u64::MAX >> 8, 255).unwrap();
        assert_eq!(
            tile_hash_ids(tile).unwrap().last(),
            Some(&NodeId::new(0, u64::MAX - 1))
        );
        let data = vec![1u8; tile.data_len()];
        let node = NodeId::new(7, u64::MAX >> 7);
        assert!(node_hash_from_tile(tile, &data, node).is_err());
        let node = NodeId::new(6, (u64::MAX >> 6) - 3);
        assert!(node_hash_from_tile(tile, &data, node).is_ok());
    }
}
