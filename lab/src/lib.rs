//! # gatelog-lab
//!
//! What gatelog uses to show and measure itself, kept out of the product
//! crates (core, log server, client, monitor, registry, witness hold only
//! what a user runs in production):
//! - [`sample`]: a simulated registry with deterministic keys, the scripted
//!   story of an npm organisation (ordinary releases, then the attacks of
//!   2026) and an in-memory static log of it, for tests, the demo and the
//!   load tools;
//! - [`demo`]: `gatelog-lab demo` (`make demo`), a guided run of a local log
//!   and monitor through that story, with `gatelog verify` on an honest and
//!   an attacked lockfile, then the real npm CLI through `gatelog-registry`;
//! - [`hammer`]: `gatelog-lab hammer`, a load generator with verifying
//!   readers, for benchmarks, the soak and `gatelog-bulk-load`'s workload;
//! - [`cli`]: the `gatelog-lab` command line.

pub mod cli;
pub mod demo;
pub mod hammer;
pub mod sample;
