//! The HTTP API. `app` builds the router so tests can drive it without a
//! socket; `main` binds it to a listener.
//!
//! - `GET /checkpoint`: the latest signed checkpoint (c2sp.org/tlog-checkpoint).
//! - `GET /healthz`: liveness and the current tree size.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::log::Log;

/// Shared state of every handler.
pub type AppState = Arc<Log>;

/// The router of the log's HTTP API.
pub fn app(log: AppState) -> Router {
    Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/healthz", get(healthz))
        .with_state(log)
}

async fn checkpoint(State(log): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            // Checkpoints change as the log grows; tiles are the cacheable part.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        log.latest_checkpoint().to_bytes(),
    )
}

async fn healthz(State(log): State<AppState>) -> impl IntoResponse {
    let head = log.latest_checkpoint().head();
    axum::Json(serde_json::json!({
        "status": "ok",
        "origin": log.origin.as_str(),
        "tree_size": head.size.0,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use gatelog_core::checkpoint;
    use tower::ServiceExt as _;

    #[tokio::test]
    async fn serves_a_checkpoint_that_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(Log::open(dir.path(), "test.example/log").unwrap());
        let vkey = log.key.verifier();
        let resp = app(log)
            .oneshot(Request::get("/checkpoint").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let cp = checkpoint::open(&body, &vkey).unwrap();
        assert_eq!(cp.head().size.0, 0);
    }

    #[tokio::test]
    async fn unknown_paths_are_404() {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(Log::open(dir.path(), "test.example/log").unwrap());
        let resp = app(log)
            .oneshot(Request::get("/nope").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    }
}
