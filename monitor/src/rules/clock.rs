//! `time-skew`: the registry's `time` of an event far from the log's
//! `logged_at` for it: more than `time_skew_ahead_minutes` ahead, or more
//! than `time_skew_behind_hours` behind. A registry with a wrong clock
//! makes every time-based rule (rubber stamps, new devices, bursts) judge
//! the wrong thing, and an event dated well in the past may be a
//! backdated one. A warning: the log recorded it honestly.

use super::{Engine, Entry, Findings, time_ms};
use crate::alert::{RuleId, Severity};

pub(super) fn check(engine: &Engine, entry: &Entry, out: &mut Findings<'_>) {
    let logged = i64::try_from(entry.logged_at).unwrap_or(i64::MAX);
    let skew_ms = time_ms(&entry.event).saturating_sub(logged);
    let config = &engine.config;
    let ahead =
        i64::try_from(config.time_skew_ahead_minutes.saturating_mul(60_000)).unwrap_or(i64::MAX);
    let behind =
        i64::try_from(config.time_skew_behind_hours.saturating_mul(3_600_000)).unwrap_or(i64::MAX);
    let (way, limit) = if skew_ms > ahead {
        (
            "ahead of",
            format!("{} min", config.time_skew_ahead_minutes),
        )
    } else if skew_ms < -behind {
        ("behind", format!("{} h", config.time_skew_behind_hours))
    } else {
        return;
    };
    let mut finding = out.release(
        RuleId::TimeSkew,
        Severity::Medium,
        format!(
            "the registry dated the event {} {way} the time the log logged it (limit {limit})",
            span(skew_ms.unsigned_abs() / 1000)
        ),
        [],
    );
    finding
        .details
        .insert("skew_seconds".into(), (skew_ms / 1000).into());
    finding
        .details
        .insert("logged_at_ms".into(), entry.logged_at.into());
    out.push(finding);
}

/// `45 s`, `12 min`, `5 h`, `178 days`.
fn span(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 3 * 86_400 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use gatelog_core::{Event, Hash};
    use gatelog_lab::sample::rfc3339;

    use super::super::{Engine, Entry, RuleConfig};
    use crate::alert::{RuleId, Severity};
    use crate::index::Empty;

    const T0: i64 = 1_777_000_000;

    /// The findings of one publish dated `t` s, logged at `logged` s.
    fn judge(config: RuleConfig, t: i64, logged: i64) -> Vec<super::super::Finding> {
        let json = format!(
            r#"{{"type":"publish","package":"left-pad","registry":"https://registry.test","time":"{}","version":"1.0.0","integrity":"sha512-{}","dist_tag":"latest","via":"direct"}}"#,
            rfc3339(T0 + t),
            "A".repeat(86) + "=="
        );
        let event = Event::parse(json.as_bytes()).unwrap();
        let entry = Entry {
            index: 0,
            leaf_hash: Hash::sha256(json.as_bytes()),
            logged_at: (T0 + logged) as u64 * 1000,
            prev: None,
            event,
        };
        let mut engine = Engine::new(config, Vec::new(), 0);
        let found = engine.apply(&Empty, &entry).unwrap();
        found
            .into_iter()
            .filter(|f| f.rule == RuleId::TimeSkew)
            .collect()
    }

    #[test]
    fn fires_beyond_the_thresholds_and_not_at_them() {
        let d = RuleConfig::default;
        assert!(judge(d(), 0, 0).is_empty());
        assert!(judge(d(), 600, 0).is_empty(), "10 min ahead is allowed");
        assert!(judge(d(), -86_400, 0).is_empty(), "24 h behind is allowed");
        let ahead = judge(d(), 601, 0);
        assert_eq!(ahead.len(), 1);
        assert_eq!(ahead[0].severity, Severity::Medium);
        assert!(
            ahead[0].message.contains("10 min ahead of"),
            "{}",
            ahead[0].message
        );
        assert_eq!(ahead[0].details["skew_seconds"], 601);
        let behind = judge(d(), -200 * 86_400, 0);
        assert!(
            behind[0].message.contains("200 days behind"),
            "{}",
            behind[0].message
        );
        // Thresholds come from [rules]; the rule can be switched off.
        let strict: RuleConfig =
            toml::from_str("time_skew_ahead_minutes = 0\ntime_skew_behind_hours = 1").unwrap();
        assert_eq!(judge(strict.clone(), 61, 0).len(), 1);
        assert_eq!(judge(strict, -3_601, 0).len(), 1);
        let off: RuleConfig = toml::from_str("disabled = [\"time-skew\"]").unwrap();
        assert!(judge(off, 601, 0).is_empty());
    }
}
