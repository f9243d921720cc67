//! `POST /v1/proofs/inclusion`: many entries with their inclusion proofs
//! at one tree size in one answer. A verifying reader that checks a
//! thousand entries pays one request, one hash read and one root check
//! instead of a thousand; each entry is the object `GET
//! /v1/proofs/inclusion` answers, checked against the stored tree the same
//! way ([`super::query::checked_entries`]).

use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatelog_core::LeafIndex;
use gatelog_core::wire::{MAX_PROOF_INDEXES, parse_inclusion_request};

use super::AppState;
use super::direct_json;
use super::error::ApiError;
use super::query::{checked_entries, size_for};
use super::tiles::blocking;

/// Largest body: a thousand 20-digit indexes and their commas fit.
pub const MAX_INCLUSION_BODY: usize = 32 * 1024;

/// `POST /v1/proofs/inclusion` with `{"tree_size": N, "indexes": [I, …]}`
/// → `{"entries": [entry, …], "tree_size": N}`, the entries in the order
/// asked (repeats answered again).
pub async fn inclusion_many(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let bytes = super::submit::read_body(body, MAX_INCLUSION_BODY).await?;
    let req = parse_inclusion_request(&bytes).map_err(|e| {
        ApiError::bad_request(
            "bad_request",
            format!("expected {{\"tree_size\": N, \"indexes\": [I, …]}}: {e}"),
        )
    })?;
    if req.count > MAX_PROOF_INDEXES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "at most {MAX_PROOF_INDEXES} indexes per request, got {}",
                req.count
            ),
        ));
    }
    let size = size_for(&state, req.tree_size)?;
    if let Some(i) = req.indexes.iter().find(|&&i| i >= size.0) {
        return Err(ApiError::not_found(format!(
            "no entry {i} in a tree of size {size}"
        )));
    }
    let indexes: Vec<LeafIndex> = req.indexes.into_iter().map(LeafIndex).collect();
    let store = state.store.clone();
    let entries = blocking(move || checked_entries(&*store, &indexes, size)).await?;
    let mut out = String::with_capacity(entries.len() * 2048 + 64);
    out.push_str("{\"entries\":[");
    for (n, (i, leaf, hash, proof)) in entries.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push_str(&direct_json::entry(*i, leaf, hash, proof));
    }
    out.push_str("],\"tree_size\":");
    out.push_str(&size.0.to_string());
    out.push('}');
    Ok(([(header::CONTENT_TYPE, "application/json")], out).into_response())
}
