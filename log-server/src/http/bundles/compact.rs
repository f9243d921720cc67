//! The compact form of the bundles answer (`gatelog-bundles/compact-v1`,
//! docs/formats.md), served to requests that accept
//! [`gatelog_core::compact_bundles::CONTENT_TYPE`]: the same bundles as
//! the JSON form, planned by the same code and under the same limits, with
//! each entry once and one multi-leaf proof for all of them.

use std::collections::HashMap;

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use gatelog_core::compact_bundles::{CONTENT_TYPE, ChainState, CompactAnswer, CompactRelease};
use gatelog_core::multiproof::{multiproof, multiproof_nodes};
use gatelog_core::{LeafIndex, NodeId, TreeSize};

use super::{BundleError, MAX_ANSWER_BYTES, Release, plan, read_leaves_at};
use crate::http::integrity;
use crate::store::LogStore;

/// Whether the request's `Accept` names the compact form.
pub fn wants_compact(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.split(';').next().unwrap_or_default().trim() == CONTENT_TYPE)
}

/// Whether the request's `Accept-Encoding` takes gzip.
pub fn takes_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim())
        .any(|v| v == "gzip" || (v.starts_with("gzip;") && !v.ends_with("q=0")))
}

/// A compact answer, gzip-compressed when `gzip`: its leaves are JSON
/// with base64 payloads and shrink to about a third; proof hashes do not.
pub struct Body {
    bytes: Vec<u8>,
    gzip: bool,
}

impl Body {
    /// Compresses `bytes` when `gzip` (on the calling thread: call it on
    /// the blocking pool).
    pub fn new(bytes: Vec<u8>, gzip: bool) -> std::io::Result<Body> {
        if !gzip {
            return Ok(Body { bytes, gzip });
        }
        use std::io::Write as _;
        let mut encoder = flate2::write::GzEncoder::new(
            Vec::with_capacity(bytes.len() / 2),
            flate2::Compression::default(),
        );
        encoder.write_all(&bytes)?;
        Ok(Body {
            bytes: encoder.finish()?,
            gzip,
        })
    }
}

/// A compact answer as an HTTP response.
pub fn response(body: Body) -> Response {
    let vary = (header::VARY, "accept, accept-encoding");
    let kind = (header::CONTENT_TYPE, CONTENT_TYPE);
    if body.gzip {
        ([kind, vary, (header::CONTENT_ENCODING, "gzip")], body.bytes).into_response()
    } else {
        ([kind, vary], body.bytes).into_response()
    }
}

/// Reads the leaves at `indexes` (ascending) in pieces, stopping as soon
/// as their bytes pass [`MAX_ANSWER_BYTES`].
fn leaves_within_budget(
    store: &dyn LogStore,
    indexes: &[LeafIndex],
) -> Result<Vec<Vec<u8>>, BundleError> {
    let mut out = Vec::with_capacity(indexes.len());
    let mut bytes = 0usize;
    for piece in indexes.chunks(512) {
        let leaves = read_leaves_at(store, piece)?;
        bytes += leaves.iter().map(|l| l.len() + 10).sum::<usize>();
        if bytes > MAX_ANSWER_BYTES {
            return Err(BundleError::TooLarge {
                bytes,
                max: MAX_ANSWER_BYTES,
            });
        }
        out.extend(leaves);
    }
    Ok(out)
}

/// The compact answer for `releases` at `size` with the signed
/// `checkpoint` of that size: each leaf is checked against its stored
/// hash and the proof against the stored root before it is served.
pub fn compact_answer(
    store: &dyn LogStore,
    releases: &[Release],
    size: TreeSize,
    checkpoint: Vec<u8>,
) -> Result<Vec<u8>, BundleError> {
    let (releases, per_release, distinct) = plan(store, releases, size)?;
    let leaves = leaves_within_budget(store, &distinct)?;
    let mut ids: Vec<NodeId> = distinct.iter().map(|i| NodeId::leaf(*i)).collect();
    ids.extend(multiproof_nodes(&distinct, size).map_err(crate::store::StoreError::from)?);
    let hashes = store.read_hashes(&ids)?;
    let (stored_leaves, nodes) = hashes.split_at(distinct.len());
    let proof = multiproof(&distinct, size, nodes).map_err(crate::store::StoreError::from)?;
    // Never serve damaged storage as good (docs/reliability.md).
    integrity::check_multiproof(store, size, &distinct, &leaves, stored_leaves, &proof)?;
    let at: HashMap<LeafIndex, u32> = distinct
        .iter()
        .enumerate()
        .map(|(k, i)| (*i, k as u32))
        .collect();
    let answer = CompactAnswer {
        tree_size: size,
        checkpoint,
        leaves: distinct.into_iter().zip(leaves).collect(),
        proof,
        releases: releases
            .iter()
            .zip(per_release)
            .map(|(r, b)| CompactRelease {
                registry: r.registry.clone(),
                package: r.package.as_str().to_owned(),
                version: r.version.clone(),
                chain: match (b.complete, b.head) {
                    (true, Some(head)) => ChainState::Head(head),
                    (true, None) => ChainState::Empty,
                    (false, _) => ChainState::Capped,
                },
                entries: b.entries.iter().map(|i| at[i]).collect(),
            })
            .collect(),
    };
    let bytes = answer.to_bytes();
    if bytes.len() > MAX_ANSWER_BYTES {
        return Err(BundleError::TooLarge {
            bytes: bytes.len(),
            max: MAX_ANSWER_BYTES,
        });
    }
    Ok(bytes)
}
