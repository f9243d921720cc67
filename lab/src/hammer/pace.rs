//! Paced, open-loop offered load for `gatelog-lab hammer --rate`.
//!
//! A closed-loop writer sends its next request only after the previous
//! answer, so a slow log slows the writers down and the latency they
//! measure hides the queueing ("coordinated omission"). A [`Pacer`]
//! instead fixes a schedule up front: request `k` is due at
//! `start + k × interval`, whatever happened to the requests before it.
//! Latency is measured from that scheduled time, so a request sent late
//! (because the log or the load generator fell behind) carries its wait.

use std::time::{Duration, Instant};

/// The send schedule of a paced run: one request of `batch` events every
/// `batch / rate` seconds.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    start: Instant,
    /// Seconds between two requests, unrounded.
    interval: f64,
}

impl Schedule {
    /// A schedule offering `rate` events per second in requests of `batch`
    /// events, starting at `start`. `None` when `rate` is not a positive,
    /// finite number.
    pub fn new(start: Instant, rate: f64, batch: usize) -> Option<Schedule> {
        if !(rate.is_finite() && rate > 0.0) {
            return None;
        }
        let interval = batch.max(1) as f64 / rate;
        // Refuse intervals a Duration cannot hold.
        Duration::try_from_secs_f64(interval).ok()?;
        Some(Schedule { start, interval })
    }

    /// When request `k` (from 0) is due.
    pub fn due(&self, k: u64) -> Instant {
        // Computed from the unrounded interval (rather than by adding
        // rounded intervals up) so errors do not accumulate over a long run.
        self.start + Duration::from_secs_f64(self.interval * k as f64)
    }

    /// Time between two requests.
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(self.interval)
    }
}

/// Hands out the scheduled send times in order, never skipping one: a
/// caller that falls behind gets the overdue times at once, so the offered
/// load stays what was asked for.
#[derive(Debug)]
pub struct Pacer {
    schedule: Schedule,
    next: u64,
    /// The latest a due time was handed out after it was due.
    max_lag: Duration,
}

impl Pacer {
    /// A pacer following `schedule` from its first request.
    pub fn new(schedule: Schedule) -> Pacer {
        Pacer {
            schedule,
            next: 0,
            max_lag: Duration::ZERO,
        }
    }

    /// Waits until the next request is due and returns its due time (at
    /// once, if it is already overdue); `None`, without waiting, when it is
    /// due at `end` or later.
    pub async fn tick(&mut self, end: Instant) -> Option<Instant> {
        let due = self.schedule.due(self.next);
        if due >= end {
            return None;
        }
        self.next += 1;
        tokio::time::sleep_until(due.into()).await;
        self.max_lag = self
            .max_lag
            .max(Instant::now().saturating_duration_since(due));
        Some(due)
    }

    /// Requests handed out so far.
    pub fn ticks(&self) -> u64 {
        self.next
    }

    /// How far behind its schedule the caller fell at worst: a lag near the
    /// interval or above means the load generator could not offer the rate.
    pub fn max_lag(&self) -> Duration {
        self.max_lag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_due_at_the_offered_rate() {
        let start = Instant::now();
        // 1000 events/s in requests of 50: one request every 50 ms.
        let s = Schedule::new(start, 1000.0, 50).unwrap();
        assert_eq!(s.interval(), Duration::from_millis(50));
        assert_eq!(s.due(0), start);
        assert_eq!(s.due(20), start + Duration::from_secs(1));
        // One event per request at 4 events/s.
        let s = Schedule::new(start, 4.0, 1).unwrap();
        assert_eq!(s.due(3), start + Duration::from_millis(750));
    }

    #[test]
    fn nonsense_rates_are_refused() {
        let now = Instant::now();
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Schedule::new(now, rate, 10).is_none(), "{rate}");
        }
        // A rate so low the interval overflows a Duration.
        assert!(Schedule::new(now, 1e-300, 10).is_none());
    }

    #[test]
    fn long_schedules_do_not_drift() {
        let start = Instant::now();
        let s = Schedule::new(start, 3.0, 1).unwrap();
        // 3 million requests at 3/s end at exactly one million seconds.
        let end = s.due(3_000_000) - start;
        assert!(end.abs_diff(Duration::from_secs(1_000_000)) < Duration::from_millis(1));
    }

    #[tokio::test]
    async fn a_pacer_that_falls_behind_catches_up_without_skipping() {
        let start = Instant::now();
        let end = start + Duration::from_secs(3600);
        let s = Schedule::new(start, 1000.0, 1).unwrap();
        let mut p = Pacer::new(s);
        assert_eq!(p.tick(end).await, Some(start));
        // The caller is busy for 30 ms: the requests due meanwhile come
        // back at once, in order, each with its own due time.
        std::thread::sleep(Duration::from_millis(30));
        for k in 1..=20 {
            assert_eq!(p.tick(end).await, Some(s.due(k)));
        }
        assert!(
            p.max_lag() >= Duration::from_millis(25),
            "{:?}",
            p.max_lag()
        );
        // A request due in the future is waited for.
        let far =
            Pacer::new(Schedule::new(Instant::now() + Duration::from_millis(20), 1.0, 1).unwrap())
                .tick(end)
                .await
                .unwrap();
        assert!(Instant::now() >= far);
        assert_eq!(p.ticks(), 21);
    }

    #[tokio::test]
    async fn nothing_is_due_at_or_after_the_end() {
        let start = Instant::now();
        // One request a day: the second is due long after the end, and
        // the pacer says so at once instead of sleeping until then.
        let mut p = Pacer::new(Schedule::new(start, 1.0 / 86_400.0, 1).unwrap());
        let end = start + Duration::from_secs(60);
        assert_eq!(p.tick(end).await, Some(start));
        assert_eq!(p.tick(end).await, None);
        assert_eq!(p.tick(start).await, None);
        assert_eq!(p.ticks(), 1);
    }
}
