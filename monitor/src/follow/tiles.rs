//! Tree hashes read from a log's hash tiles: consistency proofs between any
//! two sizes and the compact range at any size, computed by the monitor
//! itself instead of asking the log for them.

use gatelog_core::merkle::{consistency_proof, consistency_proof_nodes, root_nodes};
use gatelog_core::tile::{node_hash_from_tile, tile_for_node};
use gatelog_core::{CompactRange, ConsistencyProof, Hash, NodeId, TreeSize};

use super::FollowError;
use crate::fetch::LogReader;

/// The hash of `node` in the tree of `size`, from the tile that holds it.
pub async fn node_hash(
    reader: &LogReader,
    node: NodeId,
    size: TreeSize,
) -> Result<Hash, FollowError> {
    let tile = tile_for_node(node, size).map_err(|e| FollowError::Malformed(e.to_string()))?;
    let data = reader.tile(tile).await?;
    node_hash_from_tile(tile, &data, node)
        .map_err(|e| FollowError::Malformed(format!("{}: {e}", tile.to_path())))
}

/// The consistency proof from `old` to `new`, read from the tiles of the
/// tree of size `new`.
pub async fn consistency(
    reader: &LogReader,
    old: TreeSize,
    new: TreeSize,
) -> Result<ConsistencyProof, FollowError> {
    let nodes = consistency_proof_nodes(old, new)
        .map_err(|e| FollowError::Malformed(format!("consistency {old} -> {new}: {e}")))?;
    let mut stored = Vec::with_capacity(nodes.len());
    for node in nodes {
        stored.push(node_hash(reader, node, new).await?);
    }
    // Proof hashes over the tree's ragged right edge combine several
    // stored subtrees; the core builder assembles them.
    consistency_proof(old, new, &stored)
        .map_err(|e| FollowError::Malformed(format!("consistency {old} -> {new}: {e}")))
}

/// The compact range of the first `at` leaves, read from the tiles of the
/// tree of size `size` (`at <= size`). The caller verifies it.
pub async fn range_at(
    reader: &LogReader,
    at: TreeSize,
    size: TreeSize,
) -> Result<CompactRange, FollowError> {
    let mut hashes = Vec::new();
    for node in root_nodes(at) {
        hashes.push(node_hash(reader, node, size).await?);
    }
    CompactRange::from_nodes(at, hashes).map_err(|e| FollowError::Malformed(e.to_string()))
}
