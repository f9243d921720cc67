//! Many inclusion proofs in one request (`POST /v1/proofs/inclusion`), each
//! verified here as the single-proof read verifies one.

use serde_json::Value;

use super::{Ack, ClientError, LogClient, proven_entry};
use gatelog_core::TreeHead;
use gatelog_core::wire::MAX_PROOF_INDEXES;

impl LogClient {
    /// Fetches entries `indexes` (at most
    /// [`MAX_PROOF_INDEXES`]) with their inclusion proofs at `head`'s size in
    /// one request and verifies each against `head`: leaf hash computed
    /// from the leaf bytes, proof to `head`'s root, the entries the ones
    /// asked for, in order.
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
        let v: Value = serde_json::from_slice(&Self::answer(resp).await?)
            .map_err(|e| ClientError::Malformed(e.to_string()))?;
        if v["tree_size"].as_u64() != Some(head.size.0) {
            return Err(ClientError::Verification(
                "the log answered at another tree size".into(),
            ));
        }
        let entries = v["entries"]
            .as_array()
            .ok_or_else(|| ClientError::Malformed("entries".into()))?;
        if entries.len() != indexes.len() {
            return Err(ClientError::Verification(format!(
                "asked for {} entries, the log answered {}",
                indexes.len(),
                entries.len()
            )));
        }
        entries
            .iter()
            .zip(indexes)
            .map(|(e, &asked)| {
                let (index, _, leaf_hash) = proven_entry(e, head)?;
                if index.0 != asked {
                    return Err(ClientError::Verification(
                        "the log answered with another entry".into(),
                    ));
                }
                Ok(Ack {
                    index,
                    leaf_hash,
                    head: *head,
                })
            })
            .collect()
    }
}
