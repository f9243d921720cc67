//! `npm trust` (`/-/package/<name>/trust…`) and the token exchange of
//! trusted publishing (`/-/npm/v1/oidc/token/exchange/package/<name>`), as
//! npm 11.21.2's `lib/trust-cmd.js`, `lib/commands/trust/*.js` and
//! `lib/utils/oidc.js` call them.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{AppState, otp_header};
use crate::error::ApiError;
use crate::trust::TrustConfig;

fn configs_json(configs: &[TrustConfig]) -> Value {
    Value::Array(configs.iter().map(TrustConfig::npm_json).collect())
}

/// `GET /-/package/<name>/trust` → the package's trusted publishers.
pub async fn list(
    State(app): AppState,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = app.authenticate(&headers)?;
    let configs = app.trust_list(&caller, &name)?;
    Ok(axum::Json(configs_json(&configs)).into_response())
}

/// `POST /-/package/<name>/trust` (OTP) → `201` with the ones added.
pub async fn add(
    State(app): AppState,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let caller = app.authenticate(&headers)?;
    let added = app
        .trust_add(&caller, &name, &body, otp_header(&headers))
        .await?;
    Ok((StatusCode::CREATED, axum::Json(configs_json(&added))).into_response())
}

/// `DELETE /-/package/<name>/trust/<id>` (OTP) → `204`.
pub async fn revoke(
    State(app): AppState,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = app.authenticate(&headers)?;
    app.trust_revoke(&caller, &name, &id, otp_header(&headers))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /-/npm/v1/oidc/token/exchange/package/<name>` with the ID token
/// as the bearer → `201 {"token"}`.
pub async fn exchange(
    State(app): AppState,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("send the CI job's ID token as the bearer token"))?;
    match app.exchange(&name, id_token).await {
        Ok(token) => Ok((StatusCode::CREATED, axum::Json(json!({"token": token}))).into_response()),
        Err(e) => Ok(with_message(e)),
    }
}

/// An error answer that also carries `message`: npm's `oidc.js` logs
/// `body.message` of a refused exchange (with `--loglevel verbose`).
fn with_message(e: ApiError) -> Response {
    let (message, code) = (e.message.clone(), e.code);
    let (parts, _) = e.into_response().into_parts();
    let body = json!({"error": message, "message": message, "code": code});
    (parts, axum::Json(body)).into_response()
}
