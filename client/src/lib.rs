//! # gatelog-client
//!
//! The `gatelog` command line and the library behind it:
//! - [`keygen`]: new keys for logs, registries, devices and witnesses;
//! - [`logclient`]: an HTTP client of one log that verifies everything it
//!   receives (checkpoint signatures, leaf hashes, inclusion and
//!   consistency proofs);
//! - [`state`]: the last verified checkpoint per log (fork detection);
//! - [`hammer`]: a load generator with verifying readers, for benchmarks.
//!
//! Lockfile verification (`gatelog verify`) builds on [`logclient`].

pub mod hammer;
pub mod keygen;
pub mod logclient;
pub mod state;
