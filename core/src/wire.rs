//! Request bodies of the log's read API that clients send and the log
//! parses: `POST /v1/bundles` (docs/api.md). The log reads untrusted bytes
//! here, so the parser is strict (objects only, no unknown or duplicate
//! keys) and bounded (the list is counted while parsed; nothing past
//! [`MAX_BUNDLE_RELEASES`] is kept). Names are checked by the caller.

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
}
