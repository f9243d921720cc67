//! Release bundles built for many releases at once (`POST /v1/bundles`
//! and `GET /v1/bundle`), read side only.
//!
//! A lockfile asks for thousands of releases whose bundles share entries
//! (a maintainer's device registration is in every bundle the device
//! approved) and proof nodes. So a request is built in two passes over all
//! of the machine's cores: first the indexes of every bundle (each device's
//! registrations looked up once per worker), then every distinct entry once:
//! its leaf, its leaf hash and proof nodes read in one batch per worker and
//! rendered to JSON once. Each bundle is then the concatenation of its
//! entries' JSON. The output is byte for byte what serializing the
//! documented JSON shapes gives (keys in alphabetical order).

use std::collections::{BTreeSet, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_core::event::{EventBody, PackageName};
use gatelog_core::merkle::{inclusion_proof, inclusion_proof_nodes};
use gatelog_core::{Event, Leaf, LeafIndex, NodeId, TreeSize};

use super::integrity;
use crate::store::{IndexKey, LogStore, StoreError};

/// A release asked for: the package and the version as asked.
pub type Release = (PackageName, String);

/// Runs `work` on each part of `items` on its own thread (as many parts as
/// cores), and returns the results in order.
fn on_all_cores<T: Sync, R: Send>(
    items: &[T],
    work: impl Fn(&[T]) -> Result<Vec<R>, StoreError> + Sync,
) -> Result<Vec<R>, StoreError> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = items.len().div_ceil(workers).max(1);
    if items.len() <= per {
        return work(items);
    }
    let work = &work;
    let parts: Vec<Result<Vec<R>, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|part| scope.spawn(move || work(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(StoreError::Backend("bundle worker panicked".into())))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(items.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

/// Every index of a list key, ascending.
fn scan_all(store: &dyn LogStore, key: &IndexKey) -> Result<Vec<LeafIndex>, StoreError> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store.scan(key, after, 256)?;
        let Some(last) = page.last().copied() else {
            return Ok(out);
        };
        out.extend(page);
        after = Some(last);
    }
}

/// The event of stored leaf bytes (the log verified them on submission).
fn event_of(index: LeafIndex, bytes: &[u8]) -> Result<Event, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("leaf {index}: {e}"));
    let leaf = Leaf::parse(bytes).map_err(|e| corrupt(&e))?;
    Event::from_envelope(leaf.envelope()).map_err(|e| corrupt(&e))
}

/// The indexes of one bundle: the version's events and the
/// device-register/revoke events of the devices that approved it. `devices`
/// remembers device lookups across the bundles of one worker.
fn bundle_indexes(
    store: &dyn LogStore,
    (name, version): &Release,
    size: TreeSize,
    devices: &mut HashMap<IndexKey, Vec<LeafIndex>>,
) -> Result<Vec<LeafIndex>, StoreError> {
    let mut out = BTreeSet::new();
    let key = IndexKey::Version(name.as_str().to_owned(), version.clone());
    for index in scan_all(store, &key)? {
        if !size.contains(index) {
            continue;
        }
        out.insert(index);
        let bytes = store
            .read_leaves(index.0, 1)?
            .pop()
            .ok_or_else(|| StoreError::Missing(format!("leaf {index}")))?;
        let event = event_of(index, &bytes)?;
        if let EventBody::Approve(a) = &event.body {
            let dev = IndexKey::Device(
                event.registry.as_str().to_owned(),
                a.maintainer.clone(),
                a.device.id.clone(),
            );
            if !devices.contains_key(&dev) {
                let found = scan_all(store, &dev)?;
                devices.insert(dev.clone(), found);
            }
            out.extend(devices[&dev].iter().filter(|i| size.contains(**i)));
        }
    }
    Ok(out.into_iter().collect())
}

/// Reads the leaves at `indexes` (ascending), one read per run of
/// consecutive indexes.
fn read_leaves_at(store: &dyn LogStore, indexes: &[LeafIndex]) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut out = Vec::with_capacity(indexes.len());
    let mut i = 0;
    while i < indexes.len() {
        let mut run = 1;
        while i + run < indexes.len() && indexes[i + run].0 == indexes[i].0 + run as u64 {
            run += 1;
        }
        let leaves = store.read_leaves(indexes[i].0, run as u64)?;
        if leaves.len() != run {
            return Err(StoreError::Missing(format!("leaves from {}", indexes[i])));
        }
        out.extend(leaves);
        i += run;
    }
    Ok(out)
}

/// Appends `text` as a JSON string.
fn push_json_str(out: &mut String, text: &str) {
    out.push_str(&serde_json::to_string(text).expect("strings always serialize"));
}

/// Renders the entries at `indexes` (ascending) with their inclusion
/// proofs at `size`, as `GET /v1/entries` shows them, each checked against
/// the stored tree first.
fn render_entries(
    store: &dyn LogStore,
    indexes: &[LeafIndex],
    size: TreeSize,
) -> Result<Vec<String>, StoreError> {
    let mut ids: Vec<NodeId> = Vec::new();
    let mut position: HashMap<NodeId, usize> = HashMap::new();
    let mut wanted = Vec::with_capacity(indexes.len());
    for &i in indexes {
        let nodes: Vec<usize> = std::iter::once(NodeId::leaf(i))
            .chain(inclusion_proof_nodes(i, size)?)
            .map(|id| {
                *position.entry(id).or_insert_with(|| {
                    ids.push(id);
                    ids.len() - 1
                })
            })
            .collect();
        wanted.push(nodes);
    }
    let hashes = store.read_hashes(&ids)?;
    let leaves = read_leaves_at(store, indexes)?;
    let root = integrity::stored_root(store, size)?;
    let mut out = Vec::with_capacity(indexes.len());
    for ((&i, nodes), leaf) in indexes.iter().zip(&wanted).zip(&leaves) {
        let stored: Vec<_> = nodes[1..].iter().map(|&n| hashes[n]).collect();
        let proof = inclusion_proof(i, size, &stored)?;
        // Never serve damaged storage as good (docs/reliability.md).
        integrity::check_entry(i, leaf, &hashes[nodes[0]], &proof, &root)?;
        let mut e = String::with_capacity(leaf.len() * 4 / 3 + 80 * proof.path.len() + 200);
        e.push_str(r#"{"inclusion_proof":{"index":"#);
        e.push_str(&i.0.to_string());
        e.push_str(r#","path":["#);
        for (k, h) in proof.path.iter().enumerate() {
            if k > 0 {
                e.push(',');
            }
            e.push('"');
            e.push_str(&h.to_hex());
            e.push('"');
        }
        e.push_str(r#"],"tree_size":"#);
        e.push_str(&size.0.to_string());
        e.push_str(r#"},"index":"#);
        e.push_str(&i.0.to_string());
        e.push_str(r#","leaf":""#);
        STANDARD.encode_string(leaf, &mut e);
        e.push_str(r#"","leaf_hash":""#);
        e.push_str(&hashes[nodes[0]].to_hex());
        e.push_str(r#""}"#);
        out.push(e);
    }
    Ok(out)
}

/// The JSON array of the bundles of `releases` at `size`, in the order
/// asked.
pub fn bundles_json(
    store: &dyn LogStore,
    releases: &[Release],
    size: TreeSize,
) -> Result<String, StoreError> {
    let per_release = on_all_cores(releases, |part| {
        let mut devices = HashMap::new();
        part.iter()
            .map(|r| bundle_indexes(store, r, size, &mut devices))
            .collect()
    })?;
    let distinct: Vec<LeafIndex> = per_release
        .iter()
        .flatten()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let rendered = on_all_cores(&distinct, |part| render_entries(store, part, size))?;
    let at: HashMap<LeafIndex, usize> = distinct.iter().enumerate().map(|(k, i)| (*i, k)).collect();
    let total: usize = per_release
        .iter()
        .flatten()
        .map(|i| rendered[at[i]].len() + 1)
        .sum();
    let mut out = String::with_capacity(total + 100 * releases.len() + 2);
    out.push('[');
    for (k, ((name, version), indexes)) in releases.iter().zip(&per_release).enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push_str(r#"{"entries":["#);
        for (n, i) in indexes.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(&rendered[at[i]]);
        }
        out.push_str(r#"],"package":"#);
        push_json_str(&mut out, name.as_str());
        out.push_str(r#","version":"#);
        push_json_str(&mut out, version);
        out.push('}');
    }
    out.push(']');
    Ok(out)
}
