//! JSON shapes of API responses (documented in docs/api.md).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_core::{Hash, InclusionProof, LeafIndex, SignedCheckpoint};
use serde_json::{Value, json};

use crate::clock::Skew;
use crate::sequencer::Accepted;

/// A checkpoint as JSON: the signed note text, plus its size and root.
pub fn checkpoint_json(cp: &SignedCheckpoint) -> Value {
    json!({
        "note": String::from_utf8_lossy(&cp.to_bytes()),
        "tree_size": cp.head().size.0,
        "root_hash": cp.head().root,
    })
}

/// An inclusion proof as JSON.
pub fn proof_json(proof: &InclusionProof) -> Value {
    json!({
        "index": proof.index.0,
        "tree_size": proof.tree_size.0,
        "path": proof.path,
    })
}

/// One entry: its index, exact leaf bytes (base64), leaf hash and proof.
pub fn entry_json(index: LeafIndex, leaf: &[u8], leaf_hash: Hash, proof: &InclusionProof) -> Value {
    json!({
        "index": index.0,
        "leaf": STANDARD.encode(leaf),
        "leaf_hash": leaf_hash,
        "inclusion_proof": proof_json(proof),
    })
}

/// Adds `"warnings"` to an acknowledgement when the event's time is
/// skewed (docs/api.md); leaves it unchanged otherwise.
pub fn with_warnings(mut answer: Value, skew: Option<&Skew>) -> Value {
    if let (Some(skew), Some(obj)) = (skew, answer.as_object_mut()) {
        obj.insert(
            "warnings".into(),
            json!([{
                "warning": "time_skew",
                "message": skew.message(),
                "skew_seconds": skew.skew_ms / 1000,
            }]),
        );
    }
    answer
}

/// The answer to a submission.
pub fn accepted_json(a: &Accepted) -> Value {
    json!({
        "index": a.index.0,
        "leaf_hash": a.leaf_hash,
        "duplicate": a.duplicate,
        "inclusion_proof": proof_json(&a.proof),
        "checkpoint": checkpoint_json(&a.checkpoint),
    })
}
