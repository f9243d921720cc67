//! The story: a deterministic, scripted history of a small npm organisation
//! (acme) on the registry `https://registry.demo.test`, used by the demo
//! (which submits each step to a real log server and shows its note to a
//! person) and by golden tests (which write it into a [`StaticLog`]).
//!
//! **Pull-based.** An approval names the leaf index of its stage and its
//! device signs the stage's *leaf hash*, which depends on the `logged_at`
//! the log assigns; so the story hands out one [`Step`] at a time and is
//! told where the log put it ([`Story::logged`]) before it builds the next.
//!
//! ```
//! # use gatelog_lab::sample::{StaticLog, Story};
//! let mut story = Story::new();
//! let mut log = StaticLog::new("demo.log.test/gatelog", 1);
//! while let Some(step) = story.next_step() {
//!     let (index, leaf_hash) = log.append(&step.envelope, step.time as u64 * 1000);
//!     story.logged(index, leaf_hash);
//! }
//! ```
//!
//! Event `time`s (the registry's clock) come from the script alone and never
//! decrease: setup on 2026-03-16, six weeks of ordinary releases from
//! 2026-03-30 to 2026-05-08, attacks from 2026-05-11 to 2026-05-22.
//!
//! # Chapters and the monitor rules they fire
//!
//! Each [`Chapter`] lists in [`Chapter::expected_rules`] exactly the monitor
//! rule ids its events fire with the default thresholds (rules are
//! independent: one event may fire several), in short below; the
//! per-release ones are `gatelog_core::policy`'s, which the monitor and
//! `gatelog verify` share (docs/monitor.md has the full table):
//!
//! | rule id | fires on |
//! | --- | --- |
//! | `publish-without-approval` | a `publish` `via: direct`, or without `stage`/`approve`, of a package whose latest `policy-change` requires staging |
//! | `integrity-mismatch` | a `stage`/`approve`/`publish` whose digest differs from an earlier one of the same `package@version` |
//! | `unknown-device` | an approval by a device with no earlier `device-register`, or revoked since |
//! | `new-device` | an approval by a device registered less than 24 h before it, or that never approved this package before while the package has earlier approvals (unregistered devices included) |
//! | `not-a-maintainer` | an approval by a user not added (or since removed) as a maintainer of the package |
//! | `weak-second-factor` | an approval with `sms` (with `totp` only when configured; never in the story) |
//! | `bad-device-signature` | an approval whose `device_signature` fails against the key its device registered (unregistered devices are not judged) |
//! | `rubber-stamp` | an approval less than 60 s after the stage it approves |
//! | `publisher-burst` | a `stage` that makes one publisher identity (issuer, repository, workflow) stage more than 3 distinct packages within 1 h |
//! | `unexpected-publisher` | a `stage` whose publisher matches none of the package's trusted publishers (the first `policy-change` is the baseline) |
//! | `policy-downgrade` | a `policy-change` that makes staging optional or gives a trusted publisher `mode: publish`, and a `publish` less than 24 h after a `maintainer-add` to its package |
//!
//! The chapters, by index in [`Story::chapters`] (times UTC):
//!
//! - **0** *Setup* (2026-03-16 to 18): five packages, their maintainers and
//!   policies (staging required; trusted publisher: the release workflow of
//!   `acme/<repo>`, `stage-only`); alice's security key, bob's key and TOTP
//!   phone, carol's TOTP phone and backup SMS number. Fires nothing.
//! - **1 to 3** *Ordinary releases*, two weeks each: 70 releases, each
//!   staged by its package's CI, approved 3 to 29 minutes later by the
//!   package's usual maintainer and device, published through staging; one
//!   staged version is rejected. Fires nothing.
//! - **4** Stolen OIDC token publishes directly (TanStack, 2026-05-11):
//!   `publish-without-approval`.
//! - **5** Worm spreads across packages (Mini Shai-Hulud): the router
//!   workflow identity stages and directly publishes all five packages in
//!   10 minutes: `publish-without-approval`, `publisher-burst`,
//!   `unexpected-publisher`.
//! - **6** Infostealer (Megalodon): bob's account registers a key and
//!   approves with it 6 minutes later: `new-device`.
//! - **7** SIM swap: carol's backup SMS number approves: `new-device`,
//!   `weak-second-factor`.
//! - **8** Rubber stamp: alice approves 4 s after staging: `rubber-stamp`.
//! - **9** Tarball switched after approval: `integrity-mismatch`,
//!   `publish-without-approval`.
//! - **10** Unknown devices: an unregistered authenticator app, then a revoked phone,
//!   approve: `new-device`, `unknown-device`.
//! - **11** Not a maintainer: mallory registers a key and approves:
//!   `new-device`, `not-a-maintainer`.
//! - **12** Forged device signature (the step is marked
//!   [`Step::refused_by_honest_log`]; nothing depends on it):
//!   `bad-device-signature`.
//! - **13** Policy downgraded: staging made optional, a trusted publisher
//!   given publish rights: `policy-downgrade`.
//! - **14** Maintainer added minutes before a publish: `new-device`,
//!   `policy-downgrade`.
//!
//! # Releases and `gatelog verify`
//!
//! [`Story::honest_releases`] are the publishes of non-attack chapters;
//! each passes [`gatelog_core::policy::evaluate`] with the default policy.
//! [`Story::attacked_releases`] are every publish of an attack chapter, each
//! with the rules `gatelog verify` (default policy, the lockfile holding the
//! published digest) reports in [`Release::verify_rules`]. Direct publishes
//! (chapters 4, 5, 9) fail `publish-without-approval`, the switched
//! tarball (9) also `integrity-mismatch` (its version was approved as
//! another tarball), the SMS approval
//! (7) `weak-second-factor`, the unknown devices (10) `unknown-device`. The
//! releases of chapters 6, 8, 11 and 14 pass: new devices, approval speed,
//! maintainership and policy history are monitor heuristics that the
//! install-time policy does not judge.
//!
//! [`StaticLog`]: super::StaticLog

mod chapters;
mod script;

#[cfg(test)]
mod tests;

use super::build::{Approval, SampleDevice};
use super::{SampleRegistry, StaticLog, device_key};
use gatelog_core::dsse::Envelope;
use gatelog_core::event::{ApprovalContext, EventBody, Integrity};
use gatelog_core::hash::Hash;
use gatelog_core::tree::LeafIndex;

/// Host of the story's registry; its key is named after it.
pub const STORY_REGISTRY_HOST: &str = "registry.demo.test";

/// Seed of the story's registry key.
pub const STORY_REGISTRY_SEED: u8 = 42;

/// Origin (and key name) of the log [`story_log`] writes.
pub const STORY_LOG_ORIGIN: &str = "demo.log.test/gatelog";

/// Seed of the key of the log [`story_log`] writes.
pub const STORY_LOG_KEY_SEED: u8 = 7;

/// Every monitor rule id some chapter fires.
pub const STORY_RULES: &[&str] = &[
    "bad-device-signature",
    "integrity-mismatch",
    "new-device",
    "not-a-maintainer",
    "policy-downgrade",
    "publish-without-approval",
    "publisher-burst",
    "rubber-stamp",
    "unexpected-publisher",
    "unknown-device",
    "weak-second-factor",
];

/// A part of the story with one point to make.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Chapter {
    /// A short title.
    pub title: &'static str,
    /// The real incident it re-enacts, e.g. "TanStack, 2026-05-11".
    pub incident: Option<&'static str>,
    /// Whether the chapter is an attack; its publishes are attacked releases.
    pub attack: bool,
    /// What happens and what should notice it, for a person.
    pub summary: &'static str,
    /// Monitor rule ids the chapter's events fire, sorted: exactly these
    /// (see the module docs for the semantics assumed).
    pub expected_rules: &'static [&'static str],
    /// Packages the chapter's events concern, in order of appearance.
    pub packages: Vec<String>,
}

/// One event to log.
#[derive(Clone, Debug)]
pub struct Step {
    /// Index of its chapter in [`Story::chapters`].
    pub chapter: usize,
    /// The event, signed by the story's registry.
    pub envelope: Envelope,
    /// One line for a person, e.g. "alice approves @acme/query@1.4.0 from
    /// her security key (YubiKey 5C), 7 min after staging".
    pub note: String,
    /// The event's `time`, seconds since the Unix epoch; a static log uses
    /// it (in ms) as `logged_at`.
    pub time: i64,
    /// An honest log refuses this event (a device signature that fails);
    /// the caller may then report [`Story::refused`]. No later step depends
    /// on it.
    pub refused_by_honest_log: bool,
}

/// A published version.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Release {
    /// Package name.
    pub package: String,
    /// Version.
    pub version: String,
    /// Digest of the published tarball (what a lockfile that pulled it holds).
    pub integrity: Integrity,
    /// Index of the chapter that published it.
    pub chapter: usize,
    /// Rule ids `gatelog verify` reports for it under the default policy
    /// with this integrity expected, sorted; empty when it passes.
    pub verify_rules: &'static [&'static str],
}

/// Who signs an approval statement.
#[derive(Clone, Debug)]
enum Signer {
    /// Nobody: a code device.
    Nobody,
    /// The device's own key.
    Device,
    /// The key [`device_key`]`(seed)`: the signature fails against the
    /// registered one.
    Other(u8),
}

/// How a step's event is built.
#[derive(Clone, Debug)]
enum Action {
    /// Needs nothing from the log.
    Fixed(EventBody),
    /// An approval of the stage made by step `stage`.
    Approve {
        version: String,
        integrity: Integrity,
        stage: usize,
        maintainer: &'static str,
        device: Box<SampleDevice>,
        signer: Signer,
        context: ApprovalContext,
    },
    /// A staged publish referencing steps `stage` and `approve`.
    Publish {
        version: String,
        integrity: Integrity,
        stage: usize,
        approve: usize,
    },
    /// A rejection of the stage made by step `stage`.
    Reject {
        version: String,
        stage: usize,
        maintainer: &'static str,
        device: Box<SampleDevice>,
    },
}

impl Action {
    /// The steps whose log position this one needs.
    #[cfg(test)]
    fn needs(&self) -> Vec<usize> {
        match self {
            Action::Fixed(_) => Vec::new(),
            Action::Approve { stage, .. } | Action::Reject { stage, .. } => vec![*stage],
            Action::Publish { stage, approve, .. } => vec![*stage, *approve],
        }
    }
}

/// A step of the script, before the log positions it needs are known.
#[derive(Clone, Debug)]
struct Planned {
    chapter: usize,
    package: &'static str,
    time: i64,
    note: String,
    refused_by_honest_log: bool,
    action: Action,
}

/// What became of a step.
#[derive(Clone, Copy, Debug)]
enum Outcome {
    Logged(LeafIndex, Hash),
    Refused,
}

/// The scripted history, handed out one [`Step`] at a time.
pub struct Story {
    registry: SampleRegistry,
    chapters: Vec<Chapter>,
    plan: Vec<Planned>,
    releases: Vec<Release>,
    outcomes: Vec<Outcome>,
    /// Whether the step at `outcomes.len()` was handed out and awaits its
    /// outcome.
    pending: bool,
}

impl Default for Story {
    fn default() -> Story {
        Story::new()
    }
}

impl Story {
    /// The story from its beginning. Everything derives from fixed seeds:
    /// two stories told the same log positions hand out identical
    /// envelopes.
    pub fn new() -> Story {
        let registry = SampleRegistry::new(STORY_REGISTRY_HOST, STORY_REGISTRY_SEED);
        let script = chapters::write();
        Story {
            registry,
            chapters: script.chapters,
            plan: script.plan,
            releases: script.releases,
            outcomes: Vec::new(),
            pending: false,
        }
    }

    /// The chapters, in order.
    pub fn chapters(&self) -> &[Chapter] {
        &self.chapters
    }

    /// The registry that signs every event (allowlist its key).
    pub fn registry(&self) -> &SampleRegistry {
        &self.registry
    }

    /// Number of steps in the whole story.
    pub fn len(&self) -> usize {
        self.plan.len()
    }

    /// Whether the story has no steps (never: it is scripted).
    pub fn is_empty(&self) -> bool {
        self.plan.is_empty()
    }

    /// The next event to log, or `None` at the end. Report what the log
    /// did with it ([`Story::logged`] or [`Story::refused`]) before asking
    /// for another.
    ///
    /// # Panics
    ///
    /// If the previous step's outcome was not reported.
    pub fn next_step(&mut self) -> Option<Step> {
        assert!(
            !self.pending,
            "report the previous step with Story::logged or Story::refused first"
        );
        let planned = self.plan.get(self.outcomes.len())?;
        let envelope = self.build(planned);
        self.pending = true;
        Some(Step {
            chapter: planned.chapter,
            envelope,
            note: planned.note.clone(),
            time: planned.time,
            refused_by_honest_log: planned.refused_by_honest_log,
        })
    }

    /// The log accepted the last step at `index`, with leaf hash `leaf_hash`.
    ///
    /// # Panics
    ///
    /// If no step is awaiting its outcome.
    pub fn logged(&mut self, index: LeafIndex, leaf_hash: Hash) {
        assert!(self.pending, "no step awaits its outcome");
        self.outcomes.push(Outcome::Logged(index, leaf_hash));
        self.pending = false;
    }

    /// The log refused the last step.
    ///
    /// # Panics
    ///
    /// If no step is awaiting its outcome, or the step is not one an
    /// honest log refuses (later steps need it).
    pub fn refused(&mut self) {
        assert!(self.pending, "no step awaits its outcome");
        let planned = &self.plan[self.outcomes.len()];
        assert!(
            planned.refused_by_honest_log,
            "an honest log accepts step {:?}; the story cannot go on without it",
            planned.note
        );
        self.outcomes.push(Outcome::Refused);
        self.pending = false;
    }

    /// Every published version of the story, in log order.
    pub fn releases(&self) -> &[Release] {
        &self.releases
    }

    /// Releases of non-attack chapters: what an honest lockfile holds.
    pub fn honest_releases(&self) -> Vec<Release> {
        self.releases_where(false)
    }

    /// Releases of attack chapters: what a lockfile that pulled the attacks
    /// holds. [`Release::verify_rules`] says which fail `gatelog verify`.
    pub fn attacked_releases(&self) -> Vec<Release> {
        self.releases_where(true)
    }

    fn releases_where(&self, attack: bool) -> Vec<Release> {
        self.releases
            .iter()
            .filter(|r| self.chapters[r.chapter].attack == attack)
            .cloned()
            .collect()
    }

    /// Where the log put step `step`.
    fn position(&self, step: usize) -> (LeafIndex, Hash) {
        match self.outcomes[step] {
            Outcome::Logged(index, hash) => (index, hash),
            // The script never builds on a step an honest log refuses.
            Outcome::Refused => unreachable!("step {step} was refused but is needed"),
        }
    }

    fn build(&self, planned: &Planned) -> Envelope {
        let registry = &self.registry;
        let (package, time) = (planned.package, planned.time);
        match &planned.action {
            Action::Fixed(body) => registry.event(package, time, body.clone()),
            Action::Approve {
                version,
                integrity,
                stage,
                maintainer,
                device,
                signer,
                context,
            } => {
                let (stage, stage_leaf_hash) = self.position(*stage);
                let other;
                let signer = match signer {
                    Signer::Nobody => None,
                    Signer::Device => device.key.as_ref(),
                    Signer::Other(seed) => {
                        other = device_key(*seed);
                        Some(&other)
                    }
                };
                registry.approve_with(&Approval {
                    package,
                    version,
                    integrity: *integrity,
                    stage,
                    stage_leaf_hash,
                    maintainer,
                    device,
                    signer,
                    context: Some(context.clone()),
                    time,
                })
            }
            Action::Publish {
                version,
                integrity,
                stage,
                approve,
            } => registry.publish_staged(
                package,
                version,
                integrity,
                self.position(*stage).0,
                self.position(*approve).0,
                time,
            ),
            Action::Reject {
                version,
                stage,
                maintainer,
                device,
            } => registry.reject(
                package,
                version,
                self.position(*stage).0,
                maintainer,
                device,
                time,
            ),
        }
    }
}

/// The whole story written into a [`StaticLog`] with origin
/// [`STORY_LOG_ORIGIN`] and key seed [`STORY_LOG_KEY_SEED`]: each step
/// logged at its event time (in ms), nothing skipped — steps an honest log
/// would refuse are kept, so the golden log shows them. Returns the log and
/// the story, played to its end.
pub fn story_log() -> (StaticLog, Story) {
    let mut story = Story::new();
    let mut log = StaticLog::new(STORY_LOG_ORIGIN, STORY_LOG_KEY_SEED);
    while let Some(step) = story.next_step() {
        let logged_at = u64::try_from(step.time).expect("story times are after 1970") * 1000;
        let (index, leaf_hash) = log.append(&step.envelope, logged_at);
        story.logged(index, leaf_hash);
    }
    (log, story)
}
