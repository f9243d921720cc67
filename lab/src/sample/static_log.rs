//! An in-memory log with every file a c2sp.org/tlog-tiles log serves: the
//! signed checkpoint, hash tiles and entry bundles. It builds leaves exactly
//! as the log server does ([`Leaf::new`], `prev` chaining each package's
//! events, `logged_at` never decreasing), so golden tests of the client and
//! the monitor can read it as they would read a real log. Tests that need a
//! misbehaving log append raw leaf bytes.

use std::collections::{BTreeMap, HashMap};

use gatelog_core::checkpoint::{Checkpoint, Origin};
use gatelog_core::compact::CompactRange;
use gatelog_core::dsse::Envelope;
use gatelog_core::event::Event;
use gatelog_core::hash::{Hash, leaf_hash};
use gatelog_core::keys::{SignatureType, SignerKey, VerifierKey};
use gatelog_core::leaf::Leaf;
use gatelog_core::tile::{
    encode_entry_bundle, encode_tile, entry_tiles_for_size, tile_hash_ids, tiles_for_size,
};
use gatelog_core::tree::{LeafIndex, TreeHead, TreeSize};

/// Path of the signed checkpoint among [`StaticLog::files`].
pub const CHECKPOINT_PATH: &str = "checkpoint";

/// A log held in memory, signed by a key derived from a seed.
pub struct StaticLog {
    origin: Origin,
    key: SignerKey,
    leaves: Vec<Vec<u8>>,
    /// Complete subtree hashes by tree level, each level in index order.
    levels: Vec<Vec<Hash>>,
    range: CompactRange,
    /// Each package's latest entry: the next event's `prev`.
    heads: HashMap<String, LeafIndex>,
    /// The highest `logged_at` so far.
    clock: u64,
}

impl StaticLog {
    /// An empty log named `origin` (also its key's name), its Ed25519 key
    /// derived from `log_key_seed`.
    ///
    /// # Panics
    ///
    /// If `origin` is not a valid checkpoint origin and key name.
    pub fn new(origin: &str, log_key_seed: u8) -> StaticLog {
        let key = SignerKey::from_seed(origin, SignatureType::Ed25519, &[log_key_seed; 32])
            .expect("static log origin is a valid key name");
        StaticLog {
            origin: Origin::new(origin).expect("static log origin is valid"),
            key,
            leaves: Vec::new(),
            levels: Vec::new(),
            range: CompactRange::new(),
            heads: HashMap::new(),
            clock: 0,
        }
    }

    /// The key that verifies the log's checkpoints.
    pub fn verifier_key(&self) -> VerifierKey {
        self.key.verifier()
    }

    /// The log's origin.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Logs `envelope` as the server would: the leaf gets `logged_at_ms`
    /// (raised to the latest `logged_at` so far, as the log clock never goes
    /// back) and, as `prev`, the previous entry of the same package. No
    /// signature or reference is checked. Returns the entry's index and leaf
    /// hash.
    ///
    /// # Panics
    ///
    /// If the envelope does not hold a valid event, or is too large for a
    /// leaf (impossible for envelopes read with [`Envelope::from_json`]).
    pub fn append(&mut self, envelope: &Envelope, logged_at_ms: u64) -> (LeafIndex, Hash) {
        let event = Event::from_envelope(envelope).expect("static log envelope holds an event");
        let package = event.package.as_str();
        let prev = self.heads.get(package).copied();
        let logged_at = logged_at_ms.max(self.clock);
        let leaf = Leaf::new(logged_at, prev, envelope.clone()).expect("envelope fits in a leaf");
        self.append_raw_leaf(leaf.into_bytes())
    }

    /// Logs arbitrary leaf bytes, e.g. a leaf with a wrong `prev` or a
    /// `logged_at` that goes back. If the bytes parse as a leaf holding an
    /// event, its package's chain and the log clock move on as for
    /// [`StaticLog::append`]; otherwise nothing but the tree changes.
    pub fn append_raw_leaf(&mut self, leaf_bytes: Vec<u8>) -> (LeafIndex, Hash) {
        let index = LeafIndex(self.range.size().0);
        if let Ok(leaf) = Leaf::parse(&leaf_bytes) {
            self.clock = self.clock.max(leaf.logged_at());
            if let Ok(event) = Event::from_envelope(leaf.envelope()) {
                self.heads.insert(event.package.as_str().to_owned(), index);
            }
        }
        let hash = leaf_hash(&leaf_bytes);
        for (node, node_hash) in self.range.append(hash) {
            let level = usize::from(node.level);
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            // Appends complete subtrees left to right, so each lands at its index.
            debug_assert_eq!(self.levels[level].len() as u64, node.index);
            self.levels[level].push(node_hash);
        }
        self.leaves.push(leaf_bytes);
        (index, hash)
    }

    /// Number of entries.
    pub fn size(&self) -> TreeSize {
        self.range.size()
    }

    /// Size and root hash.
    pub fn head(&self) -> TreeHead {
        self.range.head()
    }

    /// Every leaf, byte for byte, in log order.
    pub fn leaves(&self) -> &[Vec<u8>] {
        &self.leaves
    }

    /// The signed checkpoint (c2sp.org/tlog-checkpoint) at the current size.
    pub fn checkpoint(&self) -> Vec<u8> {
        Checkpoint::new(self.origin.clone(), self.head())
            .sign(&self.key)
            .expect("checkpoint text is a valid note")
            .to_bytes()
    }

    /// Every file of the log at its current size, by path as
    /// c2sp.org/tlog-tiles serves them (without a leading slash):
    /// [`CHECKPOINT_PATH`], each hash tile `tile/<L>/<N>[.p/<W>]` of every
    /// level and each entry bundle `tile/entries/<N>[.p/<W>]`. Partial
    /// tiles appear only at the right edge, in their current width.
    ///
    /// # Panics
    ///
    /// If a raw leaf is longer than an entry bundle allows (65,535 bytes).
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        let mut files = BTreeMap::new();
        files.insert(CHECKPOINT_PATH.to_owned(), self.checkpoint());
        let size = self.size();
        for tile in tiles_for_size(size) {
            let hashes: Vec<Hash> = tile_hash_ids(tile)
                .expect("tiles of a u64 tree are addressable")
                .into_iter()
                .map(|node| self.levels[usize::from(node.level)][node.index as usize])
                .collect();
            let data = encode_tile(tile, &hashes).expect("one hash per tile slot");
            files.insert(tile.to_path(), data);
        }
        for bundle in entry_tiles_for_size(size) {
            let start = (bundle.index() * 256) as usize;
            let entries = &self.leaves[start..start + usize::from(bundle.width())];
            let data = encode_entry_bundle(entries.iter().map(Vec::as_slice))
                .expect("leaves fit in entry bundles");
            files.insert(bundle.to_path(), data);
        }
        files
    }
}

#[cfg(test)]
pub(super) mod tests;
