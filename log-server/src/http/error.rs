//! The one place where errors become HTTP statuses. Every error body is
//! JSON: `{"error": "<code>", "message": "<what is wrong>"}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::sequencer::SubmitError;
use crate::store::StoreError;

/// An error answered to an HTTP client.
#[derive(Debug)]
pub struct ApiError {
    /// Status code.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable explanation naming the problem.
    pub message: String,
    /// Seconds after which a retry may succeed.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with no retry hint.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400: the request is malformed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404: no such thing in this log.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// Adds a `Retry-After`.
    pub fn retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Proof(p) => ApiError::bad_request("bad_proof_request", p.to_string()),
            // Damage does not heal by retrying: say so, and never serve it.
            StoreError::Corrupt(what) | StoreError::Missing(what) => {
                tracing::error!(
                    "DAMAGED STORE: {what}; refusing to serve it. \
                     Run `gatelog-server check` on the data folder and restore it from a backup"
                );
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "damaged",
                    format!("the log's stored data is damaged and is not served: {what}"),
                )
            }
            other => {
                tracing::error!("storage error while serving a request: {other}");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage",
                    "the log's storage failed; try again",
                )
                .retry_after(1)
            }
        }
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> ApiError {
        match e {
            SubmitError::Reference(r) => ApiError::bad_request("bad_reference", r.to_string()),
            SubmitError::Leaf(l @ gatelog_core::LeafError::TooLarge { .. }) => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", l.to_string())
            }
            SubmitError::Leaf(l) => ApiError::bad_request("bad_envelope", l.to_string()),
            SubmitError::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the submission pool is full; retry later",
            )
            .retry_after(1),
            // The storage's own words (paths, database messages) are for the
            // operator's log, not for whoever asked.
            SubmitError::Storage(m) => {
                tracing::warn!("submission refused on a storage failure: {m}");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage",
                    "the log's storage failed; nothing was logged, retry later",
                )
                .retry_after(1)
            }
            SubmitError::DiskFull(m) => {
                tracing::warn!("submission refused, the disk is full: {m}");
                ApiError::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    "disk_full",
                    "the log's disk is full; nothing was logged, retry later",
                )
                .retry_after(30)
            }
            SubmitError::Stopped => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "stopped",
                "the log is not accepting entries",
            )
            .retry_after(5),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({"error": self.code, "message": self.message}));
        let mut resp = (self.status, body).into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaf_too_large_is_the_submitters_fault_and_storage_is_the_logs() {
        let too_large = SubmitError::Leaf(gatelog_core::LeafError::TooLarge {
            size: 70_000,
            max: gatelog_core::leaf::MAX_LEAF_SIZE,
        });
        let e = ApiError::from(too_large);
        assert_eq!(
            (e.status, e.code),
            (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
        );
        assert!(e.message.contains("70000 bytes"), "{}", e.message);
        assert_eq!(e.retry_after, None);
        let storage = ApiError::from(SubmitError::Storage("/var/lib/db: EIO".into()));
        assert_eq!(storage.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!storage.message.contains("/var/lib"), "{}", storage.message);
    }
}
