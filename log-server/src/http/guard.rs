//! Limits that protect the log before any handler runs, per request:
//!
//! - **in flight:** at most `max_in_flight` requests are handled at once;
//!   more are shed at once with `503 busy` and `Retry-After`, so a flood
//!   queues nowhere (`/healthz` and `/metrics` are exempt, so an operator
//!   can still see the server);
//! - **failed authentication, per client address:** envelopes refused for
//!   their submitter (`401 unknown_submitter`, `403 bad_signature`,
//!   `403 wrong_registry`, also inside a batch) are counted against the
//!   address; past its budget the address's writes get `429` before their
//!   bodies are read or any signature is checked;
//! - **reads, per client address** (optional): a budget of read requests.
//!
//! The client address comes from the connection ([`crate::serve`]); a
//! router driven without a socket (tests) has none, and only the in-flight
//! limit applies.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::Semaphore;

use super::error::ApiError;

/// How the guard is set.
#[derive(Clone, Copy, Debug)]
pub struct GuardConfig {
    /// Requests handled at once; more are shed with 503.
    pub max_in_flight: usize,
    /// Refused-submitter envelopes per second and burst per address.
    pub auth_failures: (u32, u32),
    /// Read requests per second and burst per address, if limited.
    pub reads: Option<(u32, u32)>,
}

impl Default for GuardConfig {
    fn default() -> Self {
        GuardConfig {
            max_in_flight: 1024,
            auth_failures: (10, 100),
            reads: None,
        }
    }
}

/// Envelopes of one answer refused for their submitter, set by the batch
/// handler so the guard can count them (a batch answers 200).
#[derive(Clone, Copy, Debug)]
pub struct AuthFailures(pub u32);

/// The guard's state, shared by every request.
pub struct Guard {
    in_flight: Arc<Semaphore>,
    failures: DefaultKeyedRateLimiter<IpAddr>,
    failure_burst: u32,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    reads: Option<DefaultKeyedRateLimiter<IpAddr>>,
    checks: AtomicU64,
}

/// Addresses kept blocked at most; past it expired entries are dropped.
const BLOCKED: usize = 65_536;

fn quota((per_second, burst): (u32, u32)) -> Quota {
    let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rate).allow_burst(burst)
}

impl Guard {
    /// A guard with `config`.
    pub fn new(config: GuardConfig) -> Guard {
        Guard {
            in_flight: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
            failures: RateLimiter::keyed(quota(config.auth_failures)),
            failure_burst: config.auth_failures.1.max(1),
            blocked: Mutex::new(HashMap::new()),
            reads: config.reads.map(|q| RateLimiter::keyed(quota(q))),
            checks: AtomicU64::new(0),
        }
    }

    /// When `ip` may write again, if its failures used up its budget.
    fn blocked_for(&self, ip: IpAddr) -> Option<Duration> {
        let blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        let until = *blocked.get(&ip)?;
        until.checked_duration_since(Instant::now())
    }

    /// Counts `n` refused envelopes against `ip`.
    fn charge_failures(&self, ip: IpAddr, n: u32) {
        if n == 0 {
            return;
        }
        // Past the burst, or with the budget used up, the address waits
        // until its budget holds one envelope again.
        let charged = NonZeroU32::new(n.min(self.failure_burst)).unwrap_or(NonZeroU32::MIN);
        let within = matches!(self.failures.check_key_n(&ip, charged), Ok(Ok(())));
        if within && n <= self.failure_burst {
            return;
        }
        let wait = match self.failures.check_key(&ip) {
            Ok(()) => Duration::from_secs(1),
            Err(not_until) => not_until.wait_time_from(DefaultClock::default().now()),
        };
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        if blocked.len() >= BLOCKED {
            let now = Instant::now();
            blocked.retain(|_, until| *until > now);
        }
        blocked.insert(ip, Instant::now() + wait.max(Duration::from_secs(1)));
        tracing::warn!(
            "client {ip}: too many envelopes refused for their submitter; its writes wait {wait:?}"
        );
    }

    /// Forgets addresses that have been quiet, every 4,096 requests.
    fn housekeeping(&self) {
        if self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(4096)
        {
            if let Some(reads) = &self.reads {
                reads.retain_recent();
            }
            self.failures.retain_recent();
        }
    }

    /// Charges one read to `ip`; the wait when over its budget.
    fn charge_read(&self, ip: IpAddr) -> Result<(), Duration> {
        let Some(reads) = &self.reads else {
            return Ok(());
        };
        reads
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

fn too_many(what: &str, wait: Duration) -> Response {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        what.to_owned(),
    )
    .retry_after(wait.as_secs().max(1))
    .into_response()
}

/// The middleware (see the module docs).
pub async fn guard(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path == "/healthz" || path == "/metrics" {
        return next.run(req).await;
    }
    let Ok(_permit) = guard.in_flight.clone().try_acquire_owned() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the log is handling as many requests as it takes; retry later",
        )
        .retry_after(1)
        .into_response();
    };
    guard.housekeeping();
    let write = req.method() == Method::POST && path.starts_with("/v1/entries");
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = peer {
        if write {
            if let Some(wait) = guard.blocked_for(ip) {
                return too_many(
                    "too many envelopes from this address were refused for their submitter",
                    wait,
                );
            }
        } else if let Err(wait) = guard.charge_read(ip) {
            return too_many("this address exceeds its read rate", wait);
        }
    }
    let response = next.run(req).await;
    if let (true, Some(ip)) = (write, peer) {
        let failures = match response.status() {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => 1,
            _ => response
                .extensions()
                .get::<AuthFailures>()
                .map_or(0, |f| f.0),
        };
        guard.charge_failures(ip, failures);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_past_the_burst_block_the_address_only() {
        let g = Guard::new(GuardConfig {
            max_in_flight: 4,
            auth_failures: (1, 5),
            reads: None,
        });
        let bad: IpAddr = [10, 0, 0, 1].into();
        let good: IpAddr = [10, 0, 0, 2].into();
        g.charge_failures(bad, 5);
        assert!(g.blocked_for(bad).is_none(), "the burst itself passes");
        g.charge_failures(bad, 1);
        assert!(g.blocked_for(bad).is_some());
        assert!(g.blocked_for(good).is_none());
        // A batch of 1,000 refused envelopes uses the whole burst at once.
        g.charge_failures(good, 1000);
        g.charge_failures(good, 1);
        assert!(g.blocked_for(good).is_some());
    }

    #[test]
    fn reads_are_limited_per_address() {
        let g = Guard::new(GuardConfig {
            max_in_flight: 4,
            auth_failures: (1, 1),
            reads: Some((1, 3)),
        });
        let a: IpAddr = [10, 0, 0, 1].into();
        for _ in 0..3 {
            assert!(g.charge_read(a).is_ok());
        }
        assert!(g.charge_read(a).is_err());
        assert!(g.charge_read([10, 0, 0, 2].into()).is_ok());
    }
}
