//! Alerts: what a rule found, with the entries that prove it, in the
//! stable `gatelog-alert/v1` JSON form every sink sends.

use gatelog_core::policy::Rule;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The JSON schema name carried by every alert.
pub const SCHEMA: &str = "gatelog-alert/v1";

/// How urgent an alert is.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look when convenient.
    Low,
    /// Unusual; check it today.
    Medium,
    /// Likely an attack or a broken safeguard; check now.
    High,
    /// An attack pattern or a lying log; act now.
    Critical,
}

impl Severity {
    /// The lowercase name used in JSON and text.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A monitor rule. Ids are stable and kebab-case ([`RuleId::as_str`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum RuleId {
    /// A publish with no approval of that exact tarball, or a direct
    /// publish of a package whose policy requires staging.
    PublishWithoutApproval,
    /// Stage, approval and publish of one version carry different digests.
    IntegrityMismatch,
    /// An approval by a device never registered, or revoked.
    UnknownDevice,
    /// The first approval on a package by a device, or by a device
    /// registered only hours before.
    NewDevice,
    /// The approver is not a maintainer of the package at that time.
    NotAMaintainer,
    /// An approval with SMS, or TOTP where signing devices are wanted.
    WeakSecondFactor,
    /// A signing device's approval signature is missing or does not verify.
    BadDeviceSignature,
    /// An approval seconds after the stage: nobody looked.
    RubberStamp,
    /// One publisher identity staged many packages in a short time.
    PublisherBurst,
    /// A stage from a CI identity that is not a trusted publisher.
    UnexpectedPublisher,
    /// A package's publishing safeguards were weakened.
    PolicyDowngrade,
    /// The log itself lied or broke its own rules.
    LogMisbehaviour,
    /// The registry's event time is far from the log's `logged_at`.
    TimeSkew,
    /// The log answered with what does not verify (a checkpoint its key
    /// did not sign, tiles or entries that do not match the signed tree,
    /// garbled data): no signed evidence, so the monitor retries.
    LogUnverifiable,
    /// The monitor verified nothing new for longer than the threshold.
    NoProgress,
    /// A served checkpoint lacks the witness quorum of `--witness-policy`,
    /// or carries a cosignature of a listed witness that does not verify:
    /// the monitor does not follow it.
    Unwitnessed,
}

impl RuleId {
    /// Every rule.
    pub const ALL: [RuleId; 16] = [
        RuleId::PublishWithoutApproval,
        RuleId::IntegrityMismatch,
        RuleId::UnknownDevice,
        RuleId::NewDevice,
        RuleId::NotAMaintainer,
        RuleId::WeakSecondFactor,
        RuleId::BadDeviceSignature,
        RuleId::RubberStamp,
        RuleId::PublisherBurst,
        RuleId::UnexpectedPublisher,
        RuleId::PolicyDowngrade,
        RuleId::LogMisbehaviour,
        RuleId::TimeSkew,
        RuleId::LogUnverifiable,
        RuleId::NoProgress,
        RuleId::Unwitnessed,
    ];

    /// The stable id.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::PublishWithoutApproval => "publish-without-approval",
            RuleId::IntegrityMismatch => "integrity-mismatch",
            RuleId::UnknownDevice => "unknown-device",
            RuleId::NewDevice => "new-device",
            RuleId::NotAMaintainer => "not-a-maintainer",
            RuleId::WeakSecondFactor => "weak-second-factor",
            RuleId::BadDeviceSignature => "bad-device-signature",
            RuleId::RubberStamp => "rubber-stamp",
            RuleId::PublisherBurst => "publisher-burst",
            RuleId::UnexpectedPublisher => "unexpected-publisher",
            RuleId::PolicyDowngrade => "policy-downgrade",
            RuleId::LogMisbehaviour => "log-misbehaviour",
            RuleId::TimeSkew => "time-skew",
            RuleId::LogUnverifiable => "log-unverifiable",
            RuleId::NoProgress => "no-progress",
            RuleId::Unwitnessed => "unwitnessed-checkpoint",
        }
    }

    /// The rule with this id.
    pub fn parse(id: &str) -> Option<RuleId> {
        RuleId::ALL.into_iter().find(|r| r.as_str() == id)
    }

    /// The monitor rule a finding of the shared judge is alerted as: the
    /// same id, except that a missing device signature is a
    /// `bad-device-signature` alert. `not-logged` and `unpublished` are
    /// about finished releases, which a follower of the log does not judge.
    pub fn from_policy(rule: Rule) -> Option<RuleId> {
        match rule {
            Rule::PublishWithoutApproval => Some(RuleId::PublishWithoutApproval),
            Rule::IntegrityMismatch => Some(RuleId::IntegrityMismatch),
            Rule::UnknownDevice => Some(RuleId::UnknownDevice),
            Rule::MissingDeviceSignature | Rule::BadDeviceSignature => {
                Some(RuleId::BadDeviceSignature)
            }
            Rule::WeakSecondFactor => Some(RuleId::WeakSecondFactor),
            Rule::UnexpectedPublisher => Some(RuleId::UnexpectedPublisher),
            Rule::NotLogged | Rule::Unpublished => None,
        }
    }

    /// The shared judge's rules this monitor rule alerts (empty for the
    /// rules that need history across releases, or watch the log).
    pub fn policy_rules(self) -> &'static [Rule] {
        match self {
            RuleId::PublishWithoutApproval => &[Rule::PublishWithoutApproval],
            RuleId::IntegrityMismatch => &[Rule::IntegrityMismatch],
            RuleId::UnknownDevice => &[Rule::UnknownDevice],
            RuleId::BadDeviceSignature => &[Rule::MissingDeviceSignature, Rule::BadDeviceSignature],
            RuleId::WeakSecondFactor => &[Rule::WeakSecondFactor],
            RuleId::UnexpectedPublisher => &[Rule::UnexpectedPublisher],
            _ => &[],
        }
    }

    /// One line saying why the rule matters.
    pub fn explanation(self) -> &'static str {
        match self {
            RuleId::PublishWithoutApproval => {
                "a version went public without a human approving that tarball (stolen CI token?)"
            }
            RuleId::IntegrityMismatch => {
                "the tarball published is not the one staged or approved (bait and switch?)"
            }
            RuleId::UnknownDevice => {
                "the approving device was never registered to the maintainer, or was revoked"
            }
            RuleId::NewDevice => {
                "the approving device is new: a compromised account often adds its own device"
            }
            RuleId::NotAMaintainer => "the approver is not a maintainer of the package",
            RuleId::WeakSecondFactor => {
                "the approval used a second factor that phishing or SIM swaps defeat"
            }
            RuleId::BadDeviceSignature => {
                "the signing device's signature over the approval is missing or invalid"
            }
            RuleId::RubberStamp => {
                "the approval came too soon after staging for anyone to review it"
            }
            RuleId::PublisherBurst => {
                "one CI identity released many packages in a short time (worm propagation?)"
            }
            RuleId::UnexpectedPublisher => {
                "the release was staged by a CI identity the package does not trust"
            }
            RuleId::PolicyDowngrade => "a package's publishing safeguards were weakened",
            RuleId::LogMisbehaviour => {
                "the log served data that contradicts what it signed or its own rules"
            }
            RuleId::TimeSkew => {
                "the registry's clock disagrees with the log's: time-based rules judge wrong times, \
                 and an event dated in the past may be backdated"
            }
            RuleId::LogUnverifiable => {
                "the log (or something between it and this monitor) served data that does not \
                 verify; nothing of it was judged, and the monitor keeps retrying"
            }
            RuleId::NoProgress => {
                "this monitor has verified nothing new for too long: attacks logged meanwhile \
                 go unseen"
            }
            RuleId::Unwitnessed => {
                "the log's checkpoint is not cosigned by the witnesses the policy requires: it \
                 may be a view of the log that no one else is shown"
            }
        }
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RuleId, D::Error> {
        let id = String::deserialize(d)?;
        RuleId::parse(&id).ok_or_else(|| serde::de::Error::custom(format!("unknown rule {id:?}")))
    }
}

/// One alert, as every sink delivers it (`gatelog-alert/v1`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Alert {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Position in this monitor's alert sequence, from 1; sinks deliver
    /// in this order.
    pub seq: u64,
    /// Stable identity: the rule id and the entry that triggered it
    /// (`publish-without-approval@1234`), for de-duplication downstream.
    pub id: String,
    /// The rule.
    pub rule: RuleId,
    /// How urgent.
    pub severity: Severity,
    /// The log's origin (its checkpoint's first line).
    pub log: String,
    /// The package concerned; absent for log-wide findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The version concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// What happened, in one sentence.
    pub message: String,
    /// Why the rule matters ([`RuleId::explanation`]).
    pub explanation: String,
    /// Leaf indexes of the entries that prove it, ascending.
    pub evidence: Vec<u64>,
    /// Registry time of the triggering event (RFC 3339), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<String>,
    /// Size of the verified checkpoint that contains the evidence.
    pub checkpoint_size: u64,
    /// Rule-specific facts (e.g. the two signed checkpoints of a fork).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub details: serde_json::Map<String, serde_json::Value>,
    /// Set when the monitor runs without registry keys
    /// (`--allow-unauthenticated`): no envelope signature was checked, so
    /// the events behind the alert are the log's word alone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unauthenticated: bool,
}

/// The text line of an unauthenticated alert.
pub const UNAUTHENTICATED_TEXT: &str = "UNAUTHENTICATED: no registry key was configured \
     (--allow-unauthenticated), so no envelope signature was checked; the log alone vouches \
     for these events";

impl Alert {
    /// The alert as one JSON line (no trailing newline).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("alerts always serialize")
    }

    /// A short human rendering: a headline and indented facts.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "[{}] {} #{}",
            self.severity.as_str().to_uppercase(),
            self.rule,
            self.seq
        );
        if let Some(package) = &self.package {
            s += &format!(" {package}");
            if let Some(version) = &self.version {
                s += &format!("@{version}");
            }
        }
        if self.unauthenticated {
            s += &format!("\n  {UNAUTHENTICATED_TEXT}");
        }
        s += &format!("\n  {}\n  why: {}", self.message, self.explanation);
        if !self.evidence.is_empty() {
            let list: Vec<String> = self.evidence.iter().map(u64::to_string).collect();
            s += &format!("\n  evidence: entries {}", list.join(", "));
        }
        s += &format!(
            " (checkpoint size {} of {})",
            self.checkpoint_size, self.log
        );
        for (key, value) in &self.details {
            match value {
                serde_json::Value::String(text) if text.contains('\n') => {
                    s += &format!("\n  {key}:");
                    for line in text.lines() {
                        s += &format!("\n    {line}");
                    }
                }
                serde_json::Value::String(text) => s += &format!("\n  {key}: {text}"),
                other => s += &format!("\n  {key}: {other}"),
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_round_trip_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for rule in RuleId::ALL {
            assert_eq!(RuleId::parse(rule.as_str()), Some(rule));
            assert!(seen.insert(rule.as_str()));
            assert!(!rule.explanation().is_empty());
        }
        assert_eq!(RuleId::parse("no-such-rule"), None);
    }

    #[test]
    fn alerts_round_trip_through_json() {
        let alert = Alert {
            schema: SCHEMA.into(),
            seq: 3,
            id: "rubber-stamp@12".into(),
            rule: RuleId::RubberStamp,
            severity: Severity::Medium,
            log: "log.example/gatelog".into(),
            package: Some("@acme/widget".into()),
            version: Some("1.0.0".into()),
            message: "approved 4 s after staging".into(),
            explanation: RuleId::RubberStamp.explanation().into(),
            evidence: vec![10, 12],
            event_time: None,
            checkpoint_size: 20,
            details: Default::default(),
            unauthenticated: false,
        };
        let line = alert.to_json_line();
        assert!(line.starts_with(r#"{"schema":"gatelog-alert/v1","seq":3,"#));
        assert_eq!(serde_json::from_str::<Alert>(&line).unwrap(), alert);
        let text = alert.to_text();
        assert!(text.starts_with("[MEDIUM] rubber-stamp #3 @acme/widget@1.0.0"));
        assert!(text.contains("evidence: entries 10, 12"));
        assert!(!line.contains("unauthenticated") && !text.contains("UNAUTHENTICATED"));
    }

    #[test]
    fn unauthenticated_alerts_say_so_in_json_and_text() {
        let alert = Alert {
            schema: SCHEMA.into(),
            seq: 1,
            id: "new-device@3".into(),
            rule: RuleId::NewDevice,
            severity: Severity::High,
            log: "log.example/gatelog".into(),
            package: Some("w".into()),
            version: None,
            message: "m".into(),
            explanation: RuleId::NewDevice.explanation().into(),
            evidence: vec![3],
            event_time: None,
            checkpoint_size: 4,
            details: Default::default(),
            unauthenticated: true,
        };
        let line = alert.to_json_line();
        assert!(line.contains(r#""unauthenticated":true"#), "{line}");
        assert_eq!(serde_json::from_str::<Alert>(&line).unwrap(), alert);
        let text = alert.to_text();
        assert!(
            text.lines().nth(1).unwrap().contains("UNAUTHENTICATED"),
            "{text}"
        );
    }
}
