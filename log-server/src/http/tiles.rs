//! The c2sp.org/tlog-tiles read API: `GET /checkpoint`, `GET /tile/<L>/<N>[.p/<W>]`
//! and `GET /tile/entries/<N>[.p/<W>]`. Only tiles that exist at the
//! latest signed size are served, so nothing unsigned leaks out; tile
//! contents never change once they exist, so they are cached forever.
//! Each tile is checked against the stored level below it before it is
//! served ([`integrity`]).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use gatelog_core::tile::{
    TilePath, encode_entry_bundle, encode_tile, parse_tile_path, tile_hash_ids,
};

use super::AppState;
use super::error::ApiError;
use super::integrity;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `GET /checkpoint`.
pub async fn checkpoint(State(state): State<Arc<AppState>>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            // The spec asks that the checkpoint not be cached beyond a few seconds.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        state.published.served().to_bytes(),
    )
        .into_response()
}

/// `GET /tile/*`. The path is parsed as sent, not percent-decoded: a tile
/// has one canonical path, so `tile/0%2F000` is not another name for
/// `tile/0/000` (whose bytes caches keep forever).
pub async fn tile(State(state): State<Arc<AppState>>, uri: Uri) -> Response {
    let rest = uri
        .path()
        .strip_prefix("/tile/")
        .unwrap_or_default()
        .to_owned();
    match tile_inner(state, rest).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (header::CACHE_CONTROL, IMMUTABLE),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn tile_inner(state: Arc<AppState>, rest: String) -> Result<Vec<u8>, ApiError> {
    let path = format!("tile/{rest}");
    let parsed = parse_tile_path(&path)
        .map_err(|e| ApiError::bad_request("bad_tile_path", e.to_string()))?;
    let size = state.published.get().head().size;
    let store = state.store.clone();
    match parsed {
        TilePath::Hashes(tile) => {
            if !tile.is_available_at(size) {
                return Err(ApiError::not_found(format!(
                    "{path} does not exist at tree size {size}"
                )));
            }
            let ids = tile_hash_ids(tile).map_err(|e| ApiError::not_found(e.to_string()))?;
            let hashes = blocking(move || {
                let hashes = store.read_hashes(&ids)?;
                integrity::check_tile(&*store, &ids, &hashes)?;
                Ok(hashes)
            })
            .await?;
            encode_tile(tile, &hashes).map_err(|e| ApiError::not_found(e.to_string()))
        }
        TilePath::Entries(bundle) => {
            if !bundle.is_available_at(size) {
                return Err(ApiError::not_found(format!(
                    "{path} does not exist at tree size {size}"
                )));
            }
            let start = bundle.index() * 256;
            let count = u64::from(bundle.width());
            let leaves = blocking(move || {
                let leaves = store.read_leaves(start, count)?;
                integrity::check_entries(&*store, start, &leaves)?;
                Ok(leaves)
            })
            .await?;
            encode_entry_bundle(leaves.iter().map(Vec::as_slice))
                .map_err(|e| ApiError::from(crate::store::StoreError::Corrupt(e.to_string())))
        }
    }
}

/// Runs store reads off the async workers.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::from(crate::store::StoreError::Backend(e.to_string())))?
        .map_err(ApiError::from)
}
