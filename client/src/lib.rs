//! # gatelog-client
//!
//! The `gatelog` command line and the library behind it. Today it makes
//! keys ([`keygen`]); verifying lockfiles against a log, fetching and
//! checking checkpoints and proofs, and submitting events build on it.

pub mod keygen;
