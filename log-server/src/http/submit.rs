//! The write API: `POST /v1/entries` (one DSSE envelope) and
//! `POST /v1/entries/batch` (a JSON array of envelopes).
//!
//! Everything that can be checked without the log happens here, in
//! parallel across requests: size limits, envelope and event parsing,
//! the submitter's signature and rate. The sequencer then checks references
//! and logs the entry. A refused request changes nothing.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatelog_core::dsse::EVENT_PAYLOAD_TYPE;
use gatelog_core::{Envelope, Event};
use serde_json::value::RawValue;
use tokio::sync::oneshot;

use super::AppState;
use super::error::ApiError;
use super::json::{accepted_json, with_warnings};
use crate::clock::Skew;
use crate::sequencer::{Accepted, Submission};
use crate::submitters::SubmitterError;

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

/// Parses and checks one envelope; returns it with its event and submitter.
fn check_envelope(state: &AppState, bytes: &[u8]) -> Result<(Envelope, Event, String), ApiError> {
    let envelope = Envelope::from_json(bytes)
        .map_err(|e| ApiError::bad_request("bad_envelope", e.to_string()))?;
    envelope
        .check_payload_type(EVENT_PAYLOAD_TYPE)
        .map_err(|e| ApiError::bad_request("bad_envelope", e.to_string()))?;
    let submitter = state
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
    Ok((envelope, event, submitter))
}

type Reply = oneshot::Receiver<Result<Accepted, crate::sequencer::SubmitError>>;

fn enqueue(state: &AppState, envelope: Envelope, event: Event) -> Result<Reply, ApiError> {
    let (reply, rx) = oneshot::channel();
    state.sequencer.submit(Submission {
        envelope,
        event,
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
/// (counted once, when the entry is new).
fn answer(state: &AppState, acc: &Accepted, skew: Option<&Skew>) -> serde_json::Value {
    if let Some(s) = skew.filter(|_| !acc.duplicate) {
        state.metrics.record_time_skew(s.direction());
    }
    with_warnings(accepted_json(acc), skew)
}

fn rejected(state: &AppState, e: ApiError) -> ApiError {
    state.metrics.record_reject(e.code);
    e
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
            (status, Json(answer(&state, &acc, skew.as_ref()))).into_response()
        }
        Err(e) => rejected(&state, e).into_response(),
    }
}

async fn submit_one_inner(
    state: &AppState,
    body: Body,
) -> Result<(Accepted, Option<Skew>), ApiError> {
    let bytes = read_body(body, MAX_ENTRY_BODY).await?;
    let (envelope, event, submitter) = check_envelope(state, &bytes)?;
    state
        .submitters
        .charge(&submitter, 1)
        .map_err(refuse_submitter)?;
    let skew = state.skew.judge(&event);
    let rx = enqueue(state, envelope, event)?;
    Ok((outcome(state, rx).await?, skew))
}

/// `POST /v1/entries/batch`: answers 200 with one result per envelope, in
/// order; each is either an acknowledgement or an error object.
pub async fn submit_batch(State(state): State<Arc<AppState>>, body: Body) -> Response {
    match submit_batch_inner(&state, body).await {
        Ok(results) => (
            StatusCode::OK,
            Json(serde_json::json!({ "results": results })),
        )
            .into_response(),
        Err(e) => rejected(&state, e).into_response(),
    }
}

async fn submit_batch_inner(
    state: &AppState,
    body: Body,
) -> Result<Vec<serde_json::Value>, ApiError> {
    let bytes = read_body(body, MAX_BATCH_BODY).await?;
    let raw: Vec<&RawValue> = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(
            "bad_batch",
            format!("expected a JSON array of envelopes: {e}"),
        )
    })?;
    if raw.len() > MAX_BATCH_ENTRIES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "a batch holds at most {MAX_BATCH_ENTRIES} envelopes, got {}",
                raw.len()
            ),
        ));
    }
    // Check everything first; charge each submitter once for its entries.
    let checked: Vec<_> = raw
        .iter()
        .map(|r| check_envelope(state, r.get().as_bytes()))
        .collect();
    let mut per_submitter: std::collections::HashMap<&str, u32> = Default::default();
    for (_, _, s) in checked.iter().flatten() {
        *per_submitter.entry(s.as_str()).or_default() += 1;
    }
    for (name, n) in per_submitter {
        state.submitters.charge(name, n).map_err(refuse_submitter)?;
    }
    let mut waiting = Vec::with_capacity(checked.len());
    for c in checked {
        waiting.push(c.and_then(|(envelope, event, _)| {
            let skew = state.skew.judge(&event);
            Ok((enqueue(state, envelope, event)?, skew))
        }));
    }
    let mut results = Vec::with_capacity(waiting.len());
    for w in waiting {
        let r = match w {
            Ok((rx, skew)) => outcome(state, rx).await.map(|acc| (acc, skew)),
            Err(e) => Err(e),
        };
        results.push(match r {
            Ok((acc, skew)) => answer(state, &acc, skew.as_ref()),
            Err(e) => {
                state.metrics.record_reject(e.code);
                serde_json::json!({"error": e.code, "message": e.message, "status": e.status.as_u16()})
            }
        });
    }
    Ok(results)
}
