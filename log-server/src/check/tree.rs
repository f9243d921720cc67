//! Re-deriving the stored tree: append each entry's leaf hash to a compact
//! range, which yields every complete subtree hash the log must have
//! stored, and compare each with the stored one. Memory stays at one
//! compact range (a hash per tree level) plus one chunk.

use gatelog_core::merkle::root_nodes;
use gatelog_core::{CompactRange, Hash, NodeId, TreeSize, node_hash};

use super::{Damage, Location};
use crate::store::{LogStore, StoreError};

/// The re-derived tree so far.
pub struct TreeCheck {
    range: CompactRange,
    nodes: u64,
}

impl TreeCheck {
    /// Starts after the first `size` entries, from their stored compact
    /// range (the empty range for 0).
    pub fn at<S: LogStore + ?Sized>(store: &S, size: TreeSize) -> Result<TreeCheck, Damage> {
        let hashes = store.read_hashes(&root_nodes(size)).map_err(|e| {
            Damage::new(
                Location::State,
                format!("the stored tree of size {size} cannot be read: {e}"),
            )
        })?;
        let range = CompactRange::from_nodes(size, hashes)
            .map_err(|e| Damage::new(Location::State, e.to_string()))?;
        Ok(TreeCheck { range, nodes: 0 })
    }

    /// Entries appended so far.
    pub fn size(&self) -> TreeSize {
        self.range.size()
    }

    /// The root of the re-derived tree.
    pub fn root(&self) -> Hash {
        self.range.root()
    }

    /// Stored hashes compared so far.
    pub fn nodes_checked(&self) -> u64 {
        self.nodes
    }

    /// Appends the leaf hashes of the next entries and compares every
    /// subtree hash they complete with the stored one, in one read.
    pub fn append<S: LogStore + ?Sized>(
        &mut self,
        store: &S,
        leaf_hashes: &[Hash],
    ) -> Result<(), Damage> {
        let mut derived = Vec::with_capacity(leaf_hashes.len() * 2);
        for hash in leaf_hashes {
            derived.extend(self.range.append(*hash));
        }
        let ids: Vec<NodeId> = derived.iter().map(|(id, _)| *id).collect();
        let stored = read_hashes(store, &ids)?;
        // In creation order a leaf comes before the subtrees above it, so
        // the first difference is the lowest damaged node.
        for ((id, derived), stored) in derived.iter().zip(stored) {
            if *derived != stored {
                return Err(differs(store, *id, *derived, stored));
            }
        }
        self.nodes += ids.len() as u64;
        Ok(())
    }
}

/// Reads hashes; a missing one is named.
fn read_hashes<S: LogStore + ?Sized>(store: &S, ids: &[NodeId]) -> Result<Vec<Hash>, Damage> {
    store.read_hashes(ids).map_err(|e| match e {
        StoreError::Missing(_) => {
            // Find which one, for the message.
            let missing = ids
                .iter()
                .find(|id| store.read_hashes(&[**id]).is_err())
                .copied();
            match missing {
                Some(id) => Damage::new(Location::Node(id), "the stored hash is missing"),
                None => Damage::new(Location::State, e.to_string()),
            }
        }
        other => Damage::new(
            Location::State,
            format!("stored hashes cannot be read: {other}"),
        ),
    })
}

/// Names what differs. Above the leaves, every child was already found
/// equal to its re-derived hash, so the stored node itself is damaged. At
/// a leaf, the entry bytes or the stored leaf hash may be the damaged
/// one: the stored parent tells which, if it exists yet.
fn differs<S: LogStore + ?Sized>(store: &S, id: NodeId, derived: Hash, stored: Hash) -> Damage {
    if id.level > 0 {
        return Damage::new(
            Location::Node(id),
            format!("stored hash {stored}, re-derived from the entries {derived}"),
        );
    }
    let entry = Location::Entry(id.index);
    let sibling = NodeId::new(0, id.index ^ 1);
    let parent = NodeId::new(1, id.index >> 1);
    let verdict = match store.read_hashes(&[sibling, parent]) {
        Ok(h) => {
            let (left, right) = if id.index & 1 == 0 {
                (derived, h[0])
            } else {
                (h[0], derived)
            };
            if node_hash(&left, &right) == h[1] {
                "the stored tree above agrees with the entry: the stored leaf hash is damaged"
            } else {
                "the stored tree above agrees with the stored leaf hash: the entry's bytes are damaged"
            }
        }
        // The newest odd entry has no complete parent to ask.
        Err(_) => "either the entry's bytes or its stored leaf hash is damaged",
    };
    Damage::new(
        entry,
        format!("the entry hashes to {derived} but its stored leaf hash is {stored}; {verdict}"),
    )
}
