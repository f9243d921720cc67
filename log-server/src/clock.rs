//! The log's clock, injected so tests can control `logged_at`, and the
//! limits beyond which a registry's event time is flagged as skewed.
//!
//! `logged_at` never goes backwards, even when the system clock steps back
//! or the server restarts: the sequencer takes the larger of this clock and
//! the largest `logged_at` stored, which every batch persists.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync + 'static {
    /// Now, in ms since the epoch.
    fn now_ms(&self) -> u64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}

/// A clock that returns whatever a test set.
#[derive(Debug, Default)]
pub struct ManualClock(pub std::sync::atomic::AtomicU64);

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// How far a registry's event `time` may be from the log clock before the
/// entry is flagged: it is still logged (the registry's clock is its own
/// business and refusing would lose a real event), but counted in
/// `/metrics` and answered with a warning, and monitors raise `time-skew`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SkewLimits {
    /// Largest allowed lead of the event time over the log clock.
    pub ahead: Duration,
    /// Largest allowed lag of the event time behind the log clock.
    pub behind: Duration,
}

impl Default for SkewLimits {
    fn default() -> Self {
        SkewLimits {
            ahead: Duration::from_secs(10 * 60),
            behind: Duration::from_secs(24 * 3600),
        }
    }
}

/// An event time outside the [`SkewLimits`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skew {
    /// Event time minus log clock, in ms (positive: the event is ahead).
    pub skew_ms: i64,
    /// The limit it exceeds.
    pub limit: Duration,
    /// The event's time as the registry wrote it.
    pub event_time: String,
}

impl Skew {
    /// `ahead` or `behind`.
    pub fn direction(&self) -> &'static str {
        if self.skew_ms > 0 { "ahead" } else { "behind" }
    }

    /// One sentence for the submitter.
    pub fn message(&self) -> String {
        format!(
            "the event's time {} is {} {} the log clock (limit {}); the entry is logged \
             with the log's own logged_at, and monitors flag it as time-skew",
            self.event_time,
            human(Duration::from_millis(self.skew_ms.unsigned_abs())),
            if self.skew_ms > 0 {
                "ahead of"
            } else {
                "behind"
            },
            human(self.limit)
        )
    }
}

/// The log clock and the limits, as the submit API judges events.
#[derive(Clone)]
pub struct SkewCheck {
    /// The log clock (the sequencer's).
    pub clock: std::sync::Arc<dyn Clock>,
    /// The limits.
    pub limits: SkewLimits,
}

impl SkewCheck {
    /// Judges `event`'s time against the log clock now. The entry's
    /// `logged_at` is this time or later by at most one batch interval.
    pub fn judge(&self, event: &gatelog_core::Event) -> Option<Skew> {
        self.limits.judge(event, self.clock.now_ms())
    }
}

impl SkewLimits {
    /// Judges an event's `time` against the log clock `now_ms`.
    pub fn judge(&self, event: &gatelog_core::Event, now_ms: u64) -> Option<Skew> {
        let event_ms = event.time.get().unix_timestamp_nanos() / 1_000_000;
        let skew_ms = i64::try_from(event_ms - i128::from(now_ms)).unwrap_or(i64::MAX);
        let limit = if skew_ms > 0 { self.ahead } else { self.behind };
        (u128::from(skew_ms.unsigned_abs()) > limit.as_millis()).then(|| Skew {
            skew_ms,
            limit,
            event_time: event.time.as_str().to_owned(),
        })
    }
}

/// `42 s`, `17 min`, `5.5 h`, `178 days`.
fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 3.0 * 86_400.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.0} days", s / 86_400.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatelog_lab::sample::SampleRegistry;

    fn event_at(unix_seconds: i64) -> gatelog_core::Event {
        let env = SampleRegistry::new("registry.example", 1).publish_direct(
            "left-pad",
            "1.0.0",
            b"t",
            unix_seconds,
        );
        gatelog_core::Event::from_envelope(&env).unwrap()
    }

    #[test]
    fn times_beyond_the_limits_are_flagged_both_ways() {
        let limits = SkewLimits::default();
        let now = 1_800_000_000_000;
        let at = |offset_s: i64| limits.judge(&event_at(1_800_000_000 + offset_s), now);
        assert_eq!(at(0), None);
        assert_eq!(at(600), None, "exactly the limit is fine");
        assert_eq!(at(-86_400), None);
        let ahead = at(601).unwrap();
        assert_eq!((ahead.direction(), ahead.skew_ms), ("ahead", 601_000));
        assert!(ahead.message().contains("10 min"), "{}", ahead.message());
        let behind = at(-200 * 86_400).unwrap();
        assert_eq!(behind.direction(), "behind");
        assert!(
            behind.message().contains("200 days behind"),
            "{}",
            behind.message()
        );
        let strict = SkewLimits {
            ahead: Duration::ZERO,
            behind: Duration::from_secs(1),
        };
        assert!(
            strict
                .judge(&event_at(1_800_000_000), now + 1_001)
                .is_some()
        );
    }
}
