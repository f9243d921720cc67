//! Package paths: packuments, tarballs and direct publishes. Names come
//! escaped (`@scope%2fname`) or not (`@scope/name`), so these paths are
//! parsed by hand from the raw request path.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use gatelog_core::event::Integrity;
use serde_json::{Map, Value, json};

use crate::app::{App, tarball_file};
use crate::error::ApiError;
use crate::store::Package;

/// The abbreviated packument media type (npm's install metadata).
pub const ABBREVIATED: &str = "application/vnd.npm.install-v1+json";

/// Fields kept in abbreviated version manifests (as the npm registry does).
const ABBREVIATED_FIELDS: &[&str] = &[
    "name",
    "version",
    "dependencies",
    "optionalDependencies",
    "devDependencies",
    "bundleDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "acceptDependencies",
    "bin",
    "directories",
    "dist",
    "engines",
    "os",
    "cpu",
    "libc",
    "deprecated",
    "funding",
    "license",
    "_hasShrinkwrap",
];

/// What a package path names.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// `/<name>`.
    Package(String),
    /// `/<name>/-/<file>`.
    Tarball(String, String),
    /// `/<name>/-rev/<rev>` (`npm owner`).
    Revision(String, String),
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn parse_target(path: &str) -> Option<Target> {
    let parts: Vec<String> = path
        .strip_prefix('/')?
        .split('/')
        .map(percent_decode)
        .collect::<Option<_>>()?;
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    match parts.as_slice() {
        [name] if !name.is_empty() => Some(Target::Package((*name).to_owned())),
        [scope, name] if scope.starts_with('@') => Some(Target::Package(format!("{scope}/{name}"))),
        [name, "-", file] => Some(Target::Tarball((*name).to_owned(), (*file).to_owned())),
        [name, "-rev", rev] => Some(Target::Revision((*name).to_owned(), (*rev).to_owned())),
        [scope, name, "-rev", rev] if scope.starts_with('@') => Some(Target::Revision(
            format!("{scope}/{name}"),
            (*rev).to_owned(),
        )),
        [scope, name, "-", file] if scope.starts_with('@') => Some(Target::Tarball(
            format!("{scope}/{name}"),
            (*file).to_owned(),
        )),
        _ => None,
    }
}

/// Everything not under `/-/`: packuments, tarballs, `PUT /<name>`.
pub async fn fallback(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let target = parse_target(uri.path())
        .ok_or_else(|| ApiError::not_found("no such endpoint; see docs/registry.md"))?;
    match (method, target) {
        (Method::GET | Method::HEAD, Target::Package(name)) => match upstream(&app, &name)? {
            Some(uplink) => {
                let doc = app.uplink_packument(uplink, &name).await?;
                Ok(axum::Json(doc).into_response())
            }
            None => packument(&app, &name, &headers),
        },
        (Method::GET | Method::HEAD, Target::Tarball(name, file)) => match upstream(&app, &name)? {
            Some(uplink) => {
                let bytes = app.uplink_tarball(uplink, &name, &file).await?;
                Ok(tarball_bytes(bytes))
            }
            None => tarball(&app, &name, &file),
        },
        (Method::PUT, Target::Package(name)) => {
            let caller = app.authenticate(&headers)?;
            if has_attachments(&body) {
                app.publish_direct(&caller, &name, &body).await?;
            } else {
                let otp = headers.get("npm-otp").and_then(|v| v.to_str().ok());
                app.deprecate(&caller, &name, &body, otp).await?;
            }
            Ok(axum::Json(json!({"ok": true})).into_response())
        }
        (Method::PUT, Target::Revision(name, rev)) => {
            let caller = app.authenticate(&headers)?;
            let otp = headers.get("npm-otp").and_then(|v| v.to_str().ok());
            let maintainers = app.change_owners(&caller, &name, &rev, &body, otp).await?;
            let rev = app.package(&name)?.map(|p| crate::meta::package_rev(&p));
            Ok(axum::Json(json!({"ok": true, "id": name, "rev": rev,
                                  "maintainers": maintainers.iter().map(|m| json!({"name": m})).collect::<Vec<_>>()}))
            .into_response())
        }
        _ => Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this registry does not support that operation yet (see docs/registry.md)",
        )),
    }
}

/// Whether a `PUT /<name>` body is a publish document (it has
/// `_attachments`) rather than npm's metadata-only packument (`npm
/// deprecate`). A body that is not a JSON object goes to the publish
/// path, which explains what is wrong with it.
fn has_attachments(body: &[u8]) -> bool {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(doc)) => doc.contains_key("_attachments"),
        _ => true,
    }
}

/// The uplink to read `name` through: only when one is configured and
/// this registry has no record of the package (it never shadows its own).
fn upstream<'a>(app: &'a App, name: &str) -> Result<Option<&'a crate::uplink::Uplink>, ApiError> {
    match &app.uplink {
        Some(uplink) if app.package(name)?.is_none() => Ok(Some(uplink)),
        _ => Ok(None),
    }
}

fn published(app: &App, name: &str) -> Result<Package, ApiError> {
    app.package(name)?
        .filter(|p| !p.versions.is_empty())
        .ok_or_else(|| ApiError::not_found(format!("{name} is not in this registry")))
}

fn packument(app: &App, name: &str, headers: &HeaderMap) -> Result<Response, ApiError> {
    let pkg = published(app, name)?;
    let abbreviated = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains(ABBREVIATED));
    let (body, content_type) = if abbreviated {
        (abbreviated_packument(&pkg), ABBREVIATED)
    } else {
        (full_packument(&pkg), "application/json")
    };
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}

fn full_packument(pkg: &Package) -> Value {
    let mut versions = Map::new();
    let mut time = Map::new();
    time.insert("created".into(), pkg.created.clone().into());
    time.insert("modified".into(), pkg.modified.clone().into());
    for (v, pv) in &pkg.versions {
        versions.insert(v.clone(), pv.manifest.clone());
        time.insert(v.clone(), pv.time.clone().into());
    }
    let latest = pkg
        .dist_tags
        .get("latest")
        .and_then(|v| pkg.versions.get(v));
    let mut doc = json!({
        "_id": pkg.name,
        "_rev": crate::meta::package_rev(pkg),
        "name": pkg.name,
        "dist-tags": pkg.dist_tags,
        "versions": versions,
        "time": time,
        "maintainers": pkg.maintainers.iter().map(|m| json!({"name": m})).collect::<Vec<_>>(),
    });
    if let Some(description) = latest.and_then(|l| l.manifest.get("description")) {
        doc["description"] = description.clone();
    }
    doc
}

fn abbreviated_packument(pkg: &Package) -> Value {
    let mut versions = Map::new();
    for (v, pv) in &pkg.versions {
        let mut m = Map::new();
        for field in ABBREVIATED_FIELDS {
            if let Some(value) = pv.manifest.get(*field) {
                m.insert((*field).to_owned(), value.clone());
            }
        }
        let scripts = pv.manifest.get("scripts");
        if ["preinstall", "install", "postinstall"]
            .iter()
            .any(|s| scripts.and_then(|sc| sc.get(*s)).is_some())
        {
            m.insert("hasInstallScript".into(), true.into());
        }
        versions.insert(v.clone(), Value::Object(m));
    }
    json!({
        "name": pkg.name,
        "modified": pkg.modified,
        "dist-tags": pkg.dist_tags,
        "versions": versions,
    })
}

/// A tarball of a **published** version only: staged tarballs are not
/// installable.
fn tarball(app: &App, name: &str, file: &str) -> Result<Response, ApiError> {
    let pkg = published(app, name)?;
    let version = pkg
        .versions
        .values()
        .find(|pv| {
            pv.manifest
                .get("version")
                .and_then(Value::as_str)
                .is_some_and(|v| tarball_file(name, v) == file)
        })
        .ok_or_else(|| ApiError::not_found(format!("{name} has no published tarball {file}")))?;
    tarball_response(app, &version.integrity)
}

/// The stored tarball with this integrity.
pub fn tarball_response(app: &App, integrity: &str) -> Result<Response, ApiError> {
    let integrity = Integrity::parse(integrity)
        .map_err(|e| ApiError::not_found(format!("bad stored integrity: {e}")))?;
    let bytes = app
        .store
        .get_tarball(integrity.digest())?
        .ok_or_else(|| ApiError::not_found("the tarball is missing from storage"))?;
    Ok(tarball_bytes(bytes))
}

fn tarball_bytes(bytes: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(bytes));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_put_without_attachments_is_metadata() {
        assert!(has_attachments(br#"{"name":"w","_attachments":{}}"#));
        assert!(!has_attachments(br#"{"name":"w","versions":{}}"#));
        // Not a JSON object: the publish path explains what is wrong.
        assert!(has_attachments(b"not json"));
        assert!(has_attachments(b"[]"));
    }

    #[test]
    fn package_paths_parse_escaped_or_not() {
        let p = |s: &str| parse_target(s);
        assert_eq!(p("/widget"), Some(Target::Package("widget".into())));
        assert_eq!(
            p("/@acme%2fwidget"),
            Some(Target::Package("@acme/widget".into()))
        );
        assert_eq!(
            p("/@acme%2Fwidget"),
            Some(Target::Package("@acme/widget".into()))
        );
        assert_eq!(
            p("/@acme/widget"),
            Some(Target::Package("@acme/widget".into()))
        );
        assert_eq!(
            p("/widget/-/widget-1.0.0.tgz"),
            Some(Target::Tarball("widget".into(), "widget-1.0.0.tgz".into()))
        );
        assert_eq!(
            p("/@acme/widget/-/widget-1.0.0.tgz"),
            Some(Target::Tarball(
                "@acme/widget".into(),
                "widget-1.0.0.tgz".into()
            ))
        );
        assert_eq!(
            p("/@acme%2fwidget/-rev/1-abc"),
            Some(Target::Revision("@acme/widget".into(), "1-abc".into()))
        );
        assert_eq!(p("/a/b"), None);
        assert_eq!(p("/"), None);
        assert_eq!(p("/%zz"), None);
    }
}
