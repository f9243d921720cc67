//! The HTTP API. [`app`] builds the router so tests drive it without a
//! socket; `main` binds it. Endpoints (see docs/api.md):
//!
//! - c2sp.org/tlog-tiles: `GET /checkpoint`, `GET /tile/…` ([`tiles`]);
//! - writes: `POST /v1/entries`, `POST /v1/entries/batch` ([`submit`]);
//! - reads: `GET /v1/entries/{index}`, `GET /v1/proofs/inclusion`,
//!   `GET /v1/proofs/consistency`, `GET /v1/events`, `GET /v1/bundle`,
//!   `POST /v1/bundles` ([`query`]), `POST /v1/proofs/inclusion` ([`proofs`]);
//! - operations: `GET /healthz`, `GET /metrics`;
//! - the web explorer: `GET /`, `/package`, `/entry/{index}`, `/tree`
//!   ([`explorer`]).

pub mod bundles;
pub mod direct_json;
pub mod error;
pub mod explorer;
pub mod guard;
pub mod integrity;
pub mod json;
pub mod proofs;
pub mod query;
pub mod submit;
pub mod tiles;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::http::error::ApiError;
use crate::metrics::Metrics;
use crate::published::Published;
use crate::sequencer::SequencerHandle;
use crate::store::LogStore;
use crate::submitters::Submitters;

/// Everything handlers share.
pub struct AppState {
    /// The store (reads only; the sequencer is the only writer).
    pub store: Arc<dyn LogStore>,
    /// The latest durable signed checkpoint.
    pub published: Arc<Published>,
    /// Where submissions go.
    pub sequencer: SequencerHandle,
    /// Who may submit.
    pub submitters: Submitters,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// False once the sequencer stopped.
    pub sequencer_alive: Arc<AtomicBool>,
    /// `/healthz` fails when written entries have waited unsigned longer than this.
    pub max_checkpoint_lag: Duration,
    /// The log's origin.
    pub origin: String,
    /// Flags registry times far from the log clock.
    pub skew: crate::clock::SkewCheck,
    /// The log's own verifier key, pinned in the explorer's pages.
    pub log_key: gatelog_core::keys::VerifierKey,
    /// A monitor's alert feed the explorer shows, if the operator gave one.
    pub monitor_alerts: Option<std::path::PathBuf>,
}

/// The router, with the [`guard`] (in-flight, failed-authentication and
/// read limits), request timeouts and tracing.
pub fn app(state: Arc<AppState>, request_timeout: Duration, guard: guard::GuardConfig) -> Router {
    Router::new()
        .route("/checkpoint", get(tiles::checkpoint))
        .route("/tile/{*rest}", get(tiles::tile))
        .route("/v1/entries", post(submit::submit_one))
        .route("/v1/entries/batch", post(submit::submit_batch))
        .route("/v1/entries/{index}", get(query::entry))
        .route(
            "/v1/proofs/inclusion",
            get(query::inclusion).post(proofs::inclusion_many),
        )
        .route("/v1/proofs/consistency", get(query::consistency))
        .route("/v1/events", get(query::events))
        .route("/v1/bundle", get(query::bundle_one))
        .route("/v1/bundles", post(query::bundles_many))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(explorer::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(guard::Guard::new(guard)),
            guard::guard,
        ))
        .layer(TraceLayer::new_for_http())
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let cp = state.published.get();
    let alive = state.sequencer_alive.load(Ordering::SeqCst);
    // Unhealthy: the sequencer stopped, storage fails, or written entries
    // have waited for a signature longer than allowed.
    let problem = if !alive {
        Some("the sequencer stopped".to_owned())
    } else if let Some(e) = state.metrics.write_problem() {
        // What kind of failure, not the storage's own words (paths,
        // database messages): those stay in the operator's log.
        Some(if e.starts_with("the disk holding the log is full") {
            "writes fail, submissions are refused: the disk holding the log is full".to_owned()
        } else {
            "writes fail, submissions are refused; see the server's log".to_owned()
        })
    } else if let Err(e) = state.store.state() {
        tracing::error!("healthz: reading the tree state failed: {e}");
        Some("the storage cannot be read; see the server's log".to_owned())
    } else {
        match state.published.unsigned_for() {
            Some(waited) if waited > state.max_checkpoint_lag => Some(format!(
                "entries have waited {:.1}s for a checkpoint",
                waited.as_secs_f64()
            )),
            _ => None,
        }
    };
    let status = if problem.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = serde_json::json!({
        "status": if problem.is_some() { "unhealthy" } else { "ok" },
        "problem": problem,
        "origin": state.origin,
        "tree_size": cp.head().size.0,
        "checkpoint_age_seconds": state.published.installed_at().elapsed().as_secs_f64(),
    });
    (status, axum::Json(body)).into_response()
}

/// Unknown paths and methods get the same JSON error shape as the rest.
async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see docs/api.md")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method; see docs/api.md",
    )
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let body = state
        .metrics
        .render(state.published.installed_at().elapsed());
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests;
