//! Evidence that a log misbehaved, kept apart from ordinary errors: an
//! ordinary error means "retry later", misbehaviour means "stop the release
//! and tell someone". Every variant carries what a third party needs to check
//! the claim without trusting us: the signed notes, byte for byte, and the
//! proof that failed.

use std::fmt;

use crate::checkpoint::SignedCheckpoint;
use crate::error::ProofError;
use crate::hash::Hash;
use crate::merkle::{ConsistencyProof, verify_consistency};
use crate::tree::LeafIndex;

/// A proven or strongly evidenced lie by a log.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum Misbehaviour {
    /// Two checkpoints signed by the log that no consistency proof joins:
    /// the log forked (split view) or rewrote history.
    #[error("{}", inconsistent_report(older, newer, proof, reason))]
    InconsistentCheckpoints {
        /// The checkpoint remembered from before, as signed.
        older: Box<SignedCheckpoint>,
        /// The checkpoint just received, as signed.
        newer: Box<SignedCheckpoint>,
        /// The consistency proof the log offered.
        proof: ConsistencyProof,
        /// Why it failed.
        reason: ProofError,
    },
    /// An entry the log served does not hash to what its tree commits to.
    #[error(
        "SECURITY ERROR: entry {index} hashes to {served}, but the log's tree holds {committed}"
    )]
    EntryMismatch {
        /// The entry's index.
        index: LeafIndex,
        /// Leaf hash of the bytes served.
        served: Hash,
        /// Leaf hash the verified tree commits to.
        committed: Hash,
    },
}

fn inconsistent_report(
    older: &SignedCheckpoint,
    newer: &SignedCheckpoint,
    proof: &ConsistencyProof,
    reason: &ProofError,
) -> String {
    let mut s = String::from("SECURITY ERROR: the log signed two inconsistent checkpoints\n\n");
    s += &format!(
        "older checkpoint:\n{}\n",
        String::from_utf8_lossy(&older.to_bytes())
    );
    s += &format!(
        "newer checkpoint:\n{}\n",
        String::from_utf8_lossy(&newer.to_bytes())
    );
    s += &format!(
        "consistency proof {} -> {}:\n",
        proof.old_size, proof.new_size
    );
    for h in &proof.path {
        s += &format!("  {h}\n");
    }
    s += &format!("\nverification failed: {reason}");
    s
}

/// Result of checking a new checkpoint against a remembered one.
#[derive(Debug)]
pub enum ConsistencyOutcome {
    /// The new checkpoint extends (or equals) the old one.
    Consistent,
    /// The new checkpoint is older than the remembered one (e.g. a stale
    /// cache); it was checked the other way round and is consistent, but it
    /// must not replace the remembered one.
    Stale,
}

/// Checks that two checkpoints signed by the same log are consistent given
/// the proof from the smaller to the larger. Both checkpoints are already
/// signature-verified, so any failure is evidence against the log.
pub fn check_consistency(
    remembered: &SignedCheckpoint,
    received: &SignedCheckpoint,
    proof: &ConsistencyProof,
) -> Result<ConsistencyOutcome, Box<Misbehaviour>> {
    let (old, new, outcome) = if received.head().size >= remembered.head().size {
        (remembered, received, ConsistencyOutcome::Consistent)
    } else {
        (received, remembered, ConsistencyOutcome::Stale)
    };
    match verify_consistency(&old.head(), &new.head(), proof) {
        Ok(()) => Ok(outcome),
        Err(reason) => Err(Box::new(Misbehaviour::InconsistentCheckpoints {
            older: Box::new(old.clone()),
            newer: Box::new(new.clone()),
            proof: proof.clone(),
            reason,
        })),
    }
}

impl fmt::Display for ConsistencyOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsistencyOutcome::Consistent => f.write_str("consistent"),
            ConsistencyOutcome::Stale => f.write_str("stale but consistent"),
        }
    }
}
