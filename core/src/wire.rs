//! Request bodies of the log's read API that clients send and the log
//! parses: `POST /v1/bundles` and `POST /v1/proofs/inclusion`
//! (docs/api.md). The log reads untrusted bytes
//! here, so the parser is strict (objects only, no unknown or duplicate
//! keys) and bounded (the list is counted while parsed; nothing past
//! [`MAX_BUNDLE_RELEASES`] or [`MAX_PROOF_INDEXES`] is kept). Names are
//! checked by the caller.

use serde::{Deserialize, Serialize};

use crate::bounded::{Bounded, ObjectOnly};

/// Most releases one `POST /v1/bundles` may ask for.
pub const MAX_BUNDLE_RELEASES: usize = 5000;

/// One release asked for, as sent.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRef {
    /// The registry's origin or host.
    pub registry: String,
    /// The package name.
    pub package: String,
    /// The version, matched exactly.
    pub version: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    releases: Bounded<ObjectOnly<ReleaseRef>, MAX_BUNDLE_RELEASES>,
}

/// A parsed `POST /v1/bundles` body.
#[derive(Debug)]
pub struct BundlesRequest {
    /// The first [`MAX_BUNDLE_RELEASES`] releases.
    pub releases: Vec<ReleaseRef>,
    /// How many the body held in all (more than the limit is refused by
    /// the log with `413`).
    pub count: usize,
}

/// Parses a `POST /v1/bundles` body; the error is serde's message.
pub fn parse_bundles_request(bytes: &[u8]) -> Result<BundlesRequest, String> {
    let body = serde_json::from_slice::<ObjectOnly<Body>>(bytes)
        .map_err(|e| e.to_string())?
        .into_inner();
    Ok(BundlesRequest {
        count: body.releases.count,
        releases: body
            .releases
            .items
            .into_iter()
            .map(ObjectOnly::into_inner)
            .collect(),
    })
}

/// Most entries one `POST /v1/proofs/inclusion` may ask for: an answer of
/// about 2 MB with 1,100-byte leaves.
pub const MAX_PROOF_INDEXES: usize = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionBody {
    tree_size: Option<u64>,
    indexes: Bounded<u64, MAX_PROOF_INDEXES>,
}

/// A parsed `POST /v1/proofs/inclusion` body.
#[derive(Debug, PartialEq, Eq)]
pub struct InclusionRequest {
    /// The tree size the proofs are asked at (none: the served checkpoint's).
    pub tree_size: Option<u64>,
    /// The first [`MAX_PROOF_INDEXES`] entry indexes, in the order asked.
    pub indexes: Vec<u64>,
    /// How many the body held in all (more than the limit is refused by
    /// the log with `413`).
    pub count: usize,
}

/// Parses a `POST /v1/proofs/inclusion` body
/// (`{"tree_size": N, "indexes": [I, …]}`, `tree_size` optional); the
/// error is serde's message.
pub fn parse_inclusion_request(bytes: &[u8]) -> Result<InclusionRequest, String> {
    let body = serde_json::from_slice::<ObjectOnly<InclusionBody>>(bytes)
        .map_err(|e| e.to_string())?
        .into_inner();
    Ok(InclusionRequest {
        tree_size: body.tree_size,
        count: body.indexes.count,
        indexes: body.indexes.items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counts_and_refuses() {
        let r = parse_bundles_request(
            br#"{"releases":[{"registry":"r.example","package":"a","version":"1"}]}"#,
        )
        .unwrap();
        assert_eq!(r.count, 1);
        assert_eq!(r.releases[0].package, "a");
        let many = format!(
            r#"{{"releases":[{}]}}"#,
            vec![r#"{"registry":"r","package":"a","version":"1"}"#; MAX_BUNDLE_RELEASES + 3]
                .join(",")
        );
        let r = parse_bundles_request(many.as_bytes()).unwrap();
        assert_eq!(r.count, MAX_BUNDLE_RELEASES + 3);
        assert_eq!(r.releases.len(), MAX_BUNDLE_RELEASES);
        for bad in [
            &b"[]"[..],
            br#"{"releases":[["r","a","1"]]}"#,
            br#"{"releases":[{"package":"a","version":"1"}]}"#,
            br#"{"releases":[],"x":1}"#,
            br#"{"releases":[],"releases":[]}"#,
            br#"{"releases":5}"#,
        ] {
            assert!(
                parse_bundles_request(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn inclusion_requests_parse_count_and_refuse() {
        let r = parse_inclusion_request(br#"{"tree_size":10,"indexes":[3,1,3]}"#).unwrap();
        assert_eq!(
            r,
            InclusionRequest {
                tree_size: Some(10),
                indexes: vec![3, 1, 3],
                count: 3
            }
        );
        assert_eq!(
            parse_inclusion_request(br#"{"indexes":[]}"#)
                .unwrap()
                .tree_size,
            None
        );
        let many = format!(
            r#"{{"indexes":[{}]}}"#,
            vec!["7"; MAX_PROOF_INDEXES + 2].join(",")
        );
        let r = parse_inclusion_request(many.as_bytes()).unwrap();
        assert_eq!(
            (r.count, r.indexes.len()),
            (MAX_PROOF_INDEXES + 2, MAX_PROOF_INDEXES)
        );
        for bad in [
            &b"[]"[..],
            br#"{}"#,
            br#"{"indexes":[-1]}"#,
            br#"{"indexes":[1.5]}"#,
            br#"{"indexes":["1"]}"#,
            br#"{"indexes":[18446744073709551616]}"#,
            br#"{"indexes":[],"tree_size":-3}"#,
            br#"{"indexes":[],"index":1}"#,
            br#"{"indexes":[],"indexes":[]}"#,
            br#"{"indexes":5}"#,
        ] {
            assert!(
                parse_inclusion_request(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
