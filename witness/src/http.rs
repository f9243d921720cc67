//! The witness's HTTP API (c2sp.org/tlog-witness):
//!
//! - `POST /add-checkpoint`: the body of [`gatelog_core::witness`]; answers
//!   `200` with the cosignature line, `400`, `403`, `404`, `409` (with the
//!   known size, `text/x.tlog.size`), `413` (body over the limit), `422`,
//!   `429` (the log's origin exceeds its rate) or `500`;
//! - `GET /<hex SHA-256 of the origin>/checkpoint`: the latest cosigned
//!   checkpoint with the log's and the witness's signatures, or `404`.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gatelog_core::witness::{MAX_REQUEST_SIZE, SIZE_CONTENT_TYPE};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use crate::witness::{AddError, Witness};

struct App {
    witness: Witness,
    limiter: DefaultKeyedRateLimiter<String>,
}

/// The router for `witness`, allowing each log `per_second` requests (burst
/// 10×).
pub fn router(witness: Witness, per_second: u32) -> Router {
    let rate = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(per_second.max(1).saturating_mul(10)).unwrap_or(NonZeroU32::MIN);
    let app = Arc::new(App {
        witness,
        limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
    });
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/{origin_hash}/checkpoint", get(checkpoint))
        .with_state(app)
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn add_checkpoint(State(app): State<Arc<App>>, body: Body) -> Response {
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_REQUEST_SIZE).await {
        Ok(b) => b,
        Err(_) => {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {MAX_REQUEST_SIZE} bytes, or unreadable\n"),
            );
        }
    };
    // Rate per origin, read from the checkpoint's first line (cheap; the
    // full checks follow).
    let origin = origin_of(&bytes);
    if let Some(origin) = &origin
        && app.witness.follows(origin)
        && app.limiter.check_key(origin).is_err()
    {
        return text(
            StatusCode::TOO_MANY_REQUESTS,
            "this log sends checkpoints faster than the witness takes them\n".into(),
        );
    }
    let app2 = app.clone();
    let outcome = tokio::task::spawn_blocking(move || app2.witness.add_checkpoint(&bytes)).await;
    match outcome {
        Ok(Ok(lines)) => {
            let body: String = lines.iter().map(|l| l.to_line()).collect();
            text(StatusCode::OK, body)
        }
        Ok(Err(AddError::Conflict(size))) => (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, SIZE_CONTENT_TYPE)],
            format!("{size}\n"),
        )
            .into_response(),
        Ok(Err(e)) => {
            let status = match e {
                AddError::BadRequest(_) => StatusCode::BAD_REQUEST,
                AddError::UnknownOrigin(_) => StatusCode::NOT_FOUND,
                AddError::Forbidden(_) => StatusCode::FORBIDDEN,
                AddError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
                AddError::Storage(ref m) => {
                    tracing::error!("{m}");
                    return text(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "the witness's storage failed; nothing was cosigned\n".into(),
                    );
                }
                AddError::Conflict(_) => unreachable!("answered above"),
            };
            text(status, format!("{e}\n"))
        }
        Err(_) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the check did not finish\n".into(),
        ),
    }
}

/// The origin line of the checkpoint in an add-checkpoint body, if any.
fn origin_of(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let (_, checkpoint) = text.split_once("\n\n")?;
    checkpoint.lines().next().map(str::to_owned)
}

async fn checkpoint(State(app): State<Arc<App>>, Path(origin_hash): Path<String>) -> Response {
    let app2 = app.clone();
    let found = tokio::task::spawn_blocking(move || {
        app2.witness
            .origins()
            .into_iter()
            .find(|o| hex::encode(Sha256::digest(o.as_bytes())) == origin_hash)
            .map(|o| app2.witness.latest(&o))
    })
    .await;
    match found {
        Ok(Some(Ok(Some(c)))) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            c.note,
        )
            .into_response(),
        Ok(Some(Err(e))) => {
            tracing::error!("{e}");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the witness's storage failed\n".into(),
            )
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "this witness has cosigned no checkpoint of that log\n".into(),
        ),
    }
}
