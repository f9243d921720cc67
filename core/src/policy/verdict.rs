//! What evaluation works on and what it returns: logged events, rules, findings.

use crate::event::Event;
use crate::hash::Hash;
use crate::tree::LeafIndex;
use serde::Serialize;
use std::fmt;

// ---------------------------------------------------------------------------
// Input and output
// ---------------------------------------------------------------------------

/// An event the caller has verified: included in the log at `index` (the
/// inclusion proof checked against a verified checkpoint) and signed by an
/// accepted registry.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LoggedEvent {
    /// Where the event is in the log.
    pub index: LeafIndex,
    /// RFC 6962 leaf hash of the logged leaf; device signatures over an
    /// approval name the leaf hash of the stage they approve.
    pub leaf_hash: Hash,
    /// The event itself.
    pub event: Event,
}

/// A rule a release can break. Each has a stable kebab-case id
/// ([`Rule::as_str`]) for output formats and configuration, and a one-line
/// explanation ([`Rule::explanation`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Rule {
    /// No `publish` event for the version.
    NotLogged,
    /// Published directly (where staging is required), without an
    /// approval, or with `stage` / `approve` references that are missing
    /// or point elsewhere.
    PublishWithoutApproval,
    /// The staged, approved, published and expected digests differ.
    IntegrityMismatch,
    /// The approving device was not registered, or was revoked, before the
    /// approval.
    UnknownDevice,
    /// A signing device approved without a device signature.
    MissingDeviceSignature,
    /// A device signature does not verify.
    BadDeviceSignature,
    /// The approval used a second factor the policy refuses.
    WeakSecondFactor,
    /// The stage's publisher matches no applicable trusted-publisher rule.
    UnexpectedPublisher,
    /// The version was unpublished.
    Unpublished,
}

impl Rule {
    /// Every rule, in the order [`evaluate`](super::evaluate()) checks them.
    pub const ALL: &'static [Rule] = &[
        Rule::NotLogged,
        Rule::PublishWithoutApproval,
        Rule::IntegrityMismatch,
        Rule::UnknownDevice,
        Rule::MissingDeviceSignature,
        Rule::BadDeviceSignature,
        Rule::WeakSecondFactor,
        Rule::UnexpectedPublisher,
        Rule::Unpublished,
    ];

    /// The stable kebab-case id.
    pub const fn as_str(self) -> &'static str {
        match self {
            Rule::NotLogged => "not-logged",
            Rule::PublishWithoutApproval => "publish-without-approval",
            Rule::IntegrityMismatch => "integrity-mismatch",
            Rule::UnknownDevice => "unknown-device",
            Rule::MissingDeviceSignature => "missing-device-signature",
            Rule::BadDeviceSignature => "bad-device-signature",
            Rule::WeakSecondFactor => "weak-second-factor",
            Rule::UnexpectedPublisher => "unexpected-publisher",
            Rule::Unpublished => "unpublished",
        }
    }

    /// The rule with id `id`, if any.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|r| r.as_str() == id)
    }

    /// One line saying what the rule demands.
    pub const fn explanation(self) -> &'static str {
        match self {
            Rule::NotLogged => "the version must have a publish event in the log",
            Rule::PublishWithoutApproval => {
                "the version must be published through a logged stage and a logged approval of it"
            }
            Rule::IntegrityMismatch => {
                "the staged, approved, published and expected tarball digests must be equal"
            }
            Rule::UnknownDevice => {
                "the approving device must be registered, and not revoked, before the approval"
            }
            Rule::MissingDeviceSignature => {
                "an approval from a signing device must carry the device's signature"
            }
            Rule::BadDeviceSignature => {
                "the device signature must verify with the registered key over the approval statement"
            }
            Rule::WeakSecondFactor => "the approval's second factor must be one the policy accepts",
            Rule::UnexpectedPublisher => {
                "the version must be staged by a CI identity a trusted-publisher rule allows"
            }
            Rule::Unpublished => "the version must not have been unpublished",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One broken rule, with the log entries that show it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Finding {
    /// The rule broken.
    pub rule: Rule,
    /// What is wrong, naming the entries involved.
    pub message: String,
    /// Leaf indexes of the entries involved, ascending, without repeats.
    /// Only entries present in the input; a dangling reference is named in
    /// the message.
    pub evidence: Vec<LeafIndex>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.rule, self.message)?;
        if !self.evidence.is_empty() {
            let list: Vec<String> = self.evidence.iter().map(|i| format!("#{i}")).collect();
            write!(f, " (entries {})", list.join(", "))?;
        }
        Ok(())
    }
}

/// The outcome of [`evaluate`](super::evaluate()): every rule the release breaks.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize)]
pub struct Verdict {
    /// The findings, in the order the rules are checked.
    pub findings: Vec<Finding>,
}

impl Verdict {
    /// Whether the release is acceptable: no findings.
    pub fn passed(&self) -> bool {
        self.findings.is_empty()
    }

    /// Whether some finding is for `rule`.
    pub fn has(&self, rule: Rule) -> bool {
        self.findings.iter().any(|f| f.rule == rule)
    }

    /// The findings for `rule`.
    pub fn of(&self, rule: Rule) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.rule == rule)
    }
}
