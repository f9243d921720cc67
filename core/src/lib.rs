//! # gatelog-core
//!
//! The pure, synchronous heart of gatelog, shared by the log server, the
//! monitor and the client. It does no I/O: no files, no network, no clock,
//! no randomness. Callers pass in bytes, keys, times and stored hashes and
//! get back values or precise errors. Its dependency tree holds no tokio,
//! axum, rocksdb or reqwest.
//!
//! In scope:
//! - [`hash`], [`tree`], [`merkle`], [`compact`], [`error`]: RFC 6962 / RFC 9162 Merkle
//!   math — leaf and node hashes, tree heads, inclusion and consistency proofs
//!   (split into "which stored hashes are needed" and "build from them"), and
//!   a compact range for incremental appends.
//! - [`multiproof`], [`compact_bundles`]: one inclusion proof for many
//!   leaves, and the compact bundles answer built on it
//!   (`gatelog-bundles/compact-v1`).
//! - [`tile`]: c2sp.org/tlog-tiles coordinates, paths, tile hashes and entry
//!   bundles.
//! - [`keys`], [`note`], [`checkpoint`], [`cosignature`]: c2sp.org/signed-note,
//!   c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature with Ed25519.
//! - [`witness`], [`witness_policy`]: the c2sp.org/tlog-witness request
//!   format, and c2sp.org/tlog-policy files with their k-of-n quorum rule.
//! - [`tlog_proof`]: c2sp.org/tlog-proof offline proofs (leaf bytes in `extra`).
//! - [`dsse`]: DSSE envelopes signed by submitters (registries).
//! - [`ed25519`]: the one strict Ed25519 verification every check calls.
//! - [`event`], [`leaf`]: the gatelog event schema, its validation, the
//!   device-bound approval statement and the leaf wrapper that is logged.
//! - [`evidence`]: errors that prove a log misbehaved, carrying the evidence.
//! - [`policy`]: the release policy, the one judge of per-release rules —
//!   whether a `package@version` is acceptable, judged from its logged
//!   events, whole (`gatelog verify`) or one logged step at a time (the
//!   monitor).
//!
//! Out of scope: storage, HTTP, key files, time sources, and fetching or
//! proving the events a policy judges (the binaries do that).

pub mod bounded;
pub mod checkpoint;
pub mod compact;
pub mod compact_bundles;
pub mod cosignature;
pub mod dsse;
pub mod ed25519;
pub mod error;
pub mod event;
pub mod evidence;
pub mod hash;
mod json;
pub mod keys;
pub mod leaf;
pub mod merkle;
pub mod multiproof;
pub mod note;
pub mod policy;
pub mod tile;
pub mod tlog_proof;
pub mod tree;
pub mod wire;
pub mod witness;
pub mod witness_policy;

#[cfg(test)]
mod testutil;

pub use checkpoint::{Checkpoint, Origin, SignedCheckpoint};
pub use compact::CompactRange;
pub use dsse::{DsseError, Envelope, Keyring};
pub use error::ProofError;
pub use event::{Event, EventBody, EventError, EventType, Integrity, PackageName};
pub use evidence::Misbehaviour;
pub use hash::{Hash, leaf_hash, node_hash};
pub use json::JsonError;
pub use keys::{SignatureType, SignerKey, VerifierKey};
pub use leaf::{Leaf, LeafError};
pub use merkle::{ConsistencyProof, HashReader, InclusionProof};
pub use tile::{EntryTile, Tile, TileError, TilePath};
pub use tree::{LeafIndex, NodeId, TreeHead, TreeSize};
