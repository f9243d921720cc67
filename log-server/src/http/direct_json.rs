//! The JSON of the hottest answers — acknowledgements of submissions and
//! entries with their inclusion proofs — written straight into a string.
//! Building `serde_json::Value` trees for them (a map and a string per
//! hash) cost more than the proofs themselves. The bytes are exactly what
//! serializing [`super::json::accepted_json`] and [`super::json::entry_json`]
//! gives (keys in sorted order, no whitespace), which the tests check.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_core::{Hash, InclusionProof, LeafIndex, SignedCheckpoint};

use super::json::checkpoint_json;
use crate::sequencer::Accepted;

/// Appends `"<hex of hash>"`.
fn push_hash(out: &mut String, hash: &Hash) {
    let mut hex = [0u8; 64];
    // 32 bytes always fit in 64 hex digits.
    if hex::encode_to_slice(hash.as_bytes(), &mut hex).is_ok() {
        out.push('"');
        out.push_str(std::str::from_utf8(&hex).unwrap_or_default());
        out.push('"');
    }
}

fn push_u64(out: &mut String, n: u64) {
    use std::fmt::Write as _;
    // Writing into a String cannot fail.
    let _ = write!(out, "{n}");
}

/// Appends `{"index":…,"path":[…],"tree_size":…}`.
fn push_proof(out: &mut String, proof: &InclusionProof) {
    out.push_str("{\"index\":");
    push_u64(out, proof.index.0);
    out.push_str(",\"path\":[");
    for (i, h) in proof.path.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_hash(out, h);
    }
    out.push_str("],\"tree_size\":");
    push_u64(out, proof.tree_size.0);
    out.push('}');
}

/// The latest checkpoint serialized, and its JSON text.
type LastCheckpoint = Option<(Arc<SignedCheckpoint>, Arc<str>)>;

/// Answers of one batch, and of the many single submissions of one batch,
/// carry the same checkpoint: it is serialized once.
static LAST_CHECKPOINT: Mutex<LastCheckpoint> = Mutex::new(None);

/// A checkpoint's JSON object as text.
pub fn checkpoint_text(cp: &Arc<SignedCheckpoint>) -> Arc<str> {
    let mut last = LAST_CHECKPOINT.lock().unwrap_or_else(|e| e.into_inner());
    match &*last {
        Some((seen, text)) if Arc::ptr_eq(seen, cp) => text.clone(),
        _ => {
            let text: Arc<str> = checkpoint_json(cp).to_string().into();
            *last = Some((cp.clone(), text.clone()));
            text
        }
    }
}

/// Appends the acknowledgement of `a`; `checkpoint` is
/// [`checkpoint_text`] of `a.checkpoint`.
pub fn push_accepted(out: &mut String, a: &Accepted, checkpoint: &str) {
    out.push_str("{\"checkpoint\":");
    out.push_str(checkpoint);
    out.push_str(",\"duplicate\":");
    out.push_str(if a.duplicate { "true" } else { "false" });
    out.push_str(",\"inclusion_proof\":");
    push_proof(out, &a.proof);
    out.push_str(",\"index\":");
    push_u64(out, a.index.0);
    out.push_str(",\"leaf_hash\":");
    push_hash(out, &a.leaf_hash);
    out.push('}');
}

/// The acknowledgement of one submission.
pub fn accepted(a: &Accepted) -> String {
    let mut out = String::with_capacity(1024);
    push_accepted(&mut out, a, &checkpoint_text(&a.checkpoint));
    out
}

/// One entry: index, exact leaf bytes (base64), leaf hash and proof.
pub fn entry(index: LeafIndex, leaf: &[u8], leaf_hash: &Hash, proof: &InclusionProof) -> String {
    let mut out = String::with_capacity(leaf.len() * 4 / 3 + 1024);
    out.push_str("{\"inclusion_proof\":");
    push_proof(&mut out, proof);
    out.push_str(",\"index\":");
    push_u64(&mut out, index.0);
    out.push_str(",\"leaf\":\"");
    STANDARD.encode_string(leaf, &mut out);
    out.push_str("\",\"leaf_hash\":");
    push_hash(&mut out, leaf_hash);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use gatelog_core::keys::{SignatureType, SignerKey};
    use gatelog_core::{Checkpoint, Origin, TreeHead, TreeSize};

    use super::*;
    use crate::http::json::{accepted_json, entry_json};

    fn signed() -> Arc<SignedCheckpoint> {
        let key = SignerKey::from_seed("j.example/log", SignatureType::Ed25519, &[3; 32]).unwrap();
        let cp = Checkpoint::new(
            Origin::new("j.example/log").unwrap(),
            TreeHead {
                size: TreeSize(12),
                root: Hash::sha256(b"root"),
            },
        );
        Arc::new(SignedCheckpoint {
            note: cp.sign(&key).unwrap(),
            checkpoint: cp,
        })
    }

    fn proof(n: usize) -> InclusionProof {
        InclusionProof {
            index: LeafIndex(7),
            tree_size: TreeSize(12),
            path: (0..n).map(|i| Hash::sha256(&[i as u8])).collect(),
        }
    }

    #[test]
    fn acknowledgements_match_the_serde_json_answer() {
        for (duplicate, n) in [(false, 4), (true, 0), (false, 1)] {
            let a = Accepted {
                index: LeafIndex(7),
                leaf_hash: Hash::sha256(b"leaf"),
                proof: proof(n),
                checkpoint: signed(),
                duplicate,
            };
            assert_eq!(accepted(&a), accepted_json(&a).to_string());
        }
    }

    #[test]
    fn entries_match_the_serde_json_answer() {
        let leaf = br#"{"v":1,"logged_at":5,"prev":null,"envelope":{}}"#;
        let hash = Hash::sha256(leaf);
        for n in [0, 3] {
            let p = proof(n);
            assert_eq!(
                entry(LeafIndex(7), leaf, &hash, &p),
                entry_json(LeafIndex(7), leaf, hash, &p).to_string()
            );
        }
    }
}
