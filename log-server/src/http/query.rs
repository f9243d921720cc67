//! The JSON read API: entries, proofs, a package's events and release
//! bundles. Every answer is computed against one signed checkpoint (the
//! latest, unless a `tree_size` is asked for) and carries it or its size.
//! Every entry and proof is checked against the stored tree before it is
//! served ([`integrity`]).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use gatelog_core::event::{PackageName, Registry};
use gatelog_core::merkle::{
    consistency_proof, consistency_proof_nodes, inclusion_proof, inclusion_proof_nodes,
};
use gatelog_core::wire::parse_bundles_request;
use gatelog_core::{Hash, InclusionProof, LeafIndex, NodeId, SignedCheckpoint, TreeSize};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::bundles::{BundleError, Release, bundles_json, compact};
use super::direct_json;
use super::error::ApiError;
use super::integrity;
use super::json::{checkpoint_json, entry_json};
use super::tiles::blocking;
use crate::store::{IndexKey, LogStore, StoreError};

/// Most events per page of `GET /v1/events`.
pub const MAX_PAGE: usize = 1000;
/// Most releases in one `POST /v1/bundles`.
pub const MAX_BUNDLES: usize = gatelog_core::wire::MAX_BUNDLE_RELEASES;

type Store = Arc<dyn LogStore>;

/// The tree size to answer for: `asked` if it is covered by the latest
/// checkpoint, else the served one's size.
pub(super) fn size_for(state: &AppState, asked: Option<u64>) -> Result<TreeSize, ApiError> {
    let latest = state.published.get().head().size;
    match asked {
        None => Ok(state.published.served().head().size),
        Some(s) if s <= latest.0 => Ok(TreeSize(s)),
        Some(s) => Err(ApiError::bad_request(
            "bad_tree_size",
            format!("tree_size {s} is beyond the latest checkpoint ({latest})"),
        )),
    }
}

/// One checked entry: its index, leaf bytes, leaf hash and inclusion proof.
pub type CheckedEntry = (LeafIndex, Vec<u8>, Hash, InclusionProof);

/// Reads leaves and their inclusion proofs at `size` with one hash read,
/// each checked against the stored tree.
pub fn checked_entries(
    store: &dyn LogStore,
    indexes: &[LeafIndex],
    size: TreeSize,
) -> Result<Vec<CheckedEntry>, StoreError> {
    let mut ids: Vec<NodeId> = Vec::new();
    let mut spans = Vec::with_capacity(indexes.len());
    for &i in indexes {
        let nodes = inclusion_proof_nodes(i, size)?;
        spans.push((ids.len(), nodes.len()));
        ids.push(NodeId::leaf(i));
        ids.extend(nodes);
    }
    let hashes = store.read_hashes(&ids)?;
    let root = integrity::stored_root(store, size)?;
    let mut out = Vec::with_capacity(indexes.len());
    for (&i, (start, n)) in indexes.iter().zip(spans) {
        let leaf = store
            .read_leaves(i.0, 1)?
            .pop()
            .ok_or_else(|| StoreError::Missing(format!("leaf {i}")))?;
        let proof: InclusionProof = inclusion_proof(i, size, &hashes[start + 1..start + 1 + n])?;
        integrity::check_entry(i, &leaf, &hashes[start], &proof, &root)?;
        out.push((i, leaf, hashes[start], proof));
    }
    Ok(out)
}

/// [`checked_entries`] as the JSON of `GET /v1/events`.
fn entries_with_proofs(
    store: &dyn LogStore,
    indexes: &[LeafIndex],
    size: TreeSize,
) -> Result<Vec<Value>, StoreError> {
    Ok(checked_entries(store, indexes, size)?
        .iter()
        .map(|(i, leaf, hash, proof)| entry_json(*i, leaf, *hash, proof))
        .collect())
}

/// A package's events at one registry after `after`, at most `limit`,
/// among the first `size` entries; and the `after` of the next page when
/// this one is full.
pub fn package_page(
    store: &dyn LogStore,
    registry: String,
    name: &PackageName,
    after: Option<LeafIndex>,
    limit: usize,
    size: TreeSize,
) -> Result<(Vec<LeafIndex>, Option<u64>), StoreError> {
    let key = IndexKey::Package(registry, name.as_str().to_owned());
    let indexes: Vec<LeafIndex> = store
        .scan(&key, after, limit)?
        .into_iter()
        .filter(|i| size.contains(*i))
        .collect();
    let next = (indexes.len() == limit).then(|| indexes[limit - 1].0);
    Ok((indexes, next))
}

/// One entry and its inclusion proof at `size`, checked against the
/// stored tree: one point read of the leaf and one read of the lowest
/// proof hashes (the upper levels are in memory).
pub fn read_entry(
    store: &dyn LogStore,
    index: LeafIndex,
    size: TreeSize,
) -> Result<(Vec<u8>, Hash, InclusionProof), StoreError> {
    let nodes = inclusion_proof_nodes(index, size)?;
    let mut ids = Vec::with_capacity(nodes.len() + 1);
    ids.push(NodeId::leaf(index));
    ids.extend(nodes);
    let hashes = store.read_hashes(&ids)?;
    let leaf = store
        .read_leaves(index.0, 1)?
        .pop()
        .ok_or_else(|| StoreError::Missing(format!("leaf {index}")))?;
    let proof = inclusion_proof(index, size, &hashes[1..])?;
    // Never serve damaged storage as good (docs/reliability.md, promise 5).
    let root = integrity::stored_root(store, size)?;
    integrity::check_entry(index, &leaf, &hashes[0], &proof, &root)?;
    Ok((leaf, hashes[0], proof))
}

/// One entry and its inclusion proof at `size`, as JSON ([`read_entry`]).
/// That is cheap enough to run on the async worker: handing it
/// to the blocking pool costs more than the reads.
fn entry_answer(
    store: &dyn LogStore,
    index: LeafIndex,
    size: TreeSize,
) -> Result<Response, ApiError> {
    let (leaf, hash, proof) = read_entry(store, index, size)?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        direct_json::entry(index, &leaf, &hash, &proof),
    )
        .into_response())
}

/// Query of `GET /v1/entries/{index}`.
#[derive(Deserialize)]
pub struct SizeQuery {
    tree_size: Option<u64>,
}

/// `GET /v1/entries/{index}?tree_size=N`.
pub async fn entry(
    State(state): State<Arc<AppState>>,
    index: Result<Path<u64>, PathRejection>,
    q: Result<Query<SizeQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let Path(index) = index.map_err(|e| ApiError::bad_request("bad_index", e.body_text()))?;
    let size = size_for(&state, q.tree_size)?;
    if index >= size.0 {
        return Err(ApiError::not_found(format!(
            "no entry {index} in a tree of size {size}"
        )));
    }
    entry_answer(&*state.store, LeafIndex(index), size)
}

/// Query of `GET /v1/proofs/inclusion`.
#[derive(Deserialize)]
pub struct InclusionQuery {
    index: Option<u64>,
    leaf_hash: Option<String>,
    tree_size: Option<u64>,
}

/// `GET /v1/proofs/inclusion?index=I|leaf_hash=H[&tree_size=N]`.
pub async fn inclusion(
    State(state): State<Arc<AppState>>,
    q: Result<Query<InclusionQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let size = size_for(&state, q.tree_size)?;
    let index = match (q.index, q.leaf_hash) {
        (Some(i), None) => LeafIndex(i),
        (None, Some(h)) => {
            let hash = Hash::from_hex(&h).ok_or_else(|| {
                ApiError::bad_request("bad_leaf_hash", "leaf_hash must be 64 hex digits")
            })?;
            state
                .store
                .lookup(&IndexKey::LeafHash(hash))?
                .ok_or_else(|| ApiError::not_found(format!("no entry with leaf hash {h}")))?
        }
        _ => {
            return Err(ApiError::bad_request(
                "bad_query",
                "give exactly one of index and leaf_hash",
            ));
        }
    };
    if !size.contains(index) {
        return Err(ApiError::not_found(format!(
            "no entry {index} in a tree of size {size}"
        )));
    }
    entry_answer(&*state.store, index, size)
}

/// Query of `GET /v1/proofs/consistency`.
#[derive(Deserialize)]
pub struct ConsistencyQuery {
    old: u64,
    new: Option<u64>,
}

/// `GET /v1/proofs/consistency?old=M[&new=N]`.
pub async fn consistency(
    State(state): State<Arc<AppState>>,
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let new = size_for(&state, q.new)?;
    let old = TreeSize(q.old);
    if old > new {
        return Err(ApiError::bad_request(
            "bad_tree_size",
            format!("old size {old} is larger than new size {new}"),
        ));
    }
    let store: Store = state.store.clone();
    let proof = blocking(move || {
        let hashes = store.read_hashes(&consistency_proof_nodes(old, new)?)?;
        Ok(consistency_proof(old, new, &hashes)?)
    })
    .await?;
    Ok(Json(json!({"old_size": old.0, "new_size": new.0, "path": proof.path})).into_response())
}

/// Turns axum's query rejection into the API's JSON error.
pub fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::bad_request("bad_query", e.body_text()))
}

/// Parses a package name, as the API's `bad_package` error when invalid.
pub fn package(name: &str) -> Result<PackageName, ApiError> {
    PackageName::parse(name).map_err(|e| ApiError::bad_request("bad_package", e.to_string()))
}

/// The host the log keys a registry by, from its origin
/// (`https://registry.example`) or the host itself (`registry.example`):
/// `http://` and `https://` of one host are one registry.
pub fn registry_host(text: &str) -> Result<String, ApiError> {
    let origin = if text.contains("://") {
        text.to_owned()
    } else {
        format!("https://{text}")
    };
    Registry::parse(&origin)
        .map(|r| r.host().to_owned())
        .map_err(|e| ApiError::bad_request("bad_registry", e.to_string()))
}

impl From<BundleError> for ApiError {
    fn from(e: BundleError) -> ApiError {
        match e {
            BundleError::Store(s) => ApiError::from(s),
            too_much => ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                too_much.to_string(),
            ),
        }
    }
}

/// [`blocking`] for bundle work.
async fn blocking_bundles(
    f: impl FnOnce() -> Result<String, BundleError> + Send + 'static,
) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::from(StoreError::Backend(e.to_string())))?
        .map_err(ApiError::from)
}

/// Query of `GET /v1/events`.
#[derive(Deserialize)]
pub struct EventsQuery {
    registry: String,
    package: String,
    after: Option<u64>,
    limit: Option<usize>,
}

/// `GET /v1/events?registry=R&package=P[&after=I][&limit=L]`: a package's
/// events at one registry in log order, with proofs against the latest
/// checkpoint.
pub async fn events(
    State(state): State<Arc<AppState>>,
    q: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let name = package(&q.package)?;
    let registry = registry_host(&q.registry)?;
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let cp = state.published.served();
    let size = cp.head().size;
    let store: Store = state.store.clone();
    let after = q.after.map(LeafIndex);
    let (entries, next) = blocking(move || {
        let (indexes, next) = package_page(&*store, registry, &name, after, limit, size)?;
        Ok((entries_with_proofs(&*store, &indexes, size)?, next))
    })
    .await?;
    Ok(Json(json!({
        "registry": registry_host(&q.registry)?,
        "package": q.package,
        "checkpoint": checkpoint_json(&cp),
        "events": entries,
        "next_after": next,
    }))
    .into_response())
}

/// A bundles answer: `{"bundles": [...], "checkpoint": {...}}`, the
/// bundles already rendered as a JSON array.
fn bundles_response(bundles: String, cp: &SignedCheckpoint) -> Response {
    let checkpoint = checkpoint_json(cp).to_string();
    let mut body = String::with_capacity(bundles.len() + checkpoint.len() + 32);
    body.push_str(r#"{"bundles":"#);
    body.push_str(&bundles);
    body.push_str(r#","checkpoint":"#);
    body.push_str(&checkpoint);
    body.push('}');
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// Query of `GET /v1/bundle`.
#[derive(Deserialize)]
pub struct BundleQuery {
    registry: String,
    package: String,
    version: String,
}

/// `GET /v1/bundle?registry=R&package=P&version=V`: one release bundle,
/// in the compact form when `Accept` asks for it (as `POST /v1/bundles`).
pub async fn bundle_one(
    State(state): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
    q: Result<Query<BundleQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let name = package(&q.package)?;
    let cp: Arc<SignedCheckpoint> = state.published.served();
    let size = cp.head().size;
    let store: Store = state.store.clone();
    let wanted = [Release {
        registry: registry_host(&q.registry)?,
        package: name,
        version: q.version.clone(),
    }];
    if compact::wants_compact(&headers) {
        return compact_response(&headers, store, Vec::from(wanted), cp).await;
    }
    let bundles = blocking_bundles(move || bundles_json(&*store, &wanted, size)).await?;
    Ok(bundles_response(bundles, &cp))
}

/// A compact answer for `wanted` at the served checkpoint `cp`, encoded as
/// `Accept-Encoding` asks.
async fn compact_response(
    headers: &axum::http::HeaderMap,
    store: Store,
    wanted: Vec<Release>,
    cp: Arc<SignedCheckpoint>,
) -> Result<Response, ApiError> {
    let size = cp.head().size;
    let note = cp.to_bytes();
    let encoding = compact::Encoding::accepted(headers);
    let body = tokio::task::spawn_blocking(move || {
        let bytes = compact::compact_answer(&*store, &wanted, size, note)?;
        compact::Body::new(bytes, encoding)
            .map_err(|e| BundleError::Store(StoreError::Backend(e.to_string())))
    })
    .await
    .map_err(|e| ApiError::from(StoreError::Backend(e.to_string())))??;
    Ok(compact::response(body))
}

/// Largest body of `POST /v1/bundles`.
pub const MAX_BUNDLES_BODY: usize = 4 * 1024 * 1024;

/// `POST /v1/bundles`: bundles for many releases (a whole lockfile).
pub async fn bundles_many(
    State(state): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let bytes = super::submit::read_body(body, MAX_BUNDLES_BODY).await?;
    let req = parse_bundles_request(&bytes).map_err(|e| {
        ApiError::bad_request(
            "bad_request",
            format!("expected {{\"releases\": [{{\"registry\", \"package\", \"version\"}}]}}: {e}"),
        )
    })?;
    if req.count > MAX_BUNDLES {
        return Err(ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "at most {MAX_BUNDLES} releases per request, got {}",
                req.count
            ),
        ));
    }
    let mut wanted = Vec::with_capacity(req.releases.len());
    for r in req.releases {
        wanted.push(Release {
            registry: registry_host(&r.registry)?,
            package: package(&r.package)?,
            version: r.version,
        });
    }
    let cp = state.published.served();
    let size = cp.head().size;
    let store: Store = state.store.clone();
    if compact::wants_compact(&headers) {
        return compact_response(&headers, store, wanted, cp).await;
    }
    let bundles = blocking_bundles(move || bundles_json(&*store, &wanted, size)).await?;
    Ok(bundles_response(bundles, &cp))
}
