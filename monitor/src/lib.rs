//! # gatelog-monitor
//!
//! Follows a gatelog log, verifies every checkpoint and entry against the
//! tree, and runs detection rules over the events (publishes without
//! approval, unusual approvals, worm-like bursts, log misbehaviour).
//!
//! This crate is a placeholder until the monitor lands; the shared
//! verification it will use lives in `gatelog-core`.
