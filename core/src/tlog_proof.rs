//! Offline proofs per c2sp.org/tlog-proof (`c2sp.org/tlog-proof@v1`): a
//! checkpoint, an entry index, its inclusion proof and optional `extra`
//! data. gatelog puts the entry's leaf bytes in `extra`, so a proof needs
//! nothing but the log's key to check: the verifier hashes the leaf itself.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::checkpoint::{self, CheckpointError, SignedCheckpoint};
use crate::hash::{Hash, leaf_hash};
use crate::keys::VerifierKey;
use crate::merkle::{InclusionProof, verify_inclusion};
use crate::tree::LeafIndex;

/// The first line of every proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Largest proof accepted (leaf up to 64 KiB in base64, 64 hashes, a note).
pub const MAX_PROOF_SIZE: usize = 512 * 1024;

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofFormatError {
    /// Larger than [`MAX_PROOF_SIZE`].
    #[error("proof is larger than {MAX_PROOF_SIZE} bytes")]
    TooLarge,
    /// Not `c2sp.org/tlog-proof@v1`.
    #[error("not a c2sp.org/tlog-proof@v1 proof")]
    BadHeader,
    /// A line is malformed.
    #[error("malformed proof line {line}: {why}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// The embedded checkpoint is bad or not signed by the log.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The inclusion proof does not lead to the checkpoint's root.
    #[error("inclusion proof does not verify: {0}")]
    Inclusion(String),
    /// The proof carries no leaf in `extra`.
    #[error("proof has no extra data (gatelog puts the leaf there)")]
    NoLeaf,
}

/// A parsed proof (the checkpoint not yet verified).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque extra data; in gatelog, the leaf bytes.
    pub extra: Option<Vec<u8>>,
    /// The entry's index.
    pub index: LeafIndex,
    /// Inclusion proof hashes, leaf's sibling first.
    pub path: Vec<Hash>,
    /// The checkpoint note, verbatim.
    pub checkpoint: Vec<u8>,
}

impl TlogProof {
    /// The textual form.
    pub fn to_text(&self) -> String {
        let mut s = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            s += &format!("extra {}\n", STANDARD.encode(extra));
        }
        s += &format!("index {}\n", self.index);
        for h in &self.path {
            s += &h.to_base64();
            s.push('\n');
        }
        s.push('\n');
        s += &String::from_utf8_lossy(&self.checkpoint);
        s
    }

    /// Parses the textual form.
    pub fn parse(text: &[u8]) -> Result<TlogProof, ProofFormatError> {
        if text.len() > MAX_PROOF_SIZE {
            return Err(ProofFormatError::TooLarge);
        }
        let text = std::str::from_utf8(text).map_err(|_| ProofFormatError::BadLine {
            line: 0,
            why: "not UTF-8",
        })?;
        let (head, checkpoint) = text.split_once("\n\n").ok_or(ProofFormatError::BadLine {
            line: 0,
            why: "no empty line before the checkpoint",
        })?;
        let mut lines = head
            .split('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .peekable();
        if lines.next().map(|(_, l)| l) != Some(HEADER) {
            return Err(ProofFormatError::BadHeader);
        }
        let mut extra = None;
        if let Some((n, l)) = lines.peek().copied()
            && let Some(b64) = l.strip_prefix("extra ")
        {
            extra = Some(
                STANDARD
                    .decode(b64)
                    .map_err(|_| ProofFormatError::BadLine {
                        line: n,
                        why: "extra is not base64",
                    })?,
            );
            lines.next();
        }
        let (n, index_line) = lines.next().ok_or(ProofFormatError::BadLine {
            line: 2,
            why: "missing index line",
        })?;
        let digits = index_line
            .strip_prefix("index ")
            .ok_or(ProofFormatError::BadLine {
                line: n,
                why: "expected `index <n>`",
            })?;
        let canonical = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        let index =
            digits
                .parse::<u64>()
                .ok()
                .filter(|_| canonical)
                .ok_or(ProofFormatError::BadLine {
                    line: n,
                    why: "index is not a canonical decimal",
                })?;
        let mut path = Vec::new();
        for (n, l) in lines {
            if path.len() >= 64 {
                return Err(ProofFormatError::BadLine {
                    line: n,
                    why: "more than 64 proof hashes",
                });
            }
            path.push(Hash::from_base64(l).ok_or(ProofFormatError::BadLine {
                line: n,
                why: "not a base64 SHA-256 hash",
            })?);
        }
        Ok(TlogProof {
            extra,
            index: LeafIndex(index),
            path,
            checkpoint: checkpoint.as_bytes().to_vec(),
        })
    }

    /// Verifies the proof with the log's key, hashing the leaf carried in
    /// `extra`; returns the verified checkpoint and the leaf bytes.
    pub fn verify(
        &self,
        log_key: &VerifierKey,
    ) -> Result<(SignedCheckpoint, &[u8]), ProofFormatError> {
        let cp = checkpoint::open(&self.checkpoint, log_key)?;
        let leaf = self.extra.as_deref().ok_or(ProofFormatError::NoLeaf)?;
        let proof = InclusionProof {
            index: self.index,
            tree_size: cp.head().size,
            path: self.path.clone(),
        };
        verify_inclusion(&leaf_hash(leaf), &proof, &cp.head())
            .map_err(|e| ProofFormatError::Inclusion(e.to_string()))?;
        Ok((cp, leaf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{Checkpoint, Origin};
    use crate::compact::CompactRange;
    use crate::keys::{SignatureType, SignerKey};
    use crate::merkle::{inclusion_proof, inclusion_proof_nodes};

    fn proof() -> (TlogProof, VerifierKey) {
        let key =
            SignerKey::from_seed("proof.example/log", SignatureType::Ed25519, &[3; 32]).unwrap();
        let leaves: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 10]).collect();
        let mut range = CompactRange::new();
        let mut nodes = std::collections::HashMap::new();
        for l in &leaves {
            nodes.extend(range.append(leaf_hash(l)));
        }
        let ids = inclusion_proof_nodes(LeafIndex(3), range.size()).unwrap();
        let hashes: Vec<Hash> = ids.iter().map(|id| nodes[id]).collect();
        let p = inclusion_proof(LeafIndex(3), range.size(), &hashes).unwrap();
        let cp = Checkpoint::new(Origin::new("proof.example/log").unwrap(), range.head())
            .sign(&key)
            .unwrap();
        (
            TlogProof {
                extra: Some(leaves[3].clone()),
                index: LeafIndex(3),
                path: p.path,
                checkpoint: cp.to_bytes(),
            },
            key.verifier(),
        )
    }

    #[test]
    fn round_trips_and_verifies() {
        let (p, key) = proof();
        let text = p.to_text();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "));
        let parsed = TlogProof::parse(text.as_bytes()).unwrap();
        assert_eq!(parsed, p);
        let (_, leaf) = parsed.verify(&key).unwrap();
        assert_eq!(leaf, &[3u8; 10]);
    }

    #[test]
    fn any_changed_byte_fails() {
        let (p, key) = proof();
        let text = p.to_text().into_bytes();
        for i in 0..text.len() {
            let mut bad = text.clone();
            bad[i] ^= 0x01;
            let ok = TlogProof::parse(&bad)
                .ok()
                .and_then(|p| p.verify(&key).ok().map(|_| ()));
            assert!(ok.is_none(), "flipping byte {i} still verifies");
        }
    }

    #[test]
    fn malformed_proofs_are_refused() {
        for bad in [
            "",
            "c2sp.org/tlog-proof@v2\nindex 0\n\nx",
            "c2sp.org/tlog-proof@v1\nindex 01\n\nx",
            "c2sp.org/tlog-proof@v1\nindex -1\n\nx",
            "c2sp.org/tlog-proof@v1\nextra !!\nindex 0\n\nx",
            "c2sp.org/tlog-proof@v1\nindex 0\nnot-a-hash\n\nx",
            "c2sp.org/tlog-proof@v1\nindex 0",
        ] {
            assert!(TlogProof::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
