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

pub mod compact;

/// A release asked for: the registry's host, the package and the version
/// as asked.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Release {
    /// The registry's host (with its port, if any).
    pub registry: String,
    /// The package.
    pub package: PackageName,
    /// The version, matched exactly.
    pub version: String,
}

/// Most events of a package's chain, from a release's first event on, that
/// a bundle carries; past it the bundle says `"complete": false`.
pub const MAX_CHAIN: usize = 1000;

/// Most entries of a release's own (its version's events and its devices'
/// registrations) in one bundle. More is refused: no honest release has it.
pub const MAX_BUNDLE_ENTRIES: usize = 2000;

/// Largest answer of one bundles request, in bytes.
pub const MAX_ANSWER_BYTES: usize = 64 << 20;

/// Why bundles were not built.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A release holds more entries than [`MAX_BUNDLE_ENTRIES`].
    #[error(
        "the bundle of {package}@{version} would hold {entries} entries, more than the limit of {max}"
    )]
    TooManyEntries {
        /// The package.
        package: String,
        /// The version.
        version: String,
        /// Entries it would hold.
        entries: usize,
        /// The limit.
        max: usize,
    },
    /// The answer would exceed [`MAX_ANSWER_BYTES`].
    #[error(
        "the answer would be {bytes} bytes, more than the limit of {max}: ask for fewer releases"
    )]
    TooLarge {
        /// Bytes it would take.
        bytes: usize,
        /// The limit.
        max: usize,
    },
}

/// Runs `work` on parts of `items` on rayon's pool (one thread per core,
/// shared by every request), and returns the results in order.
fn on_all_cores<T: Sync, R: Send, E: Send>(
    items: &[T],
    work: impl Fn(&[T]) -> Result<Vec<R>, E> + Sync,
) -> Result<Vec<R>, E> {
    use rayon::prelude::*;
    let per = items.len().div_ceil(rayon::current_num_threads()).max(1);
    if items.len() <= per {
        return work(items);
    }
    let parts: Vec<Result<Vec<R>, E>> = items.par_chunks(per).map(&work).collect();
    let mut out = Vec::with_capacity(items.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

/// What one bundle holds: its entries, and how much of its package's chain
/// they cover.
pub(super) struct Indexes {
    pub(super) entries: Vec<LeafIndex>,
    pub(super) head: Option<LeafIndex>,
    pub(super) complete: bool,
}

/// The indexes of a list key, ascending; more than `max` is
/// [`BundleError::TooManyEntries`]'s business, so at most `max + 1` are read.
fn scan_all(
    store: &dyn LogStore,
    key: &IndexKey,
    max: usize,
) -> Result<Vec<LeafIndex>, StoreError> {
    let mut out = Vec::new();
    let mut after = None;
    while out.len() <= max {
        let page = store.scan(key, after, 256)?;
        let Some(last) = page.last().copied() else {
            break;
        };
        out.extend(page);
        after = Some(last);
    }
    Ok(out)
}

/// The event of stored leaf bytes (the log verified them on submission).
fn event_of(index: LeafIndex, bytes: &[u8]) -> Result<Event, StoreError> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("leaf {index}: {e}"));
    let leaf = Leaf::parse(bytes).map_err(|e| corrupt(&e))?;
    Event::from_envelope(leaf.envelope()).map_err(|e| corrupt(&e))
}

/// The indexes of one bundle: the version's events, the
/// device-register/revoke events of the devices that approved it (same
/// registry), and the package's chain from the version's first event on
/// (at most [`MAX_CHAIN`]). `devices` remembers device lookups across the
/// bundles of one worker.
fn bundle_indexes(
    store: &dyn LogStore,
    release: &Release,
    size: TreeSize,
    devices: &mut HashMap<IndexKey, Vec<LeafIndex>>,
) -> Result<Indexes, BundleError> {
    let mut out = BTreeSet::new();
    let package = release.package.as_str().to_owned();
    let key = IndexKey::Version(
        release.registry.clone(),
        package.clone(),
        release.version.clone(),
    );
    let own: Vec<LeafIndex> = scan_all(store, &key, MAX_BUNDLE_ENTRIES)?
        .into_iter()
        .filter(|i| size.contains(*i))
        .collect();
    for &index in &own {
        out.insert(index);
        let bytes = store
            .read_leaves(index.0, 1)?
            .pop()
            .ok_or_else(|| StoreError::Missing(format!("leaf {index}")))?;
        let event = event_of(index, &bytes)?;
        if let EventBody::Approve(a) = &event.body {
            let dev = IndexKey::Device(
                event.registry.host().to_owned(),
                a.maintainer.clone(),
                a.device.id.clone(),
            );
            if !devices.contains_key(&dev) {
                let found = scan_all(store, &dev, MAX_BUNDLE_ENTRIES)?;
                devices.insert(dev.clone(), found);
            }
            out.extend(devices[&dev].iter().filter(|i| size.contains(**i)));
        }
        if out.len() > MAX_BUNDLE_ENTRIES {
            break;
        }
    }
    if out.len() > MAX_BUNDLE_ENTRIES {
        return Err(BundleError::TooManyEntries {
            package,
            version: release.version.clone(),
            entries: out.len(),
            max: MAX_BUNDLE_ENTRIES,
        });
    }
    let Some(&first) = own.first() else {
        return Ok(Indexes {
            entries: out.into_iter().collect(),
            head: None,
            complete: true,
        });
    };
    // The chain from the version's first event to the package's latest
    // event at `size`, so a verifier can walk `prev` and find an omission.
    let chain_key = IndexKey::Package(release.registry.clone(), package);
    let after = first.0.checked_sub(1).map(LeafIndex);
    let chain: Vec<LeafIndex> = store
        .scan(&chain_key, after, MAX_CHAIN + 1)?
        .into_iter()
        .filter(|i| size.contains(*i))
        .collect();
    let complete = chain.len() <= MAX_CHAIN;
    let chain = &chain[..chain.len().min(MAX_CHAIN)];
    out.extend(chain.iter().copied());
    Ok(Indexes {
        entries: out.into_iter().collect(),
        head: complete.then(|| chain.last().copied()).flatten(),
        complete,
    })
}

/// Reads the leaves at `indexes` (ascending), one read per run of
/// consecutive indexes.
pub(super) fn read_leaves_at(
    store: &dyn LogStore,
    indexes: &[LeafIndex],
) -> Result<Vec<Vec<u8>>, StoreError> {
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

/// [`render_entries`] of `indexes` on all cores, in pieces, stopping as
/// soon as the rendered bytes pass [`MAX_ANSWER_BYTES`]: memory stays
/// bounded whatever the leaves hold.
fn render_within_budget(
    store: &dyn LogStore,
    indexes: &[LeafIndex],
    size: TreeSize,
) -> Result<Vec<String>, BundleError> {
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    const PIECE: usize = 512;
    let used = AtomicUsize::new(0);
    let over = |bytes| BundleError::TooLarge {
        bytes,
        max: MAX_ANSWER_BYTES,
    };
    let pieces: Vec<Result<Vec<String>, BundleError>> = indexes
        .par_chunks(PIECE)
        .map(|piece| {
            let before = used.load(Ordering::Relaxed);
            if before > MAX_ANSWER_BYTES {
                return Err(over(before));
            }
            let rendered = render_entries(store, piece, size)?;
            let bytes: usize = rendered.iter().map(String::len).sum();
            let now = used.fetch_add(bytes, Ordering::Relaxed) + bytes;
            if now > MAX_ANSWER_BYTES {
                return Err(over(now));
            }
            Ok(rendered)
        })
        .collect();
    let mut out = Vec::with_capacity(indexes.len());
    for piece in pieces {
        out.extend(piece?);
    }
    Ok(out)
}

/// The distinct releases of `releases` (in the order first asked), the
/// indexes of each one's bundle at `size`, and every distinct index of
/// them all, ascending.
pub(super) type Plan<'a> = (Vec<&'a Release>, Vec<Indexes>, Vec<LeafIndex>);

/// Plans the bundles of `releases` at `size` on all cores ([`Plan`]).
pub(super) fn plan<'a>(
    store: &dyn LogStore,
    releases: &'a [Release],
    size: TreeSize,
) -> Result<Plan<'a>, BundleError> {
    let mut seen = std::collections::HashSet::with_capacity(releases.len());
    let releases: Vec<&Release> = releases.iter().filter(|r| seen.insert(*r)).collect();
    let per_release = on_all_cores(&releases, |part| {
        let mut devices = HashMap::new();
        part.iter()
            .map(|r| bundle_indexes(store, r, size, &mut devices))
            .collect()
    })?;
    let distinct: Vec<LeafIndex> = per_release
        .iter()
        .flat_map(|b| b.entries.iter())
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok((releases, per_release, distinct))
}

/// The JSON array of the bundles of `releases` at `size`, one per distinct
/// release, in the order first asked.
pub fn bundles_json(
    store: &dyn LogStore,
    releases: &[Release],
    size: TreeSize,
) -> Result<String, BundleError> {
    let (releases, per_release, distinct) = plan(store, releases, size)?;
    let rendered = render_within_budget(store, &distinct, size)?;
    let at: HashMap<LeafIndex, usize> = distinct.iter().enumerate().map(|(k, i)| (*i, k)).collect();
    let total: usize = per_release
        .iter()
        .flat_map(|b| b.entries.iter())
        .map(|i| rendered[at[i]].len() + 1)
        .sum::<usize>()
        + 200 * releases.len();
    if total > MAX_ANSWER_BYTES {
        return Err(BundleError::TooLarge {
            bytes: total,
            max: MAX_ANSWER_BYTES,
        });
    }
    let mut out = String::with_capacity(total + 2);
    out.push('[');
    for (k, (release, bundle)) in releases.iter().zip(&per_release).enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push_str(r#"{"chain":{"complete":"#);
        out.push_str(if bundle.complete { "true" } else { "false" });
        out.push_str(r#","head":"#);
        match bundle.head {
            Some(h) => out.push_str(&h.0.to_string()),
            None => out.push_str("null"),
        }
        out.push_str(r#"},"entries":["#);
        for (n, i) in bundle.entries.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            out.push_str(&rendered[at[i]]);
        }
        out.push_str(r#"],"package":"#);
        push_json_str(&mut out, release.package.as_str());
        out.push_str(r#","registry":"#);
        push_json_str(&mut out, &release.registry);
        out.push_str(r#","version":"#);
        push_json_str(&mut out, &release.version);
        out.push('}');
    }
    out.push(']');
    Ok(out)
}
