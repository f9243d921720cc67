//! The facts the rules remember between entries, one record per key
//! (every key names the registry). Records are stored as JSON in the state
//! database; their fields are the smallest set the rules need, not copies
//! of events. Times are the rules' recency clock (the log's `logged_at`
//! unless configured otherwise), in ms since the epoch.

use gatelog_core::Event;
use gatelog_core::policy::LoggedEvent;
use gatelog_core::{Hash, LeafIndex};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A logged event kept whole, for the shared judge
/// ([`gatelog_core::policy`]) to read: the events of one release and the
/// history of one device are few.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct KeptEvent {
    /// Leaf index.
    pub index: u64,
    /// Leaf hash.
    pub leaf_hash: Hash,
    /// The event.
    pub event: Event,
}

impl KeptEvent {
    /// The event as the judge takes it.
    pub fn logged(&self) -> LoggedEvent {
        LoggedEvent {
            index: LeafIndex(self.index),
            leaf_hash: self.leaf_hash,
            event: self.event.clone(),
        }
    }
}

/// Per registry and package: its chain head, policy, maintainers and device history.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct PackageRecord {
    /// Leaf index of the package's latest event (what the next `prev`
    /// must name).
    pub last: Option<u64>,
    /// Whether the last logged `policy-change` requires staging.
    pub staging_required: bool,
    /// Trusted publishers of the last logged `policy-change`.
    pub trusted: Vec<TrustedRecord>,
    /// Whether any `policy-change` was logged.
    pub has_policy: bool,
    /// Current maintainers: name → (added at, ms; entry;
    /// whether the package had been published before).
    pub maintainers: BTreeMap<String, (i64, u64, bool)>,
    /// Whether any version was published.
    pub published: bool,
    /// Whether any `maintainer-add` was logged (otherwise maintainers are
    /// unknown and `not-a-maintainer` cannot judge).
    pub maintainers_known: bool,
    /// Approvals seen on the package.
    pub approvals: u64,
    /// `maintainer\0device` pairs that approved this package before.
    pub devices_used: BTreeSet<String>,
}

/// A trusted publisher as the package's policy logged it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TrustedRecord {
    /// OIDC issuer.
    pub issuer: String,
    /// Repository.
    pub repository: String,
    /// Workflow.
    pub workflow: String,
    /// Whether it may publish without staging (`mode: publish`).
    pub publish_mode: bool,
}

/// Per registry and `package@version`: its stages, approvals and publishes.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct VersionRecord {
    /// `stage` events.
    pub stages: Vec<StageFact>,
    /// `approve` events.
    pub approvals: Vec<ApprovalFact>,
    /// `publish` events: (entry, integrity).
    pub publishes: Vec<(u64, String)>,
    /// The `stage` and `approve` events, whole (what a publish is judged
    /// against).
    #[serde(default)]
    pub events: Vec<KeptEvent>,
}

/// What the rules need of a `stage`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct StageFact {
    /// Leaf index.
    pub index: u64,
    /// Leaf hash (hex): device signatures sign it.
    pub leaf_hash: String,
    /// SRI digest.
    pub integrity: String,
    /// When it was logged, ms since the epoch.
    pub time_ms: i64,
}

/// What the rules need of an `approve`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ApprovalFact {
    /// Leaf index.
    pub index: u64,
    /// SRI digest.
    pub integrity: String,
    /// The stage it references.
    pub stage: u64,
}

/// Per maintainer device (`registry\0maintainer\0device`).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// The current registration: time ms, entry, public key hex.
    pub registered: Option<(i64, u64, Option<String>)>,
    /// The revocation after the registration, if any: (time ms, entry).
    pub revoked: Option<(i64, u64)>,
    /// The latest `device-register` and the `device-revoke`s after it,
    /// whole (or the revokes alone, if never registered).
    #[serde(default)]
    pub events: Vec<KeptEvent>,
}

/// Per registry and publisher identity: its recent stages, for burst detection.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct PublisherRecord {
    /// (time ms, package, entry) within the burst window, oldest
    /// first.
    pub recent: VecDeque<(i64, String, u64)>,
    /// When a burst alert last fired (time ms): one alert per burst.
    pub alerted_at: Option<i64>,
}

/// Log-wide facts: what the `logged_at` check and progress reports need.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct LogRecord {
    /// The largest `logged_at` seen so far.
    pub last_logged_at: u64,
    /// Entries processed.
    pub entries: u64,
}
