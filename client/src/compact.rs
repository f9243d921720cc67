//! Compact bundles (`gatelog-bundles/compact-v1`) on the client.
//!
//! An answer becomes the same received releases the JSON form gives: each
//! leaf's own inclusion path is derived from the multi-leaf proof, so every
//! later check (leaf hash, inclusion in the signed checkpoint, signatures,
//! chain, policy) is exactly the one JSON bundles get. A wrong proof hash
//! or leaf byte makes the derived paths lead to another root, and the
//! entries fail `bad-proof`. The other way, received releases are written
//! back as compact answers for offline bundles.

use std::collections::BTreeMap;
use std::sync::Arc;

use gatelog_core::compact_bundles::{self, ChainState, CompactAnswer, CompactRelease};
use gatelog_core::multiproof::multiproof_from_paths;
use gatelog_core::note::Note;
use gatelog_core::wire::MAX_BUNDLE_RELEASES;
use gatelog_core::{Checkpoint, Hash, LeafIndex, TreeSize};

use crate::logclient::{Chain, ClientError, FetchedRelease, ReceivedEntry};

/// The received releases of one parsed answer.
pub fn releases_of(answer: CompactAnswer) -> Result<Vec<FetchedRelease>, ClientError> {
    let malformed =
        |e: &dyn std::fmt::Display| ClientError::Malformed(format!("compact bundles: {e}"));
    let paths = match answer.fold().map_err(|e| malformed(&e))? {
        Some(folded) => folded.paths,
        None => Vec::new(),
    };
    let checkpoint = Arc::new(answer.checkpoint);
    let entries: Vec<ReceivedEntry> = answer
        .leaves
        .into_iter()
        .zip(paths)
        .map(|((index, leaf), path)| ReceivedEntry {
            index,
            leaf,
            path,
            checkpoint: checkpoint.clone(),
        })
        .collect();
    answer
        .releases
        .into_iter()
        .map(|r| {
            // The log writes hosts as the client names them; a host in
            // another spelling is refused, not normalised into a match.
            let registry = crate::registry::host_of(&r.registry).map_err(|e| malformed(&e))?;
            if registry != r.registry {
                return Err(malformed(&format!(
                    "registry {:?} is not written as the host {registry:?}",
                    r.registry
                )));
            }
            Ok(FetchedRelease {
                registry: Some(registry),
                package: r.package,
                version: r.version,
                chain: Some(match r.chain {
                    ChainState::Head(head) => Chain {
                        head: Some(head),
                        complete: true,
                    },
                    ChainState::Empty => Chain {
                        head: None,
                        complete: true,
                    },
                    ChainState::Capped => Chain {
                        head: None,
                        complete: false,
                    },
                }),
                entries: r
                    .entries
                    .iter()
                    .map(|&at| entries[at as usize].clone())
                    .collect(),
            })
        })
        .collect()
}

/// Parses one answer of the log (exactly one, nothing after it).
pub fn parse_answer(bytes: &[u8]) -> Result<Vec<FetchedRelease>, ClientError> {
    let answer =
        compact_bundles::parse(bytes).map_err(|e| ClientError::Malformed(e.to_string()))?;
    releases_of(answer)
}

/// Why received releases cannot be written compactly (the caller writes
/// the JSON form instead).
#[derive(Debug, thiserror::Error)]
#[error("cannot write a compact bundle: {0}")]
pub struct NotCompact(String);

/// The tree size a checkpoint note states (its signature is checked by
/// whoever verifies the bundle, not here).
fn size_of(note: &[u8]) -> Result<TreeSize, NotCompact> {
    let note = Note::parse(note).map_err(|e| NotCompact(e.to_string()))?;
    let cp = Checkpoint::parse_text(&note.text).map_err(|e| NotCompact(e.to_string()))?;
    Ok(cp.head.size)
}

/// Received releases as compact answers, one per checkpoint and per
/// [`MAX_BUNDLE_RELEASES`] releases. Each entry is written once: the first
/// copy received of each index.
pub fn answers_of(releases: &[FetchedRelease]) -> Result<Vec<CompactAnswer>, NotCompact> {
    let mut groups: BTreeMap<Arc<Vec<u8>>, Vec<&FetchedRelease>> = BTreeMap::new();
    let mut empty = Vec::new();
    for r in releases {
        let Some(first) = r.entries.first() else {
            empty.push(r);
            continue;
        };
        if r.entries.iter().any(|e| e.checkpoint != first.checkpoint) {
            return Err(NotCompact(format!(
                "{}@{} has entries of several checkpoints",
                r.package, r.version
            )));
        }
        groups.entry(first.checkpoint.clone()).or_default().push(r);
    }
    // Releases with no entry are answered by any checkpoint: they prove nothing.
    match groups.values_mut().next() {
        Some(group) => group.extend(empty),
        None if empty.is_empty() => return Ok(Vec::new()),
        None => {
            return Err(NotCompact(
                "no release has an entry, so there is no checkpoint".into(),
            ));
        }
    }
    let mut out = Vec::new();
    for (note, group) in groups {
        let size = size_of(&note)?;
        for part in group.chunks(MAX_BUNDLE_RELEASES) {
            out.push(answer_of(note.to_vec(), size, part)?);
        }
    }
    Ok(out)
}

fn answer_of(
    checkpoint: Vec<u8>,
    size: TreeSize,
    releases: &[&FetchedRelease],
) -> Result<CompactAnswer, NotCompact> {
    let mut leaves: BTreeMap<LeafIndex, &ReceivedEntry> = BTreeMap::new();
    for e in releases.iter().flat_map(|r| &r.entries) {
        leaves.entry(e.index).or_insert(e);
    }
    let paths: Vec<(LeafIndex, &[Hash])> = leaves
        .values()
        .map(|e| (e.index, e.path.as_slice()))
        .collect();
    let proof = multiproof_from_paths(size, &paths).map_err(|e| NotCompact(e.to_string()))?;
    let at: BTreeMap<LeafIndex, u32> = leaves
        .keys()
        .enumerate()
        .map(|(k, i)| (*i, k as u32))
        .collect();
    let releases = releases
        .iter()
        .map(|r| {
            let (Some(registry), Some(chain)) = (&r.registry, &r.chain) else {
                return Err(NotCompact(format!(
                    "the log did not name the registry or chain of {}@{}",
                    r.package, r.version
                )));
            };
            let mut entries: Vec<u32> = r.entries.iter().map(|e| at[&e.index]).collect();
            entries.sort_unstable();
            entries.dedup();
            Ok(CompactRelease {
                registry: registry.clone(),
                package: r.package.clone(),
                version: r.version.clone(),
                chain: match (chain.complete, chain.head) {
                    (true, Some(head)) => ChainState::Head(head),
                    (true, None) => ChainState::Empty,
                    (false, _) => ChainState::Capped,
                },
                entries,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CompactAnswer {
        tree_size: size,
        checkpoint,
        leaves: leaves
            .into_values()
            .map(|e| (e.index, e.leaf.clone()))
            .collect(),
        proof,
        releases,
    })
}

#[cfg(test)]
mod tests {
    use gatelog_core::checkpoint::{Checkpoint, Origin};
    use gatelog_core::keys::{SignatureType, SignerKey};
    use gatelog_core::{TreeHead, leaf_hash};

    use super::*;

    /// A signed checkpoint of a one-leaf tree, and the leaf.
    fn one_leaf_log() -> (Vec<u8>, Vec<u8>) {
        let leaf = b"the only leaf".to_vec();
        let key = SignerKey::from_seed("c.example/log", SignatureType::Ed25519, &[3; 32]).unwrap();
        let head = TreeHead {
            size: TreeSize(1),
            root: leaf_hash(&leaf),
        };
        let note = Checkpoint::new(Origin::new("c.example/log").unwrap(), head)
            .sign(&key)
            .unwrap();
        (note.to_bytes(), leaf)
    }

    fn release(n: usize, entries: Vec<ReceivedEntry>) -> FetchedRelease {
        FetchedRelease {
            registry: Some("registry.example".into()),
            package: format!("p{n}"),
            version: "1.0.0".into(),
            chain: Some(Chain {
                head: entries.first().map(|e| e.index),
                complete: true,
            }),
            entries,
        }
    }

    #[test]
    fn releases_write_back_once_per_entry_and_in_answers_of_at_most_5000() {
        let (note, leaf) = one_leaf_log();
        let entry = ReceivedEntry {
            index: LeafIndex(0),
            leaf,
            path: vec![],
            checkpoint: Arc::new(note),
        };
        let mut releases: Vec<FetchedRelease> = (0..MAX_BUNDLE_RELEASES + 1)
            .map(|n| release(n, vec![entry.clone()]))
            .collect();
        releases.push(release(9999, vec![]));
        let answers = answers_of(&releases).unwrap();
        assert_eq!(answers.len(), 2);
        assert!(answers.iter().all(|a| a.leaves.len() == 1));
        let bytes: Vec<u8> = answers.iter().flat_map(|a| a.to_bytes()).collect();
        let back: Vec<FetchedRelease> = compact_bundles::parse_many(&bytes)
            .unwrap()
            .into_iter()
            .flat_map(|a| releases_of(a).unwrap())
            .collect();
        assert_eq!(back.len(), releases.len());
        assert_eq!(back[7].entries[0].leaf, entry.leaf);
        assert_eq!(back.last().unwrap().package, "p9999");
        assert!(back.last().unwrap().entries.is_empty());
    }

    #[test]
    fn what_cannot_be_written_compactly_is_said() {
        let (note, leaf) = one_leaf_log();
        let entry = ReceivedEntry {
            index: LeafIndex(0),
            leaf,
            path: vec![],
            checkpoint: Arc::new(note),
        };
        let mut unnamed = release(1, vec![entry.clone()]);
        unnamed.registry = None;
        let err = answers_of(&[unnamed]).unwrap_err();
        assert!(
            err.to_string().contains("did not name the registry"),
            "{err}"
        );
        let mut long_path = entry.clone();
        long_path.path = vec![Hash::default()];
        assert!(answers_of(&[release(1, vec![long_path])]).is_err());
        let other = ReceivedEntry {
            checkpoint: Arc::new(b"another note".to_vec()),
            ..entry.clone()
        };
        let err = answers_of(&[release(1, vec![entry, other])]).unwrap_err();
        assert!(err.to_string().contains("several checkpoints"), "{err}");
        assert!(answers_of(&[release(2, vec![])]).is_err());
        assert!(answers_of(&[]).unwrap().is_empty());
    }

    #[test]
    fn a_registry_in_another_spelling_is_refused() {
        let (note, leaf) = one_leaf_log();
        let entry = ReceivedEntry {
            index: LeafIndex(0),
            leaf,
            path: vec![],
            checkpoint: Arc::new(note),
        };
        let mut answer = answers_of(&[release(1, vec![entry])]).unwrap().remove(0);
        assert_eq!(releases_of(answer.clone()).unwrap().len(), 1);
        answer.releases[0].registry = "Registry.example".into();
        let err = releases_of(answer).unwrap_err();
        assert!(err.to_string().contains("not written as the host"), "{err}");
    }
}
