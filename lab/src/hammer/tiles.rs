//! Tile readers (`--tile-readers`): build the inclusion proof of a random
//! entry from the log's c2sp.org/tlog-tiles hash tiles, hash the entry's
//! leaf from its entry bundle, and verify both against the verified tree
//! head, as tlog-tiles clients do. Tiles are fetched once and kept, so after
//! warming up this measures proof building and verification on this
//! machine rather than the log; the report keeps it apart from the log's
//! proofs.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatelog_core::merkle::{inclusion_proof, inclusion_proof_nodes, verify_inclusion};
use gatelog_core::tile::{
    entry_tile_for_leaf, node_hash_from_tile, parse_entry_bundle_for_tile, tile_for_node,
};
use gatelog_core::{LeafIndex, TreeHead, leaf_hash};

use super::readers::XorShift;
use super::{Shared, count_error};
use gatelog_client::logclient::ClientError;

/// Bytes of tiles kept before the cache starts over (partial tiles at the
/// tree's right edge are replaced by wider ones as it grows).
const CACHE_BYTES: usize = 256 << 20;

/// Tiles and entry bundles fetched so far, by path.
#[derive(Default)]
pub(super) struct TileCache {
    tiles: Mutex<Kept>,
}

/// The cached tiles and their total size in bytes.
#[derive(Default)]
struct Kept {
    by_path: HashMap<String, Arc<Vec<u8>>>,
    bytes: usize,
}

impl TileCache {
    async fn get(&self, shared: &Shared, path: String) -> Result<Arc<Vec<u8>>, ClientError> {
        if let Some(data) = self.lock().by_path.get(&path) {
            return Ok(data.clone());
        }
        let data = Arc::new(shared.client.tile(&path).await?);
        shared.tile_fetches.fetch_add(1, Ordering::Relaxed);
        let mut cache = self.lock();
        if cache.bytes + data.len() > CACHE_BYTES {
            *cache = Kept::default();
        }
        if cache.by_path.insert(path, data.clone()).is_none() {
            cache.bytes += data.len();
        }
        Ok(data)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.tiles.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Proves entry `index` of the tree `head` from tiles. A tile that does not
/// parse or a proof that fails is the log's fault: a verification error.
async fn prove_from_tiles(
    shared: &Shared,
    cache: &TileCache,
    index: LeafIndex,
    head: &TreeHead,
) -> Result<(), ClientError> {
    let bad = |e: String| ClientError::Verification(format!("entry {index} from tiles: {e}"));
    let nodes = inclusion_proof_nodes(index, head.size).map_err(|e| bad(e.to_string()))?;
    let mut hashes = Vec::with_capacity(nodes.len());
    for node in nodes {
        let tile = tile_for_node(node, head.size).map_err(|e| bad(e.to_string()))?;
        let data = cache.get(shared, tile.to_path()).await?;
        hashes.push(node_hash_from_tile(tile, &data, node).map_err(|e| bad(e.to_string()))?);
    }
    let bundle = entry_tile_for_leaf(index, head.size).map_err(|e| bad(e.to_string()))?;
    let data = cache.get(shared, bundle.to_path()).await?;
    let leaves = parse_entry_bundle_for_tile(bundle, &data).map_err(|e| bad(e.to_string()))?;
    let leaf = leaves
        .get((index.0 % 256) as usize)
        .ok_or_else(|| bad("missing from its entry bundle".into()))?;
    let proof = inclusion_proof(index, head.size, &hashes).map_err(|e| bad(e.to_string()))?;
    verify_inclusion(&leaf_hash(leaf), &proof, head).map_err(|e| bad(e.to_string()))
}

/// A tile reader: proves random entries of the latest verified tree from
/// tiles, again and again.
pub(super) async fn tile_reader(shared: Arc<Shared>, cache: Arc<TileCache>, seed: u64) {
    let mut rng = XorShift::new(seed);
    while !shared.stop.load(Ordering::Relaxed) {
        let head = shared.head();
        if head.size.0 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let index = LeafIndex(rng.below(head.size.0));
        let asked = Instant::now();
        match prove_from_tiles(&shared, &cache, index, &head).await {
            Ok(()) => {
                shared.tile_proofs.fetch_add(1, Ordering::Relaxed);
                shared.tile_latency.record(asked.elapsed());
            }
            Err(e) => {
                count_error(&shared, &e);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        // Proofs from cached tiles never wait on I/O: let other tasks run.
        tokio::task::yield_now().await;
    }
}
