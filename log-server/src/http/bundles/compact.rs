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

/// How a compact answer is compressed, as the request's `Accept-Encoding`
/// allows: brotli first (at its fastest level it beats gzip in size and
/// time on these answers), then gzip. Proof hashes do not shrink; the
/// leaves' JSON and base64 do, to about a third.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Sent as is.
    Identity,
    /// `Content-Encoding: gzip`.
    Gzip,
    /// `Content-Encoding: br`.
    Brotli,
}

impl Encoding {
    /// The best encoding `headers` accept (`q=0` refuses one).
    pub fn accepted(headers: &HeaderMap) -> Encoding {
        let offers: Vec<String> = headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| {
                !v.split(';')
                    .skip(1)
                    .any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"))
            })
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned())
            .collect();
        if offers.iter().any(|v| v == "br") {
            Encoding::Brotli
        } else if offers.iter().any(|v| v == "gzip") {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }
}

/// A compact answer, compressed as [`Encoding`] says.
pub struct Body {
    bytes: Vec<u8>,
    encoding: Encoding,
}

impl Body {
    /// Compresses `bytes` (on the calling thread: call it on the blocking
    /// pool).
    pub fn new(bytes: Vec<u8>, encoding: Encoding) -> std::io::Result<Body> {
        use std::io::Write as _;
        let bytes = match encoding {
            Encoding::Identity => bytes,
            Encoding::Gzip => {
                let out = Vec::with_capacity(bytes.len() / 2);
                let mut w = flate2::write::GzEncoder::new(out, flate2::Compression::default());
                w.write_all(&bytes)?;
                w.finish()?
            }
            Encoding::Brotli => {
                let out = Vec::with_capacity(bytes.len() / 2);
                // Quality 1, a 4 MiB window: the fastest level, and
                // repeats across many leaves are still found.
                let mut w = brotli::CompressorWriter::new(out, 64 * 1024, 1, 22);
                w.write_all(&bytes)?;
                w.flush()?;
                w.into_inner()
            }
        };
        Ok(Body { bytes, encoding })
    }
}

/// A compact answer as an HTTP response.
pub fn response(body: Body) -> Response {
    let vary = (header::VARY, "accept, accept-encoding");
    let kind = (header::CONTENT_TYPE, CONTENT_TYPE);
    let coding = match body.encoding {
        Encoding::Identity => return ([kind, vary], body.bytes).into_response(),
        Encoding::Gzip => "gzip",
        Encoding::Brotli => "br",
    };
    ([kind, vary, (header::CONTENT_ENCODING, coding)], body.bytes).into_response()
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
