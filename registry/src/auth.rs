//! Tokens (random, shown once, stored as SHA-256) and TOTP second factors
//! (RFC 6238: SHA-1, 6 digits, 30-second steps), with replay protection
//! (each time step is accepted at most once per user) and a lockout after
//! repeated wrong codes.

use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::store::User;

/// The TOTP issuer shown by authenticator apps.
pub const TOTP_ISSUER: &str = "gatelog-registry";

/// TOTP time step, in seconds.
pub const TOTP_STEP: u64 = 30;

/// Wrong OTPs within [`OTP_FAILURE_WINDOW_SECS`] before the user is locked out.
pub const MAX_OTP_FAILURES: usize = 5;

/// The window over which wrong OTPs are counted, in seconds.
pub const OTP_FAILURE_WINDOW_SECS: i64 = 15 * 60;

/// 32 random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).expect("the operating system's random source works");
    bytes
}

/// A new token: `glr_` and 64 hex digits.
pub fn new_token() -> String {
    format!("glr_{}", hex::encode(random_bytes::<32>()))
}

/// The key a token is stored under: lowercase hex SHA-256 of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A random stage id in UUID (version 4) form, as `npm stage` expects.
pub fn new_uuid() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A new TOTP secret, base32 (160 bits, as RFC 4226 recommends).
pub fn new_totp_secret() -> String {
    Secret::Raw(random_bytes::<20>().to_vec())
        .to_encoded()
        .to_string()
}

fn totp(secret_base32: &str, user: &str) -> Result<TOTP, String> {
    let raw = Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|e| format!("stored TOTP secret is not base32: {e:?}"))?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        TOTP_STEP,
        raw,
        Some(TOTP_ISSUER.to_owned()),
        user.to_owned(),
    )
    .map_err(|e| format!("TOTP parameters: {e}"))
}

/// The `otpauth://` URI for enrolling `secret` in an authenticator app.
pub fn otpauth_uri(secret_base32: &str, user: &str) -> Result<String, String> {
    Ok(totp(secret_base32, user)?.get_url())
}

/// Why an OTP was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum OtpError {
    /// The user has no TOTP device.
    NotEnrolled,
    /// Too many wrong codes recently; retry after this many seconds.
    LockedOut(u64),
    /// The code is not the current one (nor one step off).
    Wrong,
    /// The code's time step was already used.
    Replayed,
}

/// The time step a code belongs to, when it is valid at `now` (one step of
/// clock drift either way is accepted).
pub fn code_step(secret_base32: &str, user: &str, code: &str, now: u64) -> Option<u64> {
    let totp = totp(secret_base32, user).ok()?;
    let current = now / TOTP_STEP;
    let code = code.trim();
    [current.saturating_sub(1), current, current + 1]
        .into_iter()
        .find(|step| totp.generate(step * TOTP_STEP) == code)
}

/// Checks `code` for `user` at `now` (Unix seconds). On success the step is
/// recorded (so the code cannot be used again) and recent failures are
/// cleared; on a wrong or replayed code the failure is recorded. The
/// caller stores `user` either way.
pub fn check_otp(user: &mut User, code: &str, now: u64) -> Result<(), OtpError> {
    let Some(secret) = user.totp_secret.clone() else {
        return Err(OtpError::NotEnrolled);
    };
    let now_i = now as i64;
    user.otp_failures
        .retain(|t| now_i - *t < OTP_FAILURE_WINDOW_SECS);
    if user.otp_failures.len() >= MAX_OTP_FAILURES {
        let oldest = user.otp_failures.iter().min().copied().unwrap_or(now_i);
        let wait = (oldest + OTP_FAILURE_WINDOW_SECS - now_i).max(1) as u64;
        return Err(OtpError::LockedOut(wait));
    }
    let result = match code_step(&secret, &user.name, code, now) {
        None => Err(OtpError::Wrong),
        Some(step) if step <= user.last_otp_step => Err(OtpError::Replayed),
        Some(step) => {
            user.last_otp_step = step;
            Ok(())
        }
    };
    match result {
        Ok(()) => user.otp_failures.clear(),
        Err(_) => user.otp_failures.push(now_i),
    }
    result
}

/// The current code of `secret` (for tests).
#[cfg(test)]
pub fn current_code(secret_base32: &str, user: &str, now: u64) -> Result<String, String> {
    Ok(totp(secret_base32, user)?.generate(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> User {
        User {
            name: "alice".into(),
            totp_secret: Some(new_totp_secret()),
            ..User::default()
        }
    }

    #[test]
    fn a_code_works_once_and_wrong_codes_lock_out() {
        let mut user = alice();
        let secret = user.totp_secret.clone().unwrap();
        let now = 1_780_000_000;
        let code = current_code(&secret, "alice", now).unwrap();
        assert_eq!(check_otp(&mut user, &code, now), Ok(()));
        assert_eq!(
            check_otp(&mut user, &code, now + 1),
            Err(OtpError::Replayed)
        );
        // The next step's code is accepted (clock drift), once.
        let next = current_code(&secret, "alice", now + TOTP_STEP).unwrap();
        assert_eq!(check_otp(&mut user, &next, now + 2), Ok(()));
        for _ in 0..MAX_OTP_FAILURES {
            assert_eq!(
                check_otp(&mut user, "000000x", now + 3),
                Err(OtpError::Wrong)
            );
        }
        let later = current_code(&secret, "alice", now + 3 * TOTP_STEP).unwrap();
        assert!(matches!(
            check_otp(&mut user, &later, now + 3 * TOTP_STEP),
            Err(OtpError::LockedOut(_))
        ));
        let mut none = User::default();
        assert_eq!(
            check_otp(&mut none, "123456", now),
            Err(OtpError::NotEnrolled)
        );
    }

    #[test]
    fn tokens_and_ids_have_their_forms() {
        let t = new_token();
        assert!(t.starts_with("glr_") && t.len() == 68);
        assert_ne!(token_hash(&t), token_hash(&new_token()));
        let id = new_uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        let uri = otpauth_uri(&new_totp_secret(), "alice").unwrap();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    }
}
