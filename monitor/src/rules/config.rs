//! Rule configuration: thresholds and package policies (the `[rules]`
//! table of the monitor's TOML file). Every field has a default, unknown
//! fields are refused so a typo cannot silently switch a rule off.

use gatelog_core::policy::{TrustedPublisherRule, matches};
use serde::Deserialize;

use crate::alert::RuleId;

/// Thresholds and policies of the rules.
#[derive(Clone, PartialEq, Eq, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleConfig {
    /// Rules switched off by id. `log-misbehaviour` cannot be switched off.
    pub disabled: Vec<RuleId>,
    /// `rubber-stamp`: an approval less than this many seconds after its
    /// stage fires. Default 60.
    pub rubber_stamp_seconds: u64,
    /// `new-device`: a device registered less than this many hours before
    /// it approves fires. Default 24.
    pub new_device_hours: u64,
    /// `publisher-burst`: fires when one publisher identity stages more
    /// than this many distinct packages within `burst_window_minutes`.
    /// Default 3.
    pub burst_packages: usize,
    /// `publisher-burst`: the window, in minutes. Default 60.
    pub burst_window_minutes: u64,
    /// `policy-downgrade`: a publish less than this many hours after a
    /// maintainer was added to the package fires. Default 24.
    pub maintainer_added_hours: u64,
    /// `publish-without-approval`: package patterns whose direct publishes
    /// fire even when the log holds no policy requiring staging (a logged
    /// `staged_publishing: required` always counts). Default empty.
    #[serde(deserialize_with = "patterns")]
    pub require_staging: Vec<String>,
    /// `weak-second-factor`: package patterns whose approvals must come
    /// from signing devices (TOTP fires too). Default empty.
    #[serde(deserialize_with = "patterns")]
    pub require_signing_device: Vec<String>,
    /// `weak-second-factor`: package patterns where SMS approvals are
    /// accepted. Default empty (SMS always fires).
    #[serde(deserialize_with = "patterns")]
    pub allow_sms: Vec<String>,
    /// `unexpected-publisher`: the CI identities allowed to stage the
    /// matching packages (same form as the client's). A restriction on top
    /// of the packages' logged trusted publishers, never a widening: a
    /// stage must satisfy both.
    pub trusted_publishers: Vec<TrustedPublisherRule>,
    /// `time-skew`: an event dated more than this many minutes after the
    /// log logged it fires. Default 10.
    pub time_skew_ahead_minutes: u64,
    /// `time-skew`: an event dated more than this many hours before the
    /// log logged it fires. Default 24.
    pub time_skew_behind_hours: u64,
    /// Which time the recency windows judge: the log's `logged_at`
    /// (default), or the registry's `time` for tools that replay old
    /// history into a log running today.
    pub recency_clock: RecencyClock,
    /// `no-progress`: fires when the monitor has verified nothing new for
    /// this many seconds (the log unreachable, or answering what does not
    /// verify). Default 600.
    pub no_progress_seconds: u64,
}

/// The clock of the recency windows.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecencyClock {
    /// The log's `logged_at` of each entry.
    #[default]
    Log,
    /// The registry's `time` of each event.
    Registry,
}

impl Default for RuleConfig {
    fn default() -> RuleConfig {
        RuleConfig {
            disabled: Vec::new(),
            rubber_stamp_seconds: 60,
            new_device_hours: 24,
            burst_packages: 3,
            burst_window_minutes: 60,
            maintainer_added_hours: 24,
            require_staging: Vec::new(),
            require_signing_device: Vec::new(),
            allow_sms: Vec::new(),
            trusted_publishers: Vec::new(),
            time_skew_ahead_minutes: 10,
            time_skew_behind_hours: 24,
            recency_clock: RecencyClock::Log,
            no_progress_seconds: 600,
        }
    }
}

/// Upper bounds of the thresholds: ten years, and a burst of 10,000
/// packages. Larger values would overflow the rules' millisecond
/// arithmetic (and silently switch a rule off) or keep unbounded history.
const LIMITS: [(&str, u64); 6] = [
    ("rubber_stamp_seconds", 315_360_000),
    ("new_device_hours", 87_600),
    ("burst_packages", 10_000),
    ("burst_window_minutes", 5_256_000),
    ("maintainer_added_hours", 87_600),
    ("no_progress_seconds", 315_360_000),
];

impl RuleConfig {
    /// Refuses thresholds beyond [`LIMITS`], naming the key and its limit.
    pub fn check(&self) -> Result<(), String> {
        let values = [
            self.rubber_stamp_seconds,
            self.new_device_hours,
            self.burst_packages as u64,
            self.burst_window_minutes,
            self.maintainer_added_hours,
            self.no_progress_seconds,
        ];
        for ((name, max), value) in LIMITS.iter().zip(values) {
            if value > *max {
                return Err(format!(
                    "[rules] {name} = {value} is above its limit of {max}"
                ));
            }
        }
        Ok(())
    }

    /// The `no-progress` threshold.
    pub fn no_progress(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.no_progress_seconds.max(1))
    }

    /// Whether `rule` runs.
    pub fn enabled(&self, rule: RuleId) -> bool {
        rule == RuleId::LogMisbehaviour || !self.disabled.contains(&rule)
    }

    /// Whether any pattern of `list` matches `package`.
    pub fn any(list: &[String], package: &str) -> bool {
        list.iter().any(|p| matches(p, package))
    }
}

fn patterns<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    for p in &list {
        if p.is_empty() || p.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(serde::de::Error::custom(format!(
                "bad package pattern {p:?}: use a package name, optionally with `*` wildcards"
            )));
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c: RuleConfig = toml::from_str("").unwrap();
        assert_eq!(c, RuleConfig::default());
        let c: RuleConfig = toml::from_str(
            "rubber_stamp_seconds = 30\ndisabled = [\"new-device\", \"log-misbehaviour\"]\nrequire_staging = [\"@acme/*\"]",
        )
        .unwrap();
        assert_eq!(c.rubber_stamp_seconds, 30);
        assert!(!c.enabled(RuleId::NewDevice));
        assert!(c.enabled(RuleId::LogMisbehaviour), "cannot be switched off");
        assert!(RuleConfig::any(&c.require_staging, "@acme/x"));
    }

    #[test]
    fn typos_are_refused() {
        for bad in [
            "rubber_stamp_secs = 3",
            "disabled = [\"rubberstamp\"]",
            "require_staging = [\"\"]",
            "burst_packages = -1",
        ] {
            assert!(toml::from_str::<RuleConfig>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn thresholds_that_overflow_are_refused() {
        let c: RuleConfig = toml::from_str("new_device_hours = 9223372036854775807").unwrap();
        let e = c.check().unwrap_err();
        assert!(e.contains("new_device_hours") && e.contains("87600"), "{e}");
        assert!(RuleConfig::default().check().is_ok());
    }
}
