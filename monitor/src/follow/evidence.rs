//! Telling signed evidence from unverifiable answers.
//!
//! Only signed evidence stops the monitor: two checkpoints, both signed
//! with the log's key, that no consistency proof can join. A proof built
//! from the log's hash tiles that fails proves that only if the tiles are
//! the larger tree's own: the monitor checks that the proof's nodes hash to
//! the larger signed root, with the old tree's root as those tiles state
//! it. Then (SHA-256 being collision resistant) the log signed a tree
//! whose first entries are not the ones it signed before. Everything else
//! that does not verify (a checkpoint its key did not sign, tiles or
//! entry bundles that do not match the signed tree, a larger tree whose
//! tiles are gone) may be a proxy, a cache or a broken disk: an alert, and
//! the monitor retries.

use gatelog_core::checkpoint::SignedCheckpoint;
use gatelog_core::evidence::Misbehaviour;
use gatelog_core::merkle::verify_consistency;
use gatelog_core::tile::{Tile, tile_hashes};
use gatelog_core::{ConsistencyProof, TreeSize};

use super::{FollowError, Follower, decode, tiles};
use crate::alert::{RuleId, Severity};
use crate::fetch::FetchError;
use crate::rules::Finding;

/// What a comparison of two checkpoints found.
pub(super) enum Verdict {
    /// Signed evidence: the log signed both, they cannot both be true.
    Fork(Finding),
    /// The log's answers do not let the monitor tell.
    Unverifiable(Finding),
}

impl Follower {
    /// Checks a new checkpoint against the remembered one (both verified
    /// with the log's key); a verdict if they are not proven consistent.
    pub(super) async fn check_against(
        &self,
        old: &SignedCheckpoint,
        new: &SignedCheckpoint,
    ) -> Result<Option<Verdict>, FollowError> {
        let (o, n) = (old.head(), new.head());
        let (small, large) = if n.size >= o.size {
            (old, new)
        } else {
            (new, old)
        };
        let (s, l) = (small.head(), large.head());
        if s.size == l.size {
            if s.root == l.root {
                return Ok(None);
            }
            let proof = ConsistencyProof {
                old_size: s.size,
                new_size: s.size,
                path: Vec::new(),
            };
            return Ok(
                gatelog_core::evidence::check_consistency(small, large, &proof)
                    .err()
                    .map(|m| Verdict::Fork(misbehaviour_finding(*m, n.size.0))),
            );
        }
        let proof = match tiles::consistency(&self.reader, s.size, l.size).await {
            Ok(proof) => proof,
            // The larger tree's tiles are gone: rolled back, or a stale
            // cache in front of the log.
            Err(FollowError::Fetch(FetchError::Status { status: 404, .. })) if n.size < o.size => {
                let mut f = unverifiable(
                    n.size.0,
                    format!(
                        "the log's checkpoint went back from {} to {} entries and it no longer serves the larger tree",
                        o.size, n.size
                    ),
                );
                f.details.insert("older".into(), note_text(old).into());
                f.details.insert("newer".into(), note_text(new).into());
                return Ok(Some(Verdict::Unverifiable(f)));
            }
            Err(e) => return Err(e),
        };
        let Err(m) = gatelog_core::evidence::check_consistency(small, large, &proof) else {
            return Ok(None);
        };
        // Are the tiles the larger tree's own? Then the smaller root they
        // imply is the true prefix of the larger signed tree.
        let prefix = tiles::range_at(&self.reader, s.size, l.size).await?;
        if verify_consistency(&prefix.head(), &l, &proof).is_ok() {
            let mut f = misbehaviour_finding(*m, n.size.0);
            f.details.insert(
                "prefix_root_in_larger_tree".into(),
                prefix.head().root.to_hex().into(),
            );
            return Ok(Some(Verdict::Fork(f)));
        }
        let mut f = unverifiable(
            n.size.0,
            format!(
                "the log's hash tiles do not prove its checkpoints of {} and {} entries consistent, nor do they match the larger one",
                s.size, l.size
            ),
        );
        f.details.insert("older".into(), note_text(small).into());
        f.details.insert("newer".into(), note_text(large).into());
        Ok(Some(Verdict::Unverifiable(f)))
    }

    /// Finds which entry of a chunk that failed verification differs from
    /// the log's level-0 hash tiles. Unsigned either way: the bundles or
    /// the tiles are wrong.
    pub(super) async fn locate_mismatch(
        &self,
        decoded: &[decode::Decoded],
        size: TreeSize,
    ) -> Result<Finding, FollowError> {
        for d in decoded {
            let tile = Tile::at_size(0, d.index / 256, size)
                .ok_or_else(|| FollowError::Malformed(format!("no tile for entry {}", d.index)))?;
            let data = self.reader.tile(tile).await?;
            let hashes = tile_hashes(tile, &data)
                .map_err(|e| FollowError::Malformed(format!("{}: {e}", tile.to_path())))?;
            let committed = hashes[(d.index % 256) as usize];
            if committed != d.leaf_hash {
                let m = Misbehaviour::EntryMismatch {
                    index: gatelog_core::LeafIndex(d.index),
                    served: d.leaf_hash,
                    committed,
                };
                let mut f = misbehaviour_finding(m, size.0);
                f.rule = RuleId::LogUnverifiable;
                f.severity = Severity::High;
                return Ok(f);
            }
        }
        Ok(unverifiable(
            decoded.first().map_or(0, |d| d.index),
            format!(
                "the log's hash tiles do not add up to the root of its checkpoint at size {size}"
            ),
        ))
    }
}

pub(super) fn note_text(cp: &SignedCheckpoint) -> String {
    String::from_utf8_lossy(&cp.to_bytes()).into_owned()
}

/// A log-wide misbehaviour finding triggered at `trigger`.
pub(super) fn log_finding(trigger: u64, message: String) -> Finding {
    Finding {
        rule: RuleId::LogMisbehaviour,
        severity: Severity::Critical,
        trigger,
        package: None,
        version: None,
        message,
        evidence: vec![trigger],
        event_time: None,
        details: Default::default(),
    }
}

/// A log-wide finding of an answer that does not verify.
pub(super) fn unverifiable(trigger: u64, message: String) -> Finding {
    Finding {
        rule: RuleId::LogUnverifiable,
        severity: Severity::High,
        evidence: Vec::new(),
        ..log_finding(trigger, message)
    }
}

fn misbehaviour_finding(m: Misbehaviour, size: u64) -> Finding {
    match &m {
        Misbehaviour::InconsistentCheckpoints {
            older,
            newer,
            proof,
            reason,
        } => {
            let mut f = log_finding(
                size,
                format!(
                    "the log signed two checkpoints ({} and {} entries) that are not consistent: {reason}",
                    older.head().size,
                    newer.head().size
                ),
            );
            f.evidence.clear();
            f.details.insert("older".into(), note_text(older).into());
            f.details.insert("newer".into(), note_text(newer).into());
            let path: Vec<serde_json::Value> =
                proof.path.iter().map(|h| h.to_hex().into()).collect();
            f.details.insert("consistency_proof".into(), path.into());
            f
        }
        Misbehaviour::EntryMismatch {
            index,
            served,
            committed,
        } => {
            let mut f = log_finding(index.0, m.to_string());
            f.details
                .insert("served_leaf_hash".into(), served.to_hex().into());
            f.details
                .insert("committed_leaf_hash".into(), committed.to_hex().into());
            f
        }
    }
}
