//! # gatelog-client
//!
//! The `gatelog` command line and the library behind it:
//! - [`files`]: size-capped reads of the files a user names;
//! - [`keygen`]: new keys for logs, registries, devices and witnesses;
//! - [`logclient`]: an HTTP client of one log that verifies everything it
//!   receives (checkpoint signatures, leaf hashes, inclusion and
//!   consistency proofs);
//! - [`lockfile`]: the lockfile parsers (npm, pnpm, Yarn classic and
//!   Berry, Bun);
//! - [`policy_file`]: the TOML policy file (registry keys and the release
//!   policy of `gatelog_core::policy`);
//! - [`registry`]: which registry a lockfile entry or an event belongs to;
//! - [`review`]: `gatelog review`, a staged release checked against the
//!   log and compared with its previous release and its source;
//! - [`approve`]: `gatelog approve`, the device-bound approval;
//! - [`sanitize`]: untrusted text escaped for the terminal;
//! - [`state`]: the last verified checkpoint per log (fork detection);
//! - [`verify`]: `gatelog verify` and its reports (text, JSON, SARIF) and
//!   offline bundles;
//! - [`witnesses`]: the witness policy (c2sp.org/tlog-policy) a run needs;
//! - [`cli`]: the command line; [`exit`]: the exit codes every command
//!   ends with.
//!
//! The demo and the load generator are in `gatelog-lab`, not here.

pub mod approve;
pub mod cli;
pub mod compact;
pub mod exit;
pub mod files;
pub mod keygen;
pub mod lockfile;
pub mod logclient;
pub mod policy_file;
pub mod registry;
pub mod review;
pub mod sanitize;
pub mod state;
pub mod verify;
pub mod witnesses;
