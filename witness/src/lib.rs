//! # gatelog-witness
//!
//! A witness per c2sp.org/tlog-witness: logs send it their new checkpoints
//! with a consistency proof from the last checkpoint it cosigned, and it
//! answers with a c2sp.org/tlog-cosignature (`cosignature/v1`, Ed25519,
//! timestamped) only when the new checkpoint is consistent with that one.
//! Clients that require cosignatures from independent witnesses cannot be
//! shown a forked history by a log alone.
//!
//! Modules, each with one job:
//! - [`state`]: the latest cosigned checkpoint of each log, in RocksDB,
//!   replaced only by compare-and-swap and durable before any answer, so a
//!   crash never lets the witness cosign two inconsistent checkpoints.
//! - [`witness`]: the checks of `add-checkpoint`, in the spec's order, and
//!   the cosignature.
//! - [`http`]: the HTTP API (`POST /add-checkpoint`,
//!   `GET /<origin hash>/checkpoint`), with body limits and rate limits.
//! - [`keyfile`]: the witness's cosigning key, created on first start.
//!
//! Out of scope: `sign-subtree` (optional in the spec), following logs by
//! itself (logs push to it), gossip between witnesses.

pub mod http;
pub mod keyfile;
pub mod state;
pub mod witness;
