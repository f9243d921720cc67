//! The checks of c2sp.org/tlog-witness `add-checkpoint`, in the spec's
//! order, and the cosignature (c2sp.org/tlog-cosignature, `cosignature/v1`).

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use gatelog_core::checkpoint::Checkpoint;
use gatelog_core::merkle::verify_consistency;
use gatelog_core::note::{self, NoteError, NoteSignature, NoteVerifier};
use gatelog_core::witness::AddCheckpoint;
use gatelog_core::{ConsistencyProof, Hash, SignerKey, TreeHead, TreeSize, VerifierKey};

use crate::state::{Cosigned, State};

/// Why a checkpoint was not cosigned; each maps to the spec's status.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    /// 400: the request is malformed, or the old size is above the new.
    #[error("{0}")]
    BadRequest(String),
    /// 404: the witness follows no log of this origin.
    #[error("this witness does not follow the log {0:?}")]
    UnknownOrigin(String),
    /// 403: no trusted signature, or a trusted key's signature fails.
    #[error("{0}")]
    Forbidden(String),
    /// 409: the old size is not the size the witness last cosigned.
    #[error("the latest checkpoint this witness cosigned for this log has size {0}")]
    Conflict(u64),
    /// 422: the checkpoint is not consistent with the one cosigned before.
    #[error("{0}")]
    Unprocessable(String),
    /// 500: the state could not be read or written; nothing was cosigned.
    #[error("the witness's storage failed: {0}")]
    Storage(String),
}

/// A witness: its key, the logs it follows and its state.
pub struct Witness {
    key: SignerKey,
    logs: HashMap<String, Vec<VerifierKey>>,
    state: State,
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_secs())
        .max(1)
}

impl Witness {
    /// A witness signing with `key` (a cosignature key) for the logs whose
    /// verifier keys are `logs` (each named after its log's origin).
    pub fn new(key: SignerKey, logs: &[VerifierKey], state: State) -> Witness {
        let mut by_origin: HashMap<String, Vec<VerifierKey>> = HashMap::new();
        for k in logs {
            by_origin
                .entry(k.name().to_owned())
                .or_default()
                .push(k.clone());
        }
        Witness {
            key,
            logs: by_origin,
            state,
        }
    }

    /// The witness's verifier key.
    pub fn verifier(&self) -> VerifierKey {
        self.key.verifier()
    }

    /// The origins of the logs the witness follows.
    pub fn origins(&self) -> Vec<String> {
        self.logs.keys().cloned().collect()
    }

    /// Whether the witness follows `origin`.
    pub fn follows(&self, origin: &str) -> bool {
        self.logs.contains_key(origin)
    }

    /// The latest checkpoint cosigned for `origin`.
    pub fn latest(&self, origin: &str) -> Result<Option<Cosigned>, String> {
        self.state.latest(origin)
    }

    /// Handles one `add-checkpoint` body: the cosignature lines to answer.
    pub fn add_checkpoint(&self, body: &[u8]) -> Result<Vec<NoteSignature>, AddError> {
        let req = AddCheckpoint::parse(body).map_err(|e| AddError::BadRequest(e.to_string()))?;
        let parsed = note::Note::parse(&req.checkpoint)
            .map_err(|e| AddError::BadRequest(format!("checkpoint: {e}")))?;
        let checkpoint = Checkpoint::parse_text(&parsed.text)
            .map_err(|e| AddError::BadRequest(format!("checkpoint: {e}")))?;
        let origin = checkpoint.origin.as_str().to_owned();
        let Some(keys) = self.logs.get(&origin) else {
            return Err(AddError::UnknownOrigin(origin));
        };
        let trusted: Vec<&dyn NoteVerifier> = keys.iter().map(|k| k as &dyn NoteVerifier).collect();
        let verified = note::open(&req.checkpoint, &trusted).map_err(|e| match e {
            NoteError::UnverifiedNote => {
                AddError::Forbidden("the checkpoint carries no signature of the log's key".into())
            }
            other => AddError::Forbidden(format!("checkpoint: {other}")),
        })?;
        let head = checkpoint.head;
        if req.old_size > head.size.0 {
            return Err(AddError::BadRequest(format!(
                "old size {} is larger than the checkpoint's size {}",
                req.old_size, head.size.0
            )));
        }
        if head.size.0 == 0 && head.root != Hash::empty_tree() {
            return Err(AddError::Unprocessable(
                "a checkpoint of size 0 must have the root of the empty tree".into(),
            ));
        }
        // The cosigned note: the text, the log signatures that verified, and
        // this witness's cosignature.
        let cosignature = gatelog_core::cosignature::cosign(&self.key, &parsed.text, now_seconds())
            .ok_or_else(|| AddError::Storage("the witness key cannot cosign".into()))?;
        let mut signatures: Vec<NoteSignature> = verified
            .verified
            .iter()
            .map(|&i| verified.note.signatures[i].clone())
            .collect();
        signatures.push(cosignature.clone());
        let stored = note::Note {
            text: parsed.text.clone(),
            signatures,
        };
        let outcome = self
            .state
            .update(&origin, |current| {
                check_consistency(current, &req, head)?;
                Ok(Cosigned {
                    size: head.size.0,
                    root: head.root,
                    note: stored.to_bytes(),
                })
            })
            .map_err(AddError::Storage)?;
        outcome.map(|_| vec![cosignature])
    }
}

/// The spec's checks of a request against the latest cosigned checkpoint.
fn check_consistency(
    current: Option<&Cosigned>,
    req: &AddCheckpoint,
    head: TreeHead,
) -> Result<(), AddError> {
    let known = current.map_or(0, |c| c.size);
    if req.old_size != known {
        return Err(AddError::Conflict(known));
    }
    let Some(current) = current.filter(|_| req.old_size > 0) else {
        if !req.proof.is_empty() {
            return Err(AddError::Unprocessable(
                "a consistency proof from size 0 must be empty".into(),
            ));
        }
        return Ok(());
    };
    if req.old_size == head.size.0 {
        if current.root != head.root || !req.proof.is_empty() {
            return Err(AddError::Unprocessable(format!(
                "the checkpoint has the size {} this witness cosigned, but another root",
                head.size.0
            )));
        }
        return Ok(());
    }
    let old = TreeHead {
        size: TreeSize(current.size),
        root: current.root,
    };
    let proof = ConsistencyProof {
        old_size: old.size,
        new_size: head.size,
        path: req.proof.clone(),
    };
    verify_consistency(&old, &head, &proof).map_err(|e| {
        AddError::Unprocessable(format!(
            "the checkpoint is not consistent with the one of size {} this witness cosigned: {e}",
            current.size
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatelog_core::keys::SignatureType;
    use gatelog_core::merkle::{consistency_proof, consistency_proof_nodes};
    use gatelog_core::{NodeId, leaf_hash, node_hash};

    const ORIGIN: &str = "witness-test.gatelog.test/log";

    fn leaves(n: u64, salt: u8) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&[salt, i as u8])).collect()
    }

    /// The hash of the complete subtree `id` over `leaves`.
    fn subtree(leaves: &[Hash], id: NodeId) -> Hash {
        if id.level == 0 {
            return leaves[id.index as usize];
        }
        let left = NodeId {
            level: id.level - 1,
            index: id.index * 2,
        };
        let right = NodeId {
            level: id.level - 1,
            index: id.index * 2 + 1,
        };
        node_hash(&subtree(leaves, left), &subtree(leaves, right))
    }

    fn root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Hash::empty_tree(),
            1 => leaves[0],
            n => {
                let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
                node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
            }
        }
    }

    fn log_key() -> SignerKey {
        SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, &[3; 32]).unwrap()
    }

    fn request(leaves: &[Hash], old: u64, key: &SignerKey) -> Vec<u8> {
        let size = leaves.len() as u64;
        let head = TreeHead {
            size: TreeSize(size),
            root: root(leaves),
        };
        let cp = Checkpoint::new(gatelog_core::Origin::new(ORIGIN).unwrap(), head);
        let proof = if old == 0 || old >= size {
            Vec::new()
        } else {
            let nodes = consistency_proof_nodes(TreeSize(old), TreeSize(size)).unwrap();
            let stored: Vec<Hash> = nodes.into_iter().map(|id| subtree(leaves, id)).collect();
            consistency_proof(TreeSize(old), TreeSize(size), &stored)
                .unwrap()
                .path
        };
        AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: cp.sign(key).unwrap().to_bytes(),
        }
        .to_bytes()
    }

    fn witness(dir: &std::path::Path) -> Witness {
        let key =
            SignerKey::from_seed("w.example/w1", SignatureType::Cosignature, &[9; 32]).unwrap();
        Witness::new(key, &[log_key().verifier()], State::open(dir).unwrap())
    }

    #[test]
    fn cosigns_only_consistent_checkpoints_and_remembers_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let tree = leaves(7, 1);
        {
            let w = witness(dir.path());
            let sigs = w
                .add_checkpoint(&request(&tree[..3], 0, &log_key()))
                .unwrap();
            let verifier =
                gatelog_core::cosignature::CosignatureVerifier::new(w.verifier()).unwrap();
            let text = Checkpoint::new(
                gatelog_core::Origin::new(ORIGIN).unwrap(),
                TreeHead {
                    size: TreeSize(3),
                    root: root(&tree[..3]),
                },
            )
            .to_text();
            assert!(
                verifier
                    .verified_timestamp(&text, &sigs[0].signature)
                    .is_some()
            );
            // A stale old size is a conflict naming the known size.
            assert!(matches!(
                w.add_checkpoint(&request(&tree, 0, &log_key())),
                Err(AddError::Conflict(3))
            ));
        }
        // After a restart the state holds: a fork of size 7 is refused...
        let w = witness(dir.path());
        let mut forked = tree.clone();
        forked[1] = leaf_hash(b"rewritten");
        assert!(matches!(
            w.add_checkpoint(&request(&forked, 3, &log_key())),
            Err(AddError::Unprocessable(_))
        ));
        // ...and the same size with another root too.
        assert!(matches!(
            w.add_checkpoint(&request(&forked[..3], 3, &log_key())),
            Err(AddError::Unprocessable(_))
        ));
        // The honest continuation is cosigned.
        assert!(w.add_checkpoint(&request(&tree, 3, &log_key())).is_ok());
        assert_eq!(w.latest(ORIGIN).unwrap().unwrap().size, 7);
    }

    #[test]
    fn bad_requests_get_the_specs_answers() {
        let dir = tempfile::tempdir().unwrap();
        let w = witness(dir.path());
        let tree = leaves(4, 2);
        let stranger = SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, &[4; 32]).unwrap();
        assert!(matches!(
            w.add_checkpoint(&request(&tree, 0, &stranger)),
            Err(AddError::Forbidden(_))
        ));
        let other =
            SignerKey::from_seed("other.example/log", SignatureType::Ed25519, &[3; 32]).unwrap();
        let cp = Checkpoint::new(
            gatelog_core::Origin::new("other.example/log").unwrap(),
            TreeHead::empty(),
        );
        let body = AddCheckpoint {
            old_size: 0,
            proof: vec![],
            checkpoint: cp.sign(&other).unwrap().to_bytes(),
        };
        assert!(matches!(
            w.add_checkpoint(&body.to_bytes()),
            Err(AddError::UnknownOrigin(_))
        ));
        assert!(matches!(
            w.add_checkpoint(&request(&tree[..2], 3, &log_key())),
            Err(AddError::BadRequest(_))
        ));
        assert!(matches!(
            w.add_checkpoint(b"old x\n\n"),
            Err(AddError::BadRequest(_))
        ));
        // A proof from size 0 must be empty.
        let mut body = AddCheckpoint::parse(&request(&tree, 0, &log_key())).unwrap();
        body.proof.push(Hash::sha256(b"x"));
        assert!(matches!(
            w.add_checkpoint(&body.to_bytes()),
            Err(AddError::Unprocessable(_))
        ));
        assert!(
            w.latest(ORIGIN).unwrap().is_none(),
            "nothing refused was stored"
        );
    }
}
