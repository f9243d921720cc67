//! The web explorer: read-only HTML pages over the same store reads as the
//! JSON API (docs/explorer.md).
//!
//! - `GET /`: search a package ([`timeline`]);
//! - `GET /package?registry=R&package=P[&after=I]`: its timeline, one
//!   bounded page at a time ([`timeline`]);
//! - `GET /entry/{index}`: the leaf, its proof and checkpoint, checked in
//!   the browser by `/explorer/verify.js` ([`entry`]);
//! - `GET /tree`: the served checkpoint and its cosignatures ([`tree`]).
//!
//! Pages are server-rendered and read without JavaScript; every string
//! from the log is HTML-escaped ([`page::esc`]). The assets are embedded.

pub mod alerts;
pub mod entry;
pub mod event;
pub mod page;
pub mod timeline;
pub mod tree;

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gatelog_core::LeafIndex;
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::query::{package_page, query, read_entry, registry_host};
use super::tiles::blocking;
use page::Frame;

/// Events per timeline page: the page stays small however long the
/// package's history is.
pub const PAGE_EVENTS: usize = 50;

/// Newest entries listed on the tree page.
pub const NEWEST: u64 = 10;

const VERIFY_JS: &str = include_str!("assets/verify.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// The explorer's routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(home))
        .route("/package", get(package))
        .route("/entry/{index}", get(entry))
        .route("/tree", get(tree))
        .route("/explorer/verify.js", get(verify_js))
        .route("/explorer/style.css", get(style_css))
}

fn frame(state: &AppState) -> (String, String) {
    (state.origin.clone(), state.log_key.to_string())
}

/// Renders `body` or the error as a page.
fn answer(state: &AppState, title: &str, body: Result<String, ApiError>) -> Response {
    let (origin, key) = frame(state);
    let frame = Frame {
        origin: &origin,
        log_key: &key,
    };
    match body {
        Ok(body) => page::respond(StatusCode::OK, page::html(&frame, title, &body)),
        Err(e) => page::error_page(&frame, &e),
    }
}

async fn home(State(state): State<Arc<AppState>>) -> Response {
    let body = timeline::home(&state.submitters.names());
    answer(&state, "Search", Ok(body))
}

/// Query of `GET /package`.
#[derive(Deserialize)]
pub struct PackageQuery {
    registry: Option<String>,
    package: Option<String>,
    after: Option<u64>,
}

async fn package(
    State(state): State<Arc<AppState>>,
    q: Result<Query<PackageQuery>, QueryRejection>,
) -> Response {
    let body = package_body(&state, q).await;
    answer(&state, "Package timeline", body)
}

async fn package_body(
    state: &AppState,
    q: Result<Query<PackageQuery>, QueryRejection>,
) -> Result<String, ApiError> {
    let q = query(q)?;
    let (Some(registry), Some(package)) = (q.registry, q.package) else {
        return Err(ApiError::bad_request(
            "bad_query",
            "give both a registry and a package",
        ));
    };
    let name = super::query::package(&package)?;
    let host = registry_host(&registry)?;
    let size = state.published.served().head().size;
    let store = state.store.clone();
    let after = q.after.map(LeafIndex);
    let key_host = host.clone();
    let (events, next) = blocking(move || {
        let (indexes, next) = package_page(&*store, key_host, &name, after, PAGE_EVENTS, size)?;
        let events = super::query::checked_entries(&*store, &indexes, size)?
            .into_iter()
            .map(|(i, leaf, _, _)| event::Shown::read(i, &leaf))
            .collect::<Vec<_>>();
        Ok((events, next))
    })
    .await?;
    let mut body = timeline::package(&timeline::Page {
        registry: &host,
        package: &package,
        events: &events,
        tree_size: size.0,
        after: q.after,
        next,
    });
    body += &flagged(state, Some(package)).await;
    Ok(body)
}

/// The monitor's alerts (about `package`), if the server was given a feed.
async fn flagged(state: &AppState, package: Option<String>) -> String {
    let Some(path) = state.monitor_alerts.clone() else {
        return String::new();
    };
    let about = package
        .as_ref()
        .map(|p| format!(" about {p}"))
        .unwrap_or_default();
    let read = tokio::task::spawn_blocking(move || alerts::read(&path, package.as_deref()))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    alerts::section(&read, &about)
}

async fn entry(
    State(state): State<Arc<AppState>>,
    index: Result<Path<u64>, PathRejection>,
) -> Response {
    let body = entry_body(&state, index).await;
    let title = match &body {
        Ok(_) => "Entry",
        Err(_) => "Error",
    };
    answer(&state, title, body)
}

async fn entry_body(
    state: &AppState,
    index: Result<Path<u64>, PathRejection>,
) -> Result<String, ApiError> {
    let Path(index) = index.map_err(|e| ApiError::bad_request("bad_index", e.body_text()))?;
    let checkpoint = state.published.served();
    let size = checkpoint.head().size;
    if index >= size.0 {
        return Err(ApiError::not_found(format!(
            "no entry {index} in a tree of size {size}"
        )));
    }
    let store = state.store.clone();
    let (leaf, leaf_hash, proof) =
        blocking(move || read_entry(&*store, LeafIndex(index), size)).await?;
    let shown = event::Shown::read(LeafIndex(index), &leaf);
    let registry = shown.text("registry").and_then(|r| registry_host(r).ok());
    Ok(entry::page(&entry::Entry {
        index: LeafIndex(index),
        leaf: &leaf,
        leaf_hash,
        proof: &proof,
        checkpoint: &checkpoint,
        registry,
    }))
}

async fn tree(State(state): State<Arc<AppState>>) -> Response {
    let body = tree_body(&state).await;
    answer(&state, "Tree", body)
}

async fn tree_body(state: &AppState) -> Result<String, ApiError> {
    let served = state.published.served();
    let size = served.head().size;
    let latest = state.published.get().head().size.0;
    let store = state.store.clone();
    let first = size.0.saturating_sub(NEWEST);
    let newest = blocking(move || {
        let indexes: Vec<LeafIndex> = (first..size.0).rev().map(LeafIndex).collect();
        Ok(super::query::checked_entries(&*store, &indexes, size)?
            .into_iter()
            .map(|(i, leaf, _, _)| event::Shown::read(i, &leaf))
            .collect::<Vec<_>>())
    })
    .await?;
    let mut body = tree::page(&served, &state.log_key, latest, &newest);
    body += &flagged(state, None).await;
    Ok(body)
}

async fn verify_js() -> Response {
    asset("text/javascript; charset=utf-8", VERIFY_JS)
}

async fn style_css() -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}
