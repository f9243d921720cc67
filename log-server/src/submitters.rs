//! The allowlist of submitters (registries) and their rate limits.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use gatelog_core::dsse::{DsseError, Keyring};
use gatelog_core::{Envelope, VerifierKey};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Registries allowed to submit, by key.
pub struct Submitters {
    keyring: Keyring,
    names: HashMap<[u8; 32], String>,
    limiter: Option<(DefaultKeyedRateLimiter<String>, u32)>,
}

/// Why an envelope's submitter was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubmitterError {
    /// No allowlisted key signed it.
    #[error(transparent)]
    Signature(#[from] DsseError),
    /// The submitter exceeded its rate.
    #[error("submitter {name} exceeds its rate limit")]
    RateLimited {
        /// The submitter.
        name: String,
        /// When a retry may succeed.
        retry_after: Duration,
    },
    /// More events at once than the submitter's burst can ever allow.
    #[error("a batch of {events} events from {name} exceeds its burst of {burst}")]
    OverBurst {
        /// The submitter.
        name: String,
        /// Events in the request.
        events: u32,
        /// The burst.
        burst: u32,
    },
}

impl Submitters {
    /// An allowlist of verifier keys (each named after its registry), with
    /// an optional per-submitter rate of `per_second` events and `burst`.
    pub fn new(keys: &[VerifierKey], rate: Option<(u32, u32)>) -> Submitters {
        let keyring = Keyring::new(keys.iter().map(|k| *k.key()));
        let names = keys
            .iter()
            .map(|k| (k.key().to_bytes(), k.name().to_owned()))
            .collect();
        let limiter = rate.and_then(|(per_second, burst)| {
            let quota = Quota::per_second(NonZeroU32::new(per_second)?)
                .allow_burst(NonZeroU32::new(burst.max(1))?);
            Some((RateLimiter::keyed(quota), burst.max(1)))
        });
        Submitters {
            keyring,
            names,
            limiter,
        }
    }

    /// Number of allowlisted keys.
    pub fn len(&self) -> usize {
        self.keyring.len()
    }

    /// The allowlisted registries' names (hosts), sorted, each once.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.names.values().cloned().collect();
        names.sort();
        names.dedup();
        names
    }

    /// Whether the allowlist is empty (then nothing can be submitted).
    pub fn is_empty(&self) -> bool {
        self.keyring.is_empty()
    }

    /// Verifies the envelope's signature and returns the submitter's name
    /// and the envelope to store: only signatures that verified under an
    /// allowlisted key, each once ([`Envelope::verified`]).
    pub fn verify(&self, envelope: &Envelope) -> Result<(String, Envelope), SubmitterError> {
        let (verified, key): (Envelope, &VerifyingKey) = envelope.verified(&self.keyring)?;
        let name = self
            .names
            .get(&key.to_bytes())
            .cloned()
            .unwrap_or_else(|| gatelog_core::dsse::key_id(key));
        Ok((name, verified))
    }

    /// Charges `n` events to `name`'s rate limit.
    pub fn charge(&self, name: &str, n: u32) -> Result<(), SubmitterError> {
        let Some((limiter, burst)) = &self.limiter else {
            return Ok(());
        };
        let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
        let limited = |retry_after| SubmitterError::RateLimited {
            name: name.to_owned(),
            retry_after,
        };
        match limiter.check_key_n(&name.to_owned(), n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(limited(
                not_until.wait_time_from(DefaultClock::default().now()),
            )),
            // More than the burst at once can never pass: ask for a smaller batch.
            Err(_) => Err(SubmitterError::OverBurst {
                name: name.to_owned(),
                events: n.get(),
                burst: *burst,
            }),
        }
    }
}
