//! The publish document npm sends to `PUT /<name>` and
//! `POST /-/stage/package/<name>` (libnpmpublish's `buildMetadata`):
//!
//! ```json
//! {"_id": "<name>", "name": "<name>", "description": "…", "dist-tags": {"<tag>": "<version>"},
//!  "versions": {"<version>": {<package.json>, "dist": {"integrity": "sha512-…", "shasum": "<sha1 hex>", "tarball": "…"}}},
//!  "access": "public",
//!  "_attachments": {"<name>-<version>.tgz": {"content_type": "application/octet-stream", "data": "<base64>", "length": N}}}
//! ```
//!
//! Everything is checked before anything is stored: exactly one version
//! and one tarball, names and versions that agree, and a tarball whose
//! sha512 (and sha1) equal what the document claims.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_core::event::{Integrity, PackageName};
use semver::Version;
use serde_json::Value;
use sha1::{Digest as _, Sha1};

/// Longest dist-tag accepted, in bytes.
pub const MAX_TAG_LEN: usize = 64;

/// A checked publish document.
#[derive(Debug)]
pub struct PublishDoc {
    /// Package name.
    pub name: PackageName,
    /// The version published.
    pub version: Version,
    /// The dist-tag requested.
    pub tag: String,
    /// The version's manifest as sent (its `dist` is replaced when served).
    pub manifest: Value,
    /// The tarball.
    pub tarball: Vec<u8>,
    /// Its sha512, as SRI.
    pub integrity: Integrity,
    /// Its sha1, hex.
    pub shasum: String,
}

/// Why a publish document was refused (answered as `400`).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DocError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, DocError> {
    Err(DocError(message.into()))
}

/// A dist-tag npm would accept: not empty, not a version or range, no
/// spaces, `/`, `%` or control characters.
pub fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= MAX_TAG_LEN
        && semver::VersionReq::parse(tag).is_err()
        && tag
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '/' | '%' | '\\'))
}

/// Parses and checks a publish document for the package named in the URL.
pub fn parse(url_name: &str, body: &[u8]) -> Result<PublishDoc, DocError> {
    let doc: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return fail(format!("the publish document is not JSON: {e}")),
    };
    let Some(doc) = doc.as_object() else {
        return fail("the publish document is not a JSON object");
    };
    let name = match PackageName::parse(url_name) {
        Ok(n) => n,
        Err(e) => return fail(e.to_string()),
    };
    // This registry only holds packages published to it, under today's
    // rules for new names.
    if let Err(reason) = name.check_new() {
        return fail(format!("invalid package name {name:?}: {reason}"));
    }
    if doc.get("name").and_then(Value::as_str) != Some(name.as_str()) {
        return fail(format!(
            "the document's `name` does not match the package {name} in the URL"
        ));
    }
    let Some(versions) = doc.get("versions").and_then(Value::as_object) else {
        return fail("the publish document has no `versions` object");
    };
    if versions.len() != 1 {
        return fail(format!(
            "a publish document must hold exactly one version, this one has {}",
            versions.len()
        ));
    }
    let (version_text, manifest) = versions.iter().next().expect("one version");
    let version = match Version::parse(version_text) {
        Ok(v) => v,
        Err(e) => return fail(format!("version {version_text:?} is not SemVer: {e}")),
    };
    if version.to_string() != *version_text {
        return fail(format!("version {version_text:?} is not in canonical form"));
    }
    let Some(manifest_obj) = manifest.as_object() else {
        return fail("the version manifest is not an object");
    };
    if manifest_obj.get("name").and_then(Value::as_str) != Some(name.as_str())
        || manifest_obj.get("version").and_then(Value::as_str) != Some(version_text)
    {
        return fail("the version manifest's `name` and `version` must match the document's");
    }

    let tags = doc.get("dist-tags").and_then(Value::as_object);
    let tag = match tags.map(|t| t.iter().collect::<Vec<_>>()).as_deref() {
        Some([(tag, v)]) if v.as_str() == Some(version_text) => (*tag).clone(),
        _ => {
            return fail(
                "`dist-tags` must name exactly one tag, pointing at the version published",
            );
        }
    };
    if !valid_tag(&tag) {
        return fail(format!("dist-tag {tag:?} is not a valid tag name"));
    }

    let Some(attachments) = doc.get("_attachments").and_then(Value::as_object) else {
        return fail("the publish document has no `_attachments` (the tarball)");
    };
    let expected_file = format!("{}-{version_text}.tgz", name.as_str());
    if attachments.len() != 1 {
        return fail(format!(
            "exactly one attachment, the tarball {expected_file}, is accepted (got {}; provenance bundles are not supported yet)",
            attachments.len()
        ));
    }
    let (file, attachment) = attachments.iter().next().expect("one attachment");
    if *file != expected_file {
        return fail(format!(
            "the attachment is named {file:?}, expected {expected_file:?}"
        ));
    }
    let Some(data) = attachment.get("data").and_then(Value::as_str) else {
        return fail("the attachment has no base64 `data`");
    };
    let tarball = match STANDARD.decode(data) {
        Ok(t) => t,
        Err(e) => return fail(format!("the attachment's data is not base64: {e}")),
    };
    if attachment.get("length").and_then(Value::as_u64) != Some(tarball.len() as u64) {
        return fail(format!(
            "the attachment's `length` does not match its {} bytes of data",
            tarball.len()
        ));
    }
    if !tarball.starts_with(&[0x1f, 0x8b]) {
        return fail("the tarball is not gzip-compressed");
    }

    let integrity = Integrity::of(&tarball);
    let shasum = hex::encode(Sha1::digest(&tarball));
    let dist = manifest_obj.get("dist").and_then(Value::as_object);
    match dist
        .and_then(|d| d.get("integrity"))
        .and_then(Value::as_str)
    {
        Some(claimed) if claimed == integrity.to_string() => {}
        Some(claimed) => {
            return fail(format!(
                "the tarball's integrity is {integrity}, but the document says {claimed}"
            ));
        }
        None => return fail("the version's `dist.integrity` is missing"),
    }
    if let Some(claimed) = dist.and_then(|d| d.get("shasum")).and_then(Value::as_str)
        && claimed != shasum
    {
        return fail(format!(
            "the tarball's shasum is {shasum}, but the document says {claimed}"
        ));
    }

    Ok(PublishDoc {
        name,
        version,
        tag,
        manifest: manifest.clone(),
        tarball,
        integrity,
        shasum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tgz() -> Vec<u8> {
        vec![0x1f, 0x8b, 8, 0, 1, 2, 3]
    }

    fn doc(name: &str, version: &str, tarball: &[u8]) -> Value {
        let file = format!("{name}-{version}.tgz");
        json!({
            "_id": name, "name": name, "dist-tags": {"latest": version}, "access": "public",
            "versions": {version: {"name": name, "version": version, "dist": {
                "integrity": Integrity::of(tarball).to_string(),
                "shasum": hex::encode(Sha1::digest(tarball)),
                "tarball": format!("http://x/{name}/-/{file}")}}},
            "_attachments": {file: {"content_type": "application/octet-stream",
                "data": STANDARD.encode(tarball), "length": tarball.len()}}
        })
    }

    fn parse_value(name: &str, v: &Value) -> Result<PublishDoc, DocError> {
        parse(name, &serde_json::to_vec(v).unwrap())
    }

    #[test]
    fn a_document_npm_sends_is_accepted() {
        let d = parse_value("@acme/widget", &doc("@acme/widget", "1.2.3", &tgz())).unwrap();
        assert_eq!(d.name.as_str(), "@acme/widget");
        assert_eq!(d.version.to_string(), "1.2.3");
        assert_eq!(d.tag, "latest");
        assert_eq!(d.tarball, tgz());
        assert_eq!(d.integrity, Integrity::of(&tgz()));
    }

    #[test]
    fn malformed_documents_are_refused_with_a_reason() {
        let good = doc("widget", "1.0.0", &tgz());
        let cases: Vec<(Value, &str)> = vec![
            (json!([1]), "not a JSON object"),
            (
                {
                    let mut d = good.clone();
                    d["name"] = json!("other");
                    d
                },
                "does not match",
            ),
            (
                {
                    let mut d = good.clone();
                    d["versions"] = json!({});
                    d
                },
                "exactly one version",
            ),
            (
                {
                    let mut d = good.clone();
                    d["dist-tags"] = json!({"latest": "9.9.9"});
                    d
                },
                "dist-tags",
            ),
            (
                {
                    let mut d = good.clone();
                    d["dist-tags"] = json!({"1.x": "1.0.0"});
                    d
                },
                "not a valid tag",
            ),
            (
                {
                    let mut d = good.clone();
                    d["_attachments"]["widget-1.0.0.tgz"]["data"] = json!("%%%");
                    d
                },
                "not base64",
            ),
            (
                {
                    let mut d = good.clone();
                    d["_attachments"]["widget-1.0.0.tgz"]["length"] = json!(99);
                    d
                },
                "length",
            ),
            (
                {
                    let mut d = good.clone();
                    d["versions"]["1.0.0"]["dist"]["integrity"] =
                        json!(Integrity::of(b"other").to_string());
                    d
                },
                "integrity is",
            ),
            (
                {
                    let mut d = good.clone();
                    d["versions"]["1.0.0"]["dist"]["shasum"] = json!("00");
                    d
                },
                "shasum",
            ),
            (doc("widget", "1.0.0", b"not gzip"), "gzip"),
            (doc("Widget", "1.0.0", &tgz()), "capital"),
            (doc("widget", "01.0.0", &tgz()), "SemVer"),
        ];
        for (v, want) in cases {
            let name = match v["name"].as_str() {
                Some("Widget") => "Widget",
                _ => "widget",
            };
            let err = parse_value(name, &v).unwrap_err();
            assert!(err.0.contains(want), "{want:?} not in {:?}", err.0);
        }
        assert!(
            parse("widget", b"{not json")
                .unwrap_err()
                .0
                .contains("not JSON")
        );
    }
}
