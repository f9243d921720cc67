//! Decoding downloaded entries: leaf hash, leaf envelope, event. Runs in
//! parallel over a chunk; hashing must happen for every entry, decoding
//! failures become findings later (the entry is in the signed tree, so the
//! log committed to something that is not a valid gatelog leaf).

use gatelog_core::tile::{EntryTile, parse_entry_bundle_for_tile};
use gatelog_core::{Event, Hash, Keyring, Leaf, VerifierKey, leaf_hash};
use rayon::prelude::*;
use std::collections::HashMap;

use super::FollowError;
use crate::fetch::Held;
use crate::rules::Entry;

/// One downloaded entry: its hash, and the event or why it is not one.
pub struct Decoded {
    /// Leaf index.
    pub index: u64,
    /// RFC 6962 leaf hash of the bytes served.
    pub leaf_hash: Hash,
    /// The decoded entry, or the reason it is invalid.
    pub entry: Result<Entry, String>,
}

/// Splits bundles into the leaves `[from, to)` and decodes them.
/// `bundles[i]` is the bundle of `tiles[i]`.
pub fn decode(
    tiles: &[EntryTile],
    bundles: &[Held],
    from: u64,
    to: u64,
    registries: Option<&Registries>,
) -> Result<Vec<Decoded>, FollowError> {
    let mut leaves: Vec<(u64, &[u8])> = Vec::with_capacity((to - from) as usize);
    for (tile, data) in tiles.iter().zip(bundles) {
        let entries = parse_entry_bundle_for_tile(*tile, &data.bytes)
            .map_err(|e| FollowError::Malformed(format!("{}: {e}", tile.to_path())))?;
        let first = tile.index() * 256;
        for (i, bytes) in entries.into_iter().enumerate() {
            let index = first + i as u64;
            if (from..to).contains(&index) {
                leaves.push((index, bytes));
            }
        }
    }
    if leaves.len() as u64 != to - from {
        return Err(FollowError::Malformed(format!(
            "entry bundles hold {} of the entries {from}..{to}",
            leaves.len()
        )));
    }
    Ok(leaves
        .par_iter()
        .map(|(index, bytes)| {
            let hash = leaf_hash(bytes);
            Decoded {
                index: *index,
                leaf_hash: hash,
                entry: decode_one(*index, hash, bytes, registries),
            }
        })
        .collect())
}

/// Registry keys whose signatures the monitor checks on every envelope.
pub struct Registries {
    ring: Keyring,
    hosts: HashMap<[u8; 32], String>,
}

impl Registries {
    /// From verifier keys named after the registry hosts.
    pub fn new(keys: &[VerifierKey]) -> Registries {
        Registries {
            ring: Keyring::new(keys.iter().map(|k| *k.key())),
            hosts: keys
                .iter()
                .map(|k| (*k.key().as_bytes(), k.name().to_owned()))
                .collect(),
        }
    }
}

fn decode_one(
    index: u64,
    hash: Hash,
    bytes: &[u8],
    registries: Option<&Registries>,
) -> Result<Entry, String> {
    let leaf = Leaf::parse(bytes).map_err(|e| format!("not a gatelog leaf: {e}"))?;
    let signer = match registries {
        Some(r) => {
            let key = leaf
                .envelope()
                .verify(&r.ring)
                .map_err(|e| format!("envelope not signed by a configured registry: {e}"))?;
            r.hosts.get(key.as_bytes()).cloned()
        }
        None => None,
    };
    let event = Event::from_envelope(leaf.envelope()).map_err(|e| format!("invalid event: {e}"))?;
    if let Some(host) = signer
        && host != event.registry.host()
    {
        return Err(format!(
            "the event names registry {} but is signed by {host}'s key",
            event.registry
        ));
    }
    Ok(Entry {
        index,
        leaf_hash: hash,
        logged_at: leaf.logged_at(),
        prev: leaf.prev().map(|p| p.0),
        event,
    })
}
