//! Compact bundles (`gatelog-bundles/compact-v1`, docs/formats.md): the
//! release bundles of many releases against one checkpoint, each leaf
//! byte for byte and once, one multi-leaf proof ([`crate::multiproof`])
//! for all of them, and each release naming its leaves by position. A
//! device registration shared by a thousand releases is sent once.
//!
//! The format is binary, big-endian and strict: every length is checked
//! against the bytes left before anything is allocated, and everything a
//! verifier could be misled by (order, duplicates, unreferenced leaves,
//! trailing bytes, a proof of the wrong length) is refused while parsing.
//! Nothing here is trusted: the caller still opens the checkpoint, hashes
//! each leaf and checks the root the proof folds to.

use crate::error::ProofError;
use crate::hash::{HASH_SIZE, Hash, leaf_hash};
use crate::multiproof::{Folded, fold_multiproof, multiproof_len};
use crate::tree::{LeafIndex, TreeSize};
use crate::wire::MAX_BUNDLE_RELEASES;

/// The first bytes of every compact answer.
pub const MAGIC: &[u8] = b"gatelog-bundles/compact-v1\n";
/// The media type of a compact answer (`Accept` and `Content-Type`).
pub const CONTENT_TYPE: &str = "application/vnd.gatelog.bundles.compact-v1";
/// Largest checkpoint note in an answer (with its cosignatures).
pub const MAX_CHECKPOINT: usize = 64 * 1024;

/// One release's bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactRelease {
    /// The registry host, as the log names it.
    pub registry: String,
    /// The package.
    pub package: String,
    /// The version.
    pub version: String,
    /// What the bundle holds of the package's `prev` chain.
    pub chain: ChainState,
    /// Positions in [`CompactAnswer::leaves`], strictly ascending.
    pub entries: Vec<u32>,
}

/// What a bundle holds of its package's `prev` chain. Encoded as one byte
/// of three one-hot values, so no single changed bit turns one into another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChainState {
    /// The whole chain from the version's first event to the package's
    /// latest entry at the checkpoint, this one (byte `0x01`, then the
    /// index).
    Head(LeafIndex),
    /// The package has no entry at the checkpoint (byte `0x02`).
    Empty,
    /// The log capped the chain and sent only its first part (byte `0x04`).
    Capped,
}

/// A compact answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompactAnswer {
    /// The tree size every proof is for (the checkpoint's).
    pub tree_size: TreeSize,
    /// The checkpoint note, verbatim.
    pub checkpoint: Vec<u8>,
    /// The leaves, by strictly ascending index, byte for byte.
    pub leaves: Vec<(LeafIndex, Vec<u8>)>,
    /// The multi-leaf proof of all the leaves at `tree_size`.
    pub proof: Vec<Hash>,
    /// The releases, in the order first asked.
    pub releases: Vec<CompactRelease>,
}

/// Why bytes are not a compact answer: what, and at which byte offset.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("compact bundles, byte {at}: {what}")]
pub struct CompactError {
    /// Offset from the start of the bytes parsed.
    pub at: usize,
    /// What is wrong there.
    pub what: String,
}

impl CompactAnswer {
    /// The answer's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let leaf_bytes: usize = self.leaves.iter().map(|(_, l)| l.len() + 10).sum();
        let mut out = Vec::with_capacity(
            MAGIC.len() + 16 + self.checkpoint.len() + leaf_bytes + HASH_SIZE * self.proof.len(),
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.tree_size.0.to_be_bytes());
        put_len32(&mut out, self.checkpoint.len());
        out.extend_from_slice(&self.checkpoint);
        put_len32(&mut out, self.leaves.len());
        for (index, leaf) in &self.leaves {
            out.extend_from_slice(&index.0.to_be_bytes());
            put_len16(&mut out, leaf.len());
            out.extend_from_slice(leaf);
        }
        put_len32(&mut out, self.proof.len());
        for h in &self.proof {
            out.extend_from_slice(h.as_bytes());
        }
        put_len32(&mut out, self.releases.len());
        for r in &self.releases {
            for text in [&r.registry, &r.package, &r.version] {
                put_len16(&mut out, text.len());
                out.extend_from_slice(text.as_bytes());
            }
            match r.chain {
                ChainState::Head(head) => {
                    out.push(1);
                    out.extend_from_slice(&head.0.to_be_bytes());
                }
                ChainState::Empty => out.push(2),
                ChainState::Capped => out.push(4),
            }
            put_len32(&mut out, r.entries.len());
            for e in &r.entries {
                out.extend_from_slice(&e.to_be_bytes());
            }
        }
        out
    }

    /// Hashes every leaf and folds them with the proof: the root they lead
    /// to and each leaf's own inclusion path. `None` when there are no
    /// leaves (nothing to prove).
    pub fn fold(&self) -> Result<Option<Folded>, ProofError> {
        if self.leaves.is_empty() {
            return Ok(None);
        }
        let hashed: Vec<(LeafIndex, Hash)> = self
            .leaves
            .iter()
            .map(|(i, l)| (*i, leaf_hash(l)))
            .collect();
        fold_multiproof(self.tree_size, &hashed, &self.proof).map(Some)
    }
}

fn put_len32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(
        &u32::try_from(n)
            .expect("counts fit in 32 bits")
            .to_be_bytes(),
    );
}

fn put_len16(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(
        &u16::try_from(n)
            .expect("leaves and names fit in 16 bits")
            .to_be_bytes(),
    );
}

/// Parses exactly one compact answer (a `POST /v1/bundles` body).
pub fn parse(bytes: &[u8]) -> Result<CompactAnswer, CompactError> {
    let mut r = Reader { bytes, at: 0 };
    let answer = r.answer()?;
    if r.at != bytes.len() {
        return Err(r.error("trailing bytes after the answer"));
    }
    Ok(answer)
}

/// Parses one or more compact answers written back to back (an offline
/// bundle of a lockfile asked for in several requests).
pub fn parse_many(bytes: &[u8]) -> Result<Vec<CompactAnswer>, CompactError> {
    let mut r = Reader { bytes, at: 0 };
    let mut out = vec![r.answer()?];
    while r.at < bytes.len() {
        out.push(r.answer()?);
    }
    Ok(out)
}

/// Whether `bytes` start like a compact answer.
pub fn is_compact(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn error(&self, what: impl Into<String>) -> CompactError {
        CompactError {
            at: self.at,
            what: what.into(),
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], CompactError> {
        if self.bytes.len() - self.at < n {
            return Err(self.error(format!("ends inside {what}")));
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn u64(&mut self, what: &str) -> Result<u64, CompactError> {
        Ok(u64::from_be_bytes(
            self.take(8, what)?.try_into().expect("8 bytes"),
        ))
    }

    fn u32(&mut self, what: &str) -> Result<u32, CompactError> {
        Ok(u32::from_be_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }

    fn u16(&mut self, what: &str) -> Result<u16, CompactError> {
        Ok(u16::from_be_bytes(
            self.take(2, what)?.try_into().expect("2 bytes"),
        ))
    }

    /// A count of items of at least `min` bytes each, refused before any
    /// allocation when the bytes left cannot hold them.
    fn count(&mut self, min: usize, what: &str) -> Result<usize, CompactError> {
        let n = self.u32(what)? as usize;
        if n.saturating_mul(min) > self.bytes.len() - self.at {
            return Err(self.error(format!("{n} {what} cannot fit in the bytes left")));
        }
        Ok(n)
    }

    fn text(&mut self, what: &str) -> Result<String, CompactError> {
        let n = self.u16(what)? as usize;
        let start = self.at;
        let raw = self.take(n, what)?;
        match std::str::from_utf8(raw) {
            Ok(s) if !s.is_empty() => Ok(s.to_owned()),
            _ => Err(CompactError {
                at: start,
                what: format!("{what} is empty or not UTF-8"),
            }),
        }
    }

    fn answer(&mut self) -> Result<CompactAnswer, CompactError> {
        if !self.bytes[self.at..].starts_with(MAGIC) {
            return Err(self.error("not a gatelog-bundles/compact-v1 answer"));
        }
        self.at += MAGIC.len();
        let tree_size = TreeSize(self.u64("the tree size")?);
        let n = self.u32("the checkpoint")? as usize;
        if n == 0 || n > MAX_CHECKPOINT {
            return Err(self.error(format!("a checkpoint of {n} bytes (1 to {MAX_CHECKPOINT})")));
        }
        let checkpoint = self.take(n, "the checkpoint")?.to_vec();
        let count = self.count(10, "leaves")?;
        let mut leaves: Vec<(LeafIndex, Vec<u8>)> = Vec::with_capacity(count);
        for _ in 0..count {
            let index = LeafIndex(self.u64("a leaf index")?);
            if !tree_size.contains(index) || leaves.last().is_some_and(|(last, _)| *last >= index) {
                return Err(self.error(format!(
                    "leaf index {index} is not ascending or not in a tree of {tree_size}"
                )));
            }
            let len = self.u16("a leaf length")? as usize;
            if len == 0 {
                return Err(self.error("an empty leaf"));
            }
            leaves.push((index, self.take(len, "a leaf")?.to_vec()));
        }
        let count = self.count(HASH_SIZE, "proof hashes")?;
        let indexes: Vec<LeafIndex> = leaves.iter().map(|(i, _)| *i).collect();
        let want = multiproof_len(&indexes, tree_size).map_err(|e| self.error(e.to_string()))?;
        if count != want {
            return Err(self.error(format!(
                "{count} proof hashes; the leaves need exactly {want}"
            )));
        }
        let mut proof = Vec::with_capacity(count);
        for _ in 0..count {
            proof.push(Hash::from_slice(self.take(HASH_SIZE, "a proof hash")?).expect("32 bytes"));
        }
        let count = self.count(12, "releases")?;
        if count > MAX_BUNDLE_RELEASES {
            return Err(self.error(format!(
                "{count} releases, more than {MAX_BUNDLE_RELEASES} in one answer"
            )));
        }
        let mut used = vec![false; leaves.len()];
        let mut releases = Vec::with_capacity(count);
        for _ in 0..count {
            releases.push(self.release(&mut used)?);
        }
        if let Some(unused) = used.iter().position(|u| !u) {
            return Err(self.error(format!("leaf {} is in no release", leaves[unused].0)));
        }
        Ok(CompactAnswer {
            tree_size,
            checkpoint,
            leaves,
            proof,
            releases,
        })
    }

    fn release(&mut self, used: &mut [bool]) -> Result<CompactRelease, CompactError> {
        let registry = self.text("a registry")?;
        let package = self.text("a package")?;
        let version = self.text("a version")?;
        let chain = match self.take(1, "the chain state")?[0] {
            1 => ChainState::Head(LeafIndex(self.u64("the chain head")?)),
            2 => ChainState::Empty,
            4 => ChainState::Capped,
            other => {
                self.at -= 1;
                return Err(self.error(format!("unknown chain state {other:#04x}")));
            }
        };
        let count = self.count(4, "entries")?;
        let mut entries: Vec<u32> = Vec::with_capacity(count);
        for _ in 0..count {
            let at = self.u32("an entry")?;
            if at as usize >= used.len() || entries.last().is_some_and(|last| *last >= at) {
                return Err(self.error(format!(
                    "entry {at} is not ascending or not one of the {} leaves",
                    used.len()
                )));
            }
            used[at as usize] = true;
            entries.push(at);
        }
        Ok(CompactRelease {
            registry,
            package,
            version,
            chain,
            entries,
        })
    }
}

#[cfg(test)]
mod tests;
