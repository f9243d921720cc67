//! # gatelog-monitor
//!
//! Follows a gatelog log through the c2sp.org/tlog-tiles API, verifies
//! every checkpoint and entry against the tree, and runs detection rules
//! over the events: publishes without approval, digests switched between
//! stage, approval and publish, approvals from unknown or brand-new
//! devices, by non-maintainers, with weak second factors or bad device
//! signatures, rubber-stamp approvals, worm-like publisher bursts,
//! unexpected CI identities, weakened package policies, and the log's own
//! misbehaviour (bad signatures, forks, entries that do not match the
//! tree, broken `prev` chains, `logged_at` going backwards).
//!
//! Modules, in the order data flows:
//! - [`fetch`]: HTTP reads of checkpoints, tiles and entry bundles;
//! - [`follow`]: verification (consistency, entries against the tree),
//!   chunked processing and commits;
//! - [`rules`] over the [`index`]: the detection rules and what they
//!   remember;
//! - [`state`]: the RocksDB state (cursor, records, alert outbox);
//! - [`alert`] and [`sinks`]: the `gatelog-alert/v1` form and delivery;
//! - [`cli`], [`run`] and [`metrics`]: the binary.
//!
//! The per-release rules are `gatelog_core::policy`'s, the judge
//! `gatelog verify` uses, applied to each stage, approval and publish as
//! it is logged ([`rules`]); the rules of the monitor's own need history
//! across releases, the clocks or the log's behaviour.
//!
//! Out of scope: judging a finished release for installation (that is
//! `gatelog verify`), and writing to the log.

pub mod alert;
pub mod cli;
pub mod fetch;
pub mod follow;
pub mod index;
pub mod metrics;
pub mod rules;
pub mod run;
pub mod sinks;
pub mod state;
