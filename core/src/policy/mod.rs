//! Release policy (the rules of docs/client.md): whether one
//! `package@version` is acceptable, judged from the events the log holds.
//! The install-time client (`gatelog verify`) and the monitor share it, so
//! both reach the same verdict from the same facts.
//!
//! [`Policy`] is what a user configures (loaded from TOML by the client; it
//! deserializes with serde, every field optional, unknown fields refused,
//! its [`Default`] the strict default). [`evaluate`] takes the events of a
//! release — each a [`LoggedEvent`] the caller has already proven to be in
//! the log and signed by an accepted registry — and returns a [`Verdict`]:
//! a list of [`Finding`]s, each naming the [`Rule`] broken, a message and
//! the leaf indexes that prove it. No finding means the release passes.
//!
//! What is judged: the **last** `publish` of the version (by leaf index;
//! earlier publishes are superseded republish attempts), the `approve` it
//! references, the `stage` entries it and the approval reference, the
//! approving device's `device-register` / `device-revoke` history, and any
//! `unpublish` of the version. Events of other packages or versions are
//! ignored, except device events, which belong to a maintainer rather than
//! a package. Nothing here panics, whatever the input: missing or dangling
//! references, duplicates and contradictions become findings.
//!
//! The same checks run one step at a time ([`judge_stage`],
//! [`judge_approval`], [`judge_publish`]) for the monitor, which judges
//! each entry of a release as it is logged: one judge, two callers.
//!
//! Out of scope: proving inclusion and submitter signatures (the caller
//! does that before building [`LoggedEvent`]s), fetching events, clocks and
//! time-based heuristics (approval speed, device age: monitor rules).

mod config;
mod evaluate;
mod steps;
mod verdict;

pub use config::{Policy, TrustedPublisherRule, matches};
pub use evaluate::evaluate;
pub use steps::{DeviceSignatureCheck, judge_approval, judge_publish, judge_stage};
pub use verdict::{Finding, LoggedEvent, Rule, Verdict};
