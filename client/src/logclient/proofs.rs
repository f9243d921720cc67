//! Many inclusion proofs in one request (`POST /v1/proofs/inclusion`), each
//! verified here as the single-proof read verifies one. The answer is read
//! into borrowed fields, not a JSON tree: a thousand entries' worth of
//! maps and strings cost more than checking their proofs.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_core::merkle::verify_inclusion;
use gatelog_core::wire::MAX_PROOF_INDEXES;
use gatelog_core::{Hash, InclusionProof, LeafIndex, TreeHead, leaf_hash};
use serde::Deserialize;

use super::{Ack, ClientError, LogClient, malformed};

#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(borrow)]
    entries: Vec<EntryRef<'a>>,
    tree_size: u64,
}

#[derive(Deserialize)]
struct EntryRef<'a> {
    index: u64,
    #[serde(borrow)]
    leaf: Cow<'a, str>,
    #[serde(borrow)]
    inclusion_proof: ProofRef<'a>,
}

#[derive(Deserialize)]
struct ProofRef<'a> {
    #[serde(borrow)]
    path: Vec<Cow<'a, str>>,
}

impl LogClient {
    /// Fetches entries `indexes` (at most [`MAX_PROOF_INDEXES`]) with their
    /// inclusion proofs at `head`'s size in one request and verifies each
    /// against `head`: the leaf hash computed from the leaf bytes (never
    /// taken from the answer), the proof to `head`'s root, the entries the
    /// ones asked for, in order.
    pub async fn verified_inclusions_at(
        &self,
        indexes: &[u64],
        head: &TreeHead,
    ) -> Result<Vec<Ack>, ClientError> {
        if indexes.len() > MAX_PROOF_INDEXES {
            return Err(ClientError::Malformed(format!(
                "at most {MAX_PROOF_INDEXES} proofs per request"
            )));
        }
        let body = serde_json::json!({"tree_size": head.size.0, "indexes": indexes});
        let resp = self
            .http
            .post(format!("{}/v1/proofs/inclusion", self.base))
            .json(&body)
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        let bytes = Self::answer(resp).await?;
        let answer: Answer =
            serde_json::from_slice(&bytes).map_err(|e| ClientError::Malformed(e.to_string()))?;
        if answer.tree_size != head.size.0 {
            return Err(ClientError::Verification(
                "the log answered at another tree size".into(),
            ));
        }
        if answer.entries.len() != indexes.len() {
            return Err(ClientError::Verification(format!(
                "asked for {} entries, the log answered {}",
                indexes.len(),
                answer.entries.len()
            )));
        }
        let mut leaf = Vec::new();
        let mut acks = Vec::with_capacity(indexes.len());
        for (e, &asked) in answer.entries.iter().zip(indexes) {
            if e.index != asked {
                return Err(ClientError::Verification(
                    "the log answered with another entry".into(),
                ));
            }
            leaf.clear();
            STANDARD
                .decode_vec(e.leaf.as_bytes(), &mut leaf)
                .map_err(|_| malformed("leaf base64"))?;
            let hash = leaf_hash(&leaf);
            let proof = InclusionProof {
                index: LeafIndex(e.index),
                tree_size: head.size,
                path: e
                    .inclusion_proof
                    .path
                    .iter()
                    .map(|h| Hash::from_hex(h).ok_or_else(|| malformed("proof hash")))
                    .collect::<Result<_, _>>()?,
            };
            verify_inclusion(&hash, &proof, head)
                .map_err(|e| ClientError::Verification(e.to_string()))?;
            acks.push(Ack {
                index: LeafIndex(e.index),
                leaf_hash: hash,
                head: *head,
            });
        }
        Ok(acks)
    }
}
