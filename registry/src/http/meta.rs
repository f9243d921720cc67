//! `npm dist-tag`, `npm owner` and the user lookup `npm owner add` makes
//! first, as npm 11.21.2's `lib/commands/dist-tag.js` and
//! `lib/commands/owner.js` call them. (`npm deprecate` and the owner
//! change itself are `PUT`s of package paths, in `packages`.)

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{AppState, otp_header};
use crate::error::ApiError;
use crate::store::User;

/// `GET /-/package/<name>/dist-tags` → `{tag: version}`.
pub async fn dist_tags(
    State(app): AppState,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let pkg = app
        .package(&name)?
        .filter(|p| !p.versions.is_empty())
        .ok_or_else(|| ApiError::not_found(format!("{name} is not in this registry")))?;
    Ok(axum::Json(pkg.dist_tags).into_response())
}

/// `PUT /-/package/<name>/dist-tags/<tag>` (OTP), the version as a JSON
/// string.
pub async fn dist_tag_set(
    State(app): AppState,
    Path((name, tag)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let caller = app.authenticate(&headers)?;
    let tags = app
        .dist_tag_set(&caller, &name, &tag, &body, otp_header(&headers))
        .await?;
    Ok(axum::Json(json!({"ok": true, "dist-tags": tags})).into_response())
}

/// `DELETE /-/package/<name>/dist-tags/<tag>` (OTP).
pub async fn dist_tag_remove(
    State(app): AppState,
    Path((name, tag)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = app.authenticate(&headers)?;
    let tags = app
        .dist_tag_remove(&caller, &name, &tag, otp_header(&headers))
        .await?;
    Ok(axum::Json(json!({"ok": true, "dist-tags": tags})).into_response())
}

/// `GET /-/user/org.couchdb.user:<name>` → `{"name"}` of a registry user
/// (a signed-in caller only). Users have no e-mail address here.
pub async fn user(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    app.authenticate(&headers)?;
    let name = id
        .strip_prefix("org.couchdb.user:")
        .ok_or_else(|| ApiError::not_found("no such endpoint; see docs/registry.md"))?;
    let user: User = app
        .store
        .get(&format!("user/{name}"))?
        .ok_or_else(|| ApiError::not_found(format!("no user {name}")))?;
    Ok(axum::Json(json!({"_id": id, "name": user.name})).into_response())
}
