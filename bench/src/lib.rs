//! # gatelog-bench
//!
//! Benchmarks of gatelog, kept out of the product crates so that the peer
//! crates they compare against never enter a product build.
//!
//! In scope:
//! - [`level_store`]: an in-memory hash store of every complete subtree in
//!   flat per-level vectors, built in parallel from synthetic leaves, so
//!   proofs at 1 K, 1 M and 100 M leaves are built from real stored hashes
//!   and verified against a real root;
//! - [`fixtures`]: the inputs the microbenchmarks share — sample envelopes
//!   and leaves, checkpoints, cosignatures, npm lockfiles — and the
//!   validation steps the server and the monitor run on them;
//! - [`run`]: which tree sizes a run covers, and the record of how long
//!   each setup took;
//! - [`durable`]: durable append + inclusion proofs on the server's RocksDB
//!   store, the counterpart of `scripts/bench-pymerkle.py`
//!   (`gatelog-durable-bench`).
//!
//! The criterion benches are `benches/micro.rs` (gatelog's core) and
//! `benches/peers.rs` (ct-merkle, rs_merkle, and SHA-256 / Ed25519 as the
//! floor of this machine); `scripts/bench-micro.sh` runs them with bounded
//! time and writes the summaries. Nothing here asserts a speed.

pub mod durable;
pub mod fixtures;
pub mod level_store;
pub mod run;

pub use level_store::{LevelStore, synthetic_leaf};
pub use run::{Size, setup_done, sizes};
