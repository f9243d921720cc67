//! Errors as npm reads them: a status, `{"error": "<message>", "code":
//! "<stable code>"}` (npm prints `error`), `WWW-Authenticate: OTP` where a
//! one-time password is needed (npm's otplease), and `Retry-After`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::log::LogError;
use crate::store::StoreError;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code for programs.
    pub code: &'static str,
    /// For people (npm prints it).
    pub message: String,
    /// Whether to ask for a one-time password (`WWW-Authenticate: OTP`).
    pub otp: bool,
    /// Seconds for `Retry-After`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            otp: false,
            retry_after: None,
        }
    }

    /// `400`: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// `401`: no valid token.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// `401` with `WWW-Authenticate: OTP`.
    pub fn otp(message: impl Into<String>) -> ApiError {
        ApiError {
            otp: true,
            ..ApiError::new(StatusCode::UNAUTHORIZED, "otp_required", message)
        }
    }

    /// `403`: authenticated but not allowed.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// `404`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// `409`: conflicts with what exists.
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// `429` with `Retry-After`.
    pub fn too_many(message: impl Into<String>, retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        tracing::error!(error = %e, "storage failed");
        ApiError {
            retry_after: Some(1),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage",
                "the registry's storage failed; nothing was changed, retry later",
            )
        }
    }
}

impl From<LogError> for ApiError {
    fn from(e: LogError) -> ApiError {
        if let LogError::Invalid(reason) = &e {
            tracing::error!(%reason, "built an event the schema refuses");
            return ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("the registry built an invalid event ({reason}); nothing was changed"),
            );
        }
        tracing::warn!(error = %e, "the log did not acknowledge an event");
        ApiError {
            retry_after: Some(5),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "log_unavailable",
                format!(
                    "{e}; nothing was published or changed, retry later (a retry is logged once)"
                ),
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.message, "code": self.code});
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if self.otp {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("OTP"));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
