//! An inclusion proof checked by hand, step by step, so a person sees what
//! every client of the log does on each answer: hash the leaf bytes
//! received, climb the proof path to a root, and compare it with the root
//! of a checkpoint whose signature verifies.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_core::merkle::root_from_inclusion_path;
use gatelog_core::{Hash, LeafIndex, leaf_hash};
use serde_json::Value;

use super::DemoError;
use super::play::Pick;
use super::show::{Colour, Out};
use gatelog_client::logclient::LogClient;

/// Fetches the inclusion proof of `pick` and checks it by hand; returns
/// whether the computed root matches the signed one.
pub async fn by_hand(
    out: &Out,
    log: &LogClient,
    url: &str,
    pick: &Pick,
) -> Result<bool, DemoError> {
    let failed = |e: String| DemoError::Failed(format!("inclusion proof: {e}"));
    // The checkpoint's signature is checked with the log key (by LogClient).
    let head = log
        .checkpoint()
        .await
        .map_err(|e| failed(e.to_string()))?
        .head();
    out.line(&format!("entry {}: {}", pick.index, pick.what));
    out.line(&format!(
        "GET /checkpoint → tree size {}; its signature verifies with LOG_KEY",
        head.size.0
    ));
    let path = format!(
        "/v1/proofs/inclusion?index={}&tree_size={}",
        pick.index, head.size.0
    );
    let answer: Value = reqwest::get(format!("{url}{path}"))
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| failed(e.to_string()))?
        .json()
        .await
        .map_err(|e| failed(e.to_string()))?;
    let leaf = answer["leaf"]
        .as_str()
        .and_then(|b| STANDARD.decode(b).ok())
        .ok_or_else(|| failed("the answer has no base64 `leaf`".into()))?;
    let proof: Vec<Hash> = answer["inclusion_proof"]["path"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(|h| h.as_str().and_then(Hash::from_hex))
                .collect()
        })
        .ok_or_else(|| failed("the answer has no proof path".into()))?;

    out.line(&format!(
        "GET {path} → the leaf's {} bytes and a path of {} hashes",
        leaf.len(),
        proof.len()
    ));
    // Hash what was received, never the log's claimed hash.
    let hash = leaf_hash(&leaf);
    let root = root_from_inclusion_path(&hash, LeafIndex(pick.index), head.size, &proof)
        .map_err(|e| failed(e.to_string()))?;
    out.wrapped(
        "  ",
        "The leaf hash is SHA-256(0x00 ‖ leaf bytes); each path hash, from the leaf's sibling \
         up, is hashed with it (SHA-256(0x01 ‖ left ‖ right)) to give the root:",
        None,
    );
    for (name, value) in [
        ("leaf hash", hash),
        ("computed root", root),
        ("checkpoint root", head.root),
    ] {
        out.line(&format!("  {name:<16}{}", value.to_hex()));
    }
    let same_leaf = hash == pick.leaf_hash;
    let matches = root == head.root && same_leaf;
    if matches {
        out.line(&format!(
            "{} match: the entry is in the tree the log signed, byte for byte as it was \
             acknowledged",
            out.paint(Colour::Green, "✓")
        ));
    } else if !same_leaf {
        out.line(&out.paint(
            Colour::Red,
            "✗ the leaf differs from the one the log acknowledged at submission",
        ));
    } else {
        out.line(&out.paint(
            Colour::Red,
            "✗ no match: the proof does not lead to the signed root",
        ));
    }
    Ok(matches)
}
