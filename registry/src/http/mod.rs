//! The npm registry HTTP API, as the npm CLI speaks it (read from npm
//! 11.21.2's `lib/commands/stage/*.js`, `lib/commands/publish.js`,
//! `libnpmpublish` and `npm-registry-fetch`):
//!
//! | method and path | npm command |
//! | --- | --- |
//! | `GET /-/whoami` | `npm whoami` |
//! | `POST /-/stage/package/<name>` | `npm stage publish` |
//! | `GET /-/stage?page=&perPage=&package=` | `npm stage list` |
//! | `GET /-/stage/<id>` | `npm stage view` |
//! | `GET /-/stage/<id>/tarball` | `npm stage download` |
//! | `GET /-/stage/<id>/log` | the log acknowledgements of an item (gatelog) |
//! | `POST /-/stage/<id>/approve` | `npm stage approve --otp` |
//! | `DELETE /-/stage/<id>` | `npm stage reject --otp` |
//! | `GET /-/npm/v1/keys` | `npm audit signatures` (the registry's signing key) |
//! | `GET /-/package/<name>/trust` | `npm trust list` |
//! | `POST /-/package/<name>/trust` | `npm trust github\|gitlab --otp` |
//! | `DELETE /-/package/<name>/trust/<id>` | `npm trust revoke --otp` |
//! | `POST /-/npm/v1/oidc/token/exchange/package/<name>` | trusted publishing in CI (ID token → token) |
//! | `GET /-/package/<name>/dist-tags` | `npm dist-tag ls` |
//! | `PUT /-/package/<name>/dist-tags/<tag>` | `npm dist-tag add --otp` |
//! | `DELETE /-/package/<name>/dist-tags/<tag>` | `npm dist-tag rm --otp` |
//! | `GET /-/user/org.couchdb.user:<user>` | `npm owner add` (the user exists) |
//! | `PUT /<name>/-rev/<rev>` | `npm owner add\|rm --otp` (new `maintainers`) |
//! | `PUT /<name>` | `npm publish` (with `_attachments`), `npm deprecate --otp` (without) |
//! | `GET /<name>` | packument (full, or abbreviated for `application/vnd.npm.install-v1+json`) |
//! | `GET /<name>/-/<file>.tgz` | tarball |

mod meta;
mod packages;
mod trust;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::error::ApiError;
use crate::store::StageItem;

/// The router over `app`, refusing bodies over `max_body` bytes (`413`).
pub fn router(app: Arc<App>, max_body: usize) -> Router {
    Router::new()
        .route("/-/whoami", get(whoami))
        .route("/-/ping", get(|| async { axum::Json(json!({})) }))
        .route("/-/npm/v1/keys", get(keys))
        .route("/-/stage", get(stage_list))
        .route("/-/stage/package/{name}", post(stage_publish))
        .route("/-/stage/{id}", get(stage_view).delete(stage_reject))
        .route("/-/stage/{id}/tarball", get(stage_tarball))
        .route("/-/stage/{id}/log", get(stage_log))
        .route("/-/stage/{id}/approve", post(stage_approve))
        .route("/-/package/{name}/trust", get(trust::list).post(trust::add))
        .route("/-/package/{name}/trust/{id}", delete(trust::revoke))
        .route("/-/package/{name}/dist-tags", get(meta::dist_tags))
        .route(
            "/-/package/{name}/dist-tags/{tag}",
            put(meta::dist_tag_set).delete(meta::dist_tag_remove),
        )
        .route("/-/user/{id}", get(meta::user))
        .route(
            "/-/npm/v1/oidc/token/exchange/package/{name}",
            post(trust::exchange),
        )
        .fallback(packages::fallback)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(app)
}

type AppState = State<Arc<App>>;

async fn whoami(State(app): AppState, headers: HeaderMap) -> Result<Response, ApiError> {
    let caller = app.authenticate(&headers)?;
    Ok(axum::Json(json!({"username": caller.user})).into_response())
}

async fn keys(State(app): AppState) -> Response {
    axum::Json(app.signer.keys_json()).into_response()
}

/// A stage item as `npm stage list`/`view` print it (flat fields).
fn item_json(item: &StageItem) -> Value {
    let mut v = json!({
        "id": item.id,
        "packageName": item.package,
        "version": item.version,
        "tag": item.tag,
        "createdAt": item.created_at,
        "actor": item.actor,
        "actorType": item.actor_type,
        "shasum": item.shasum,
        "integrity": item.integrity,
        "status": item.status.as_str(),
        "stageLogIndex": item.stage.ack.index,
    });
    for (field, logged) in [
        ("approveLogIndex", &item.approve),
        ("publishLogIndex", &item.publish),
        ("rejectLogIndex", &item.reject),
    ] {
        if let Some(l) = logged {
            v[field] = l.ack.index.into();
        }
    }
    v
}

async fn stage_publish(
    State(app): AppState,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let caller = app.authenticate(&headers)?;
    let item = app.stage(&caller, &name, &body).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"stageId": item.id, "stageLogIndex": item.stage.ack.index})),
    )
        .into_response())
}

#[derive(Deserialize)]
struct ListQuery {
    page: Option<usize>,
    #[serde(rename = "perPage")]
    per_page: Option<usize>,
    package: Option<String>,
}

async fn stage_list(
    State(app): AppState,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let caller = app.authenticate(&headers)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let per_page = q.per_page.unwrap_or(100).clamp(1, 1000);
    let page = q.page.unwrap_or(0);
    let mut items = app.stage_items(&caller, q.package.as_deref())?;
    items.retain(|i| i.status == crate::store::StageStatus::Staged);
    let total = items.len();
    let items: Vec<Value> = items
        .iter()
        .skip(page.saturating_mul(per_page))
        .take(per_page)
        .map(item_json)
        .collect();
    Ok(axum::Json(json!({"items": items, "total": total})).into_response())
}

/// The item `id`, if `caller` maintains its package (else `404`, so ids of
/// others' packages are not disclosed).
fn visible_item(app: &App, headers: &HeaderMap, id: &str) -> Result<StageItem, ApiError> {
    let caller = app.authenticate(headers)?;
    let item = app.stage_item(id)?;
    let maintains = app
        .package(&item.package)?
        .is_some_and(|p| p.maintainers.contains(&caller.user));
    if !maintains {
        return Err(ApiError::not_found(format!(
            "no staged package with id {id}"
        )));
    }
    Ok(item)
}

async fn stage_view(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let item = visible_item(&app, &headers, &id)?;
    Ok(axum::Json(item_json(&item)).into_response())
}

async fn stage_log(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let item = visible_item(&app, &headers, &id)?;
    let body = json!({"stage": item.stage, "approve": item.approve,
                      "publish": item.publish, "reject": item.reject});
    Ok(axum::Json(body).into_response())
}

async fn stage_tarball(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let item = visible_item(&app, &headers, &id)?;
    packages::tarball_response(&app, &item.integrity)
}

fn otp_header(headers: &HeaderMap) -> Option<&str> {
    headers.get("npm-otp").and_then(|v| v.to_str().ok())
}

async fn stage_approve(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = app.authenticate(&headers)?;
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let device = crate::device::DeviceApproval::from_headers(&headers)?;
    let item = app
        .approve(&caller, &id, otp_header(&headers), ua, device.as_ref())
        .await?;
    Ok(axum::Json(item_json(&item)).into_response())
}

async fn stage_reject(
    State(app): AppState,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = app.authenticate(&headers)?;
    let item = app.reject(&caller, &id, otp_header(&headers)).await?;
    Ok(axum::Json(item_json(&item)).into_response())
}
