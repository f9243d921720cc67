//! Offline proof bundles (`gatelog bundle`, `gatelog verify --offline`).
//!
//! `gatelog bundle` writes the log's compact answers
//! (`gatelog-bundles/compact-v1`, [`crate::compact`]) back to back; this
//! module still reads the older JSON form, and writes it for logs whose
//! bundles cannot be written compactly. A JSON bundle is: `{"format": "gatelog-offline-bundle/v1", "origin": …,
//! "releases": [{"registry", "package", "version", "chain": {"head",
//! "complete"}, "proofs": [<c2sp.org/tlog-proof>…]}]}`. `registry` (the
//! registry host) and `chain` (the package's `prev` chain as the log
//! described it) are absent in bundles written before they existed: such a
//! release is matched to the lockfile's registry by name and version, and its
//! chain is walked from its newest entry of the package.
//! Each proof is a complete c2sp.org/tlog-proof text whose `extra` line holds
//! the entry's leaf bytes, so every entry is checkable on its own with just
//! the log's key. Where this departs from tlog-proof: proofs are grouped per
//! release in one JSON file, and the checkpoint is repeated in each proof.

use std::collections::HashMap;
use std::sync::Arc;

use gatelog_core::compact_bundles;
use gatelog_core::tlog_proof::TlogProof;
use serde_json::{Value, json};

use crate::logclient::{ClientError, FetchedRelease, ReceivedEntry, chain_field, registry_field};

/// The format marker.
pub const FORMAT: &str = "gatelog-offline-bundle/v1";
/// Largest bundle file read.
pub const MAX_BUNDLE_FILE: usize = 512 * 1024 * 1024;

/// Why a bundle file was refused.
#[derive(Debug, thiserror::Error)]
pub enum BundleFileError {
    /// Not JSON or not the expected shape.
    #[error("offline bundle: {0}")]
    Malformed(String),
    /// Too large.
    #[error("offline bundle is larger than {MAX_BUNDLE_FILE} bytes")]
    TooLarge,
}

/// Writes fetched releases as an offline bundle: compact answers
/// (`gatelog-bundles/compact-v1`, back to back), or the JSON form when the
/// log's bundles cannot be written compactly (a log that names no
/// registry or chain).
pub fn write(origin: &str, releases: &[FetchedRelease]) -> Vec<u8> {
    match crate::compact::answers_of(releases) {
        Ok(answers) if !answers.is_empty() => answers.iter().flat_map(|a| a.to_bytes()).collect(),
        _ => write_json(origin, releases),
    }
}

/// Writes fetched releases as a `gatelog-offline-bundle/v1` JSON bundle.
pub fn write_json(origin: &str, releases: &[FetchedRelease]) -> Vec<u8> {
    let releases: Vec<Value> = releases
        .iter()
        .map(|r| {
            let proofs: Vec<String> = r
                .entries
                .iter()
                .map(|e| {
                    TlogProof {
                        extra: Some(e.leaf.clone()),
                        index: e.index,
                        path: e.path.clone(),
                        checkpoint: e.checkpoint.to_vec(),
                    }
                    .to_text()
                })
                .collect();
            let mut release = json!({"package": r.package, "version": r.version, "proofs": proofs});
            if let Some(registry) = &r.registry {
                release["registry"] = json!(registry);
            }
            if let Some(chain) = &r.chain {
                release["chain"] =
                    json!({"head": chain.head.map(|h| h.0), "complete": chain.complete});
            }
            release
        })
        .collect();
    serde_json::to_vec_pretty(&json!({"format": FORMAT, "origin": origin, "releases": releases}))
        .unwrap_or_default()
}

/// Reads an offline bundle back into received (unverified) releases.
pub fn read(bytes: &[u8]) -> Result<Vec<FetchedRelease>, BundleFileError> {
    if bytes.len() > MAX_BUNDLE_FILE {
        return Err(BundleFileError::TooLarge);
    }
    if compact_bundles::is_compact(bytes) {
        return read_compact(bytes);
    }
    let bad = |w: &str| BundleFileError::Malformed(w.to_owned());
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        BundleFileError::Malformed(format!(
            "neither a gatelog-bundles/compact-v1 bundle nor a gatelog-offline-bundle/v1 JSON \
             file ({e})"
        ))
    })?;
    if v["format"] != FORMAT {
        return Err(BundleFileError::Malformed(format!(
            "not a gatelog-offline-bundle/v1 file: format {} is not one this gatelog reads \
             (gatelog-bundles/compact-v1, gatelog-offline-bundle/v1); write the bundle again \
             with this version's `gatelog bundle`",
            v["format"]
        )));
    }
    // Only the keys this format has: a renamed `registry` or `chain` must
    // not silently turn into an older bundle's defaults.
    only_keys(&v, &["format", "origin", "releases"])?;
    // Keyed by the note bytes: a linear search made a bundle of many
    // distinct notes quadratic (200,000 proofs ran for many minutes).
    let mut notes: HashMap<Vec<u8>, Arc<Vec<u8>>> = HashMap::new();
    let mut out = Vec::new();
    for r in v["releases"].as_array().ok_or_else(|| bad("releases"))? {
        only_keys(r, &["registry", "package", "version", "chain", "proofs"])?;
        if !r["chain"].is_null() {
            only_keys(&r["chain"], &["head", "complete"])?;
        }
        let mut entries = Vec::new();
        for p in r["proofs"].as_array().ok_or_else(|| bad("proofs"))? {
            let text = p.as_str().ok_or_else(|| bad("proof"))?;
            let proof = TlogProof::parse(text.as_bytes())
                .map_err(|e| BundleFileError::Malformed(e.to_string()))?;
            // Share identical checkpoint notes so each is verified once.
            let note = notes
                .entry(proof.checkpoint.clone())
                .or_insert_with(|| Arc::new(proof.checkpoint.clone()))
                .clone();
            entries.push(ReceivedEntry {
                index: proof.index,
                leaf: proof
                    .extra
                    .ok_or_else(|| bad("a proof has no leaf in `extra`"))?,
                path: proof.path,
                checkpoint: note,
            });
        }
        let field = |e: ClientError| BundleFileError::Malformed(e.to_string());
        out.push(FetchedRelease {
            registry: registry_field(&r["registry"]).map_err(field)?,
            chain: chain_field(&r["chain"]).map_err(field)?,
            package: r["package"]
                .as_str()
                .ok_or_else(|| bad("package"))?
                .to_owned(),
            version: r["version"]
                .as_str()
                .ok_or_else(|| bad("version"))?
                .to_owned(),
            entries,
        });
    }
    Ok(out)
}

/// Reads compact answers written back to back.
fn read_compact(bytes: &[u8]) -> Result<Vec<FetchedRelease>, BundleFileError> {
    let mut out = Vec::new();
    for answer in
        compact_bundles::parse_many(bytes).map_err(|e| BundleFileError::Malformed(e.to_string()))?
    {
        out.extend(
            crate::compact::releases_of(answer)
                .map_err(|e| BundleFileError::Malformed(e.to_string()))?,
        );
    }
    Ok(out)
}

/// Refuses an object with keys other than `allowed`.
fn only_keys(v: &Value, allowed: &[&str]) -> Result<(), BundleFileError> {
    let object = v
        .as_object()
        .ok_or_else(|| BundleFileError::Malformed("expected an object".into()))?;
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(BundleFileError::Malformed(format!("unknown key {k:?}"))),
        None => Ok(()),
    }
}
