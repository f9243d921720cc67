//! The write API: `POST /v1/entries` (one DSSE envelope) and
//! `POST /v1/entries/batch` (a JSON array of envelopes).
//!
//! Everything that can be checked without the log happens here, on all
//! cores (the rayon pool, so the async workers stay free to move bytes):
//! size limits, envelope and event parsing, the submitter's signature, the
//! envelope digest, and device signatures the sequencer's cache allows
//! ([`crate::sequencer::precheck`]); then the submitter's rate. The
//! sequencer then checks references and logs the entry. A refused request
//! changes nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatelog_core::dsse::EVENT_PAYLOAD_TYPE;
use gatelog_core::{Envelope, Event, Hash};
use rayon::prelude::*;
use serde_json::value::RawValue;
use tokio::sync::oneshot;

use super::AppState;
use super::direct_json;
use super::error::ApiError;
use super::guard::AuthFailures;
use super::json::{accepted_json, with_warnings};
use crate::clock::Skew;
use crate::sequencer::precheck::{DeviceCheck, precheck};
use crate::sequencer::{Accepted, Submission};
use crate::submitters::SubmitterError;
use gatelog_core::bounded::Bounded;

/// Largest body of `POST /v1/entries`: the largest envelope accepted.
pub const MAX_ENTRY_BODY: usize = gatelog_core::dsse::MAX_ENVELOPE_SIZE;
/// Most envelopes in one batch.
pub const MAX_BATCH_ENTRIES: usize = 1000;
/// Largest body of `POST /v1/entries/batch`.
pub const MAX_BATCH_BODY: usize = 16 * 1024 * 1024;

/// Reads a body up to `limit` bytes, or answers 413 naming the limit.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let over_limit = e
            .into_inner()
            .downcast_ref::<http_body_util::LengthLimitError>()
            .is_some();
        if over_limit {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("request body is larger than the limit of {limit} bytes"),
            )
        } else {
            ApiError::bad_request("bad_body", "the request body could not be read")
        }
    })
}

fn refuse_submitter(e: SubmitterError) -> ApiError {
    use gatelog_core::dsse::DsseError;
    match e {
        SubmitterError::Signature(DsseError::UnknownSigner) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unknown_submitter",
            "the envelope is not signed by an allowlisted submitter key",
        ),
        SubmitterError::Signature(e @ DsseError::BadSignature { .. }) => {
            ApiError::new(StatusCode::FORBIDDEN, "bad_signature", e.to_string())
        }
        SubmitterError::Signature(e) => ApiError::bad_request("bad_envelope", e.to_string()),
        SubmitterError::RateLimited { name, retry_after } => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("submitter {name} exceeds its rate limit"),
        )
        .retry_after(retry_after.as_secs().max(1)),
        SubmitterError::OverBurst {
            name,
            events,
            burst,
        } => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "a batch of {events} events from {name} exceeds its burst of {burst}; \
                 send smaller batches"
            ),
        )
        .retry_after(1),
    }
}

/// An envelope that passed every check that needs no log.
struct Checked {
    envelope: Envelope,
    event: Event,
    submitter: String,
    digest: Hash,
    device_check: Option<DeviceCheck>,
}

/// Parses and checks one envelope.
fn check_envelope(state: &AppState, bytes: &[u8]) -> Result<Checked, ApiError> {
    let envelope = Envelope::from_json(bytes)
        .map_err(|e| ApiError::bad_request("bad_envelope", e.to_string()))?;
    envelope
        .check_payload_type(EVENT_PAYLOAD_TYPE)
        .map_err(|e| ApiError::bad_request("bad_envelope", e.to_string()))?;
    // From here on only the verified signatures exist: nothing unverified
    // is stored, and a resubmission is found by its content alone.
    let (submitter, envelope) = state
        .submitters
        .verify(&envelope)
        .map_err(refuse_submitter)?;
    let event = Event::from_envelope(&envelope)
        .map_err(|e| ApiError::bad_request("bad_event", e.to_string()))?;
    // A registry speaks only for itself: its key is named after the host of
    // the `registry` origin its events carry.
    if event.registry.host() != submitter {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_registry",
            format!(
                "submitter {submitter} may not log events of registry {}",
                event.registry.as_str()
            ),
        ));
    }
    Ok(Checked {
        digest: envelope.content_digest(),
        device_check: precheck(state.sequencer.cache(), &event),
        envelope,
        event,
        submitter,
    })
}

/// Runs CPU-bound work on the rayon pool (one thread per core) and waits
/// for it without blocking an async worker.
async fn on_cores<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let (tx, rx) = oneshot::channel();
    rayon::spawn(move || {
        let _ = tx.send(f());
    });
    rx.await.map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the check of the request did not finish",
        )
    })
}

type Reply = oneshot::Receiver<Result<Accepted, crate::sequencer::SubmitError>>;

fn enqueue(state: &AppState, c: Checked) -> Result<Reply, ApiError> {
    let (reply, rx) = oneshot::channel();
    state.sequencer.submit(Submission {
        envelope: c.envelope,
        event: c.event,
        digest: c.digest,
        device_check: c.device_check,
        received: Instant::now(),
        reply,
    })?;
    Ok(rx)
}

async fn outcome(state: &AppState, rx: Reply) -> Result<Accepted, ApiError> {
    let result = rx
        .await
        .map_err(|_| ApiError::from(crate::sequencer::SubmitError::Stopped))?;
    state.metrics.record_submit_result(&result);
    Ok(result?)
}

/// The acknowledgement's JSON, with a warning for a skewed event time
/// (counted once, when the entry is new). Skewed times are rare, so their
/// answers take the slower generic serializer.
fn answer(state: &AppState, acc: &Accepted, skew: Option<&Skew>) -> String {
    match skew {
        None => direct_json::accepted(acc),
        Some(s) => {
            if !acc.duplicate {
                state.metrics.record_time_skew(s.direction());
            }
            with_warnings(accepted_json(acc), Some(s)).to_string()
        }
    }
}

fn rejected(state: &AppState, e: ApiError) -> ApiError {
    state.metrics.record_reject(e.code);
    e
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `POST /v1/entries`.
pub async fn submit_one(State(state): State<Arc<AppState>>, body: Body) -> Response {
    match submit_one_inner(&state, body).await {
        Ok((acc, skew)) => {
            let status = if acc.duplicate {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            json_response(status, answer(&state, &acc, skew.as_ref()))
        }
        Err(e) => rejected(&state, e).into_response(),
    }
}

async fn submit_one_inner(
    state: &Arc<AppState>,
    body: Body,
) -> Result<(Accepted, Option<Skew>), ApiError> {
    let bytes = read_body(body, MAX_ENTRY_BODY).await?;
    let st = state.clone();
    let checked = on_cores(move || check_envelope(&st, &bytes)).await??;
    state
        .submitters
        .charge(&checked.submitter, 1)
        .map_err(refuse_submitter)?;
    let skew = state.skew.judge(&checked.event);
    let rx = enqueue(state, checked)?;
    Ok((outcome(state, rx).await?, skew))
}

/// `POST /v1/entries/batch`: answers 200 with one result per envelope, in
/// order; each is either an acknowledgement or an error object.
pub async fn submit_batch(State(state): State<Arc<AppState>>, body: Body) -> Response {
    match submit_batch_inner(&state, body).await {
        Ok((results, failures)) => {
            let mut response = json_response(StatusCode::OK, results);
            // Counted per client address by the guard.
            response.extensions_mut().insert(AuthFailures(failures));
            response
        }
        Err(e) => rejected(&state, e).into_response(),
    }
}

/// Parses a batch body and checks every envelope, in parallel.
fn check_batch(state: &AppState, bytes: &[u8]) -> Result<Vec<Result<Checked, ApiError>>, ApiError> {
    // Counted while parsed: a longer array keeps nothing past the limit.
    let raw: Bounded<&RawValue, MAX_BATCH_ENTRIES> =
        serde_json::from_slice(bytes).map_err(|e| {
            ApiError::bad_request(
                "bad_batch",
                format!("expected a JSON array of envelopes: {e}"),
            )
        })?;
    if raw.over() {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "a batch holds at most {MAX_BATCH_ENTRIES} envelopes, got {}",
                raw.count
            ),
        ));
    }
    Ok(raw
        .items
        .par_iter()
        .map(|r| check_envelope(state, r.get().as_bytes()))
        .collect())
}

/// Whether an envelope was refused for its submitter (what the guard
/// counts per client address).
fn is_auth_failure(e: &ApiError) -> bool {
    matches!(
        e.code,
        "unknown_submitter" | "bad_signature" | "wrong_registry"
    )
}

async fn submit_batch_inner(state: &Arc<AppState>, body: Body) -> Result<(String, u32), ApiError> {
    let bytes = read_body(body, MAX_BATCH_BODY).await?;
    let st = state.clone();
    // Check everything first; charge each submitter once for its entries.
    let checked = on_cores(move || check_batch(&st, &bytes)).await??;
    let failures = checked
        .iter()
        .filter(|c| c.as_ref().err().is_some_and(is_auth_failure))
        .count() as u32;
    let mut per_submitter: HashMap<&str, u32> = HashMap::new();
    for c in checked.iter().flatten() {
        *per_submitter.entry(c.submitter.as_str()).or_default() += 1;
    }
    for (name, n) in per_submitter {
        state.submitters.charge(name, n).map_err(refuse_submitter)?;
    }
    let mut waiting = Vec::with_capacity(checked.len());
    for c in checked {
        waiting.push(c.and_then(|c| {
            let skew = state.skew.judge(&c.event);
            Ok((enqueue(state, c)?, skew))
        }));
    }
    let mut out = String::with_capacity(waiting.len() * 1200 + 16);
    out.push_str("{\"results\":[");
    for (i, w) in waiting.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let r = match w {
            Ok((rx, skew)) => outcome(state, rx).await.map(|acc| (acc, skew)),
            Err(e) => Err(e),
        };
        match r {
            Ok((acc, Some(skew))) => out.push_str(&answer(state, &acc, Some(&skew))),
            Ok((acc, None)) => {
                let checkpoint = direct_json::checkpoint_text(&acc.checkpoint);
                direct_json::push_accepted(&mut out, &acc, &checkpoint);
            }
            Err(e) => {
                state.metrics.record_reject(e.code);
                out.push_str(
                    &serde_json::json!({"error": e.code, "message": e.message, "status": e.status.as_u16()})
                        .to_string(),
                );
            }
        }
    }
    out.push_str("]}");
    Ok((out, failures))
}
