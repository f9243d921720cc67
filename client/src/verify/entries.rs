//! The checks of every received entry, each distinct entry once, on all
//! cores: the leaf, the event's registry, the inclusion proof and the
//! registry's signature.

use std::collections::HashMap;
use std::sync::Arc;

use gatelog_core::dsse::Keyring;
use gatelog_core::merkle::verify_inclusion;
use gatelog_core::policy::LoggedEvent;
use gatelog_core::{
    Event, InclusionProof, Leaf, LeafIndex, SignedCheckpoint, VerifierKey, leaf_hash,
};

use super::finding;
use super::report::Finding;
use crate::logclient::{FetchedRelease, ReceivedEntry};

/// An entry after its checks.
#[derive(Clone, Debug)]
pub(super) struct Checked {
    /// The registry host its event names (normalised), when the leaf and
    /// the event parse: entries of another registry than the release's are
    /// ignored whatever else is wrong with them.
    pub registry: Option<String>,
    /// The leaf's `prev` (the package's previous entry), when it parses.
    pub prev: Option<LeafIndex>,
    /// Its event, or the finding against it.
    pub result: Result<LoggedEvent, Finding>,
}

/// Received entries by their index and the checkpoint they came with;
/// copies that differ in any byte of leaf or proof are kept (and checked)
/// separately.
#[derive(Default)]
pub(super) struct Distinct<'a, T> {
    by_place: HashMap<(u64, usize), Vec<(&'a ReceivedEntry, T)>>,
}

fn place(e: &ReceivedEntry) -> (u64, usize) {
    (e.index.0, Arc::as_ptr(&e.checkpoint) as usize)
}

fn same(a: &ReceivedEntry, b: &ReceivedEntry) -> bool {
    a.leaf == b.leaf && a.path == b.path
}

impl<T> Distinct<'_, T> {
    /// What was stored for an entry with the same bytes as `e`.
    pub(super) fn get(&self, e: &ReceivedEntry) -> Option<&T> {
        self.by_place
            .get(&place(e))?
            .iter()
            .find(|(seen, _)| same(seen, e))
            .map(|(_, value)| value)
    }
}

/// Runs `work` on every item on rayon's pool (one thread per core);
/// results in the order of `items`.
pub(super) fn on_all_cores<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use rayon::prelude::*;
    items.par_iter().map(&work).collect()
}

/// Checks one received entry: its leaf and event, its inclusion in its
/// (already verified) checkpoint, and the registry's signature.
fn check_entry(
    registry_keys: &[VerifierKey],
    keyring: &Keyring,
    opened: &HashMap<Arc<Vec<u8>>, SignedCheckpoint>,
    e: &ReceivedEntry,
) -> Option<Checked> {
    let cp = opened.get(&e.checkpoint)?;
    let bad = |rule: &str, why: String| finding(rule, why, vec![e.index.0]);
    let leaf = match Leaf::parse(&e.leaf) {
        Ok(leaf) => leaf,
        Err(err) => {
            return Some(Checked {
                registry: None,
                prev: None,
                result: Err(bad(
                    "bad-event-signature",
                    format!("entry {}: {err}", e.index),
                )),
            });
        }
    };
    let event = match Event::from_envelope(leaf.envelope()) {
        Ok(event) => event,
        Err(err) => {
            return Some(Checked {
                registry: None,
                prev: leaf.prev(),
                result: Err(bad(
                    "bad-event-signature",
                    format!("entry {}: {err}", e.index),
                )),
            });
        }
    };
    let registry = Some(crate::registry::host_of_registry(&event.registry));
    let prev = leaf.prev();
    let hash = leaf_hash(&e.leaf);
    let proof = InclusionProof {
        index: e.index,
        tree_size: cp.head().size,
        path: e.path.clone(),
    };
    if let Err(err) = verify_inclusion(&hash, &proof, &cp.head()) {
        return Some(Checked {
            registry,
            prev,
            result: Err(bad(
                "bad-proof",
                format!("entry {} is not proven in the checkpoint: {err}", e.index),
            )),
        });
    }
    // The registry must speak for itself (its key is named after its host).
    let host = event.registry.host();
    let signed = match leaf.envelope().verify(keyring) {
        Ok(signer)
            if registry_keys
                .iter()
                .any(|k| k.key() == signer && k.name() == host) =>
        {
            Ok(())
        }
        Ok(_) => Err(format!("signed by a key not named {host}")),
        Err(err) => Err(err.to_string()),
    };
    Some(Checked {
        registry,
        prev,
        result: match signed {
            Ok(()) => Ok(LoggedEvent {
                index: e.index,
                leaf_hash: hash,
                event,
            }),
            Err(why) => Err(bad(
                "bad-event-signature",
                format!("entry {}: {why}", e.index),
            )),
        },
    })
}

/// Checks every distinct entry once (a maintainer's device registration is
/// in many bundles), spread over the machine's cores.
pub(super) fn check_all<'a>(
    registry_keys: &[VerifierKey],
    keyring: &Keyring,
    opened: &HashMap<Arc<Vec<u8>>, SignedCheckpoint>,
    fetched: &'a [FetchedRelease],
) -> Distinct<'a, Option<Checked>> {
    let mut distinct: Distinct<'a, ()> = Distinct::default();
    let mut entries: Vec<&ReceivedEntry> = Vec::new();
    for e in fetched.iter().flat_map(|r| &r.entries) {
        let copies = distinct.by_place.entry(place(e)).or_default();
        if !copies.iter().any(|(seen, _)| same(seen, e)) {
            copies.push((e, ()));
            entries.push(e);
        }
    }
    let checked = on_all_cores(&entries, |e| check_entry(registry_keys, keyring, opened, e));
    let mut out: Distinct<'a, Option<Checked>> = Distinct::default();
    for (e, c) in entries.into_iter().zip(checked) {
        out.by_place.entry(place(e)).or_default().push((e, c));
    }
    out
}
