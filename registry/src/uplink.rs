//! Read-through to another registry (`--uplink URL`, off by default), for
//! packages this registry does not own: their packuments and tarballs are
//! fetched from the uplink, served and cached. The sha512 integrity of
//! each upstream version is recorded the first time its packument is
//! served; later the uplink must keep serving that integrity and those
//! bytes, or the package is refused (`502`), never served changed. A
//! package this registry has a record of (staged, published, policy) is
//! never looked up upstream.

use std::collections::BTreeMap;
use std::time::Duration;

use gatelog_core::event::{Integrity, PackageName};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::app::{App, tarball_file};
use crate::error::ApiError;
use crate::log::now_rfc3339;

/// Largest packument or tarball accepted from the uplink, in bytes.
const MAX_UPSTREAM_BYTES: usize = 64 * 1024 * 1024;

/// The uplink registry.
pub struct Uplink {
    base: String,
    http: reqwest::Client,
    /// Serializes recording, so two first fetches cannot both record.
    record: Mutex<()>,
}

/// What was seen upstream of one package (`uplink/<name>`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct UplinkRecord {
    /// The sha512 integrity of each version, as first served.
    pub integrity: BTreeMap<String, String>,
    /// Tarball file name → (version, upstream URL).
    pub tarballs: BTreeMap<String, (String, String)>,
    /// The last packument served (rewritten), for when the uplink is down.
    pub packument: Value,
    /// When it was last fetched (RFC 3339).
    pub fetched: String,
}

fn upstream_error(message: impl Into<String>) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::BAD_GATEWAY,
        "uplink",
        message.into(),
    )
}

/// `@scope/name` → `@scope%2fname`, as npm asks for it.
fn escaped(name: &str) -> String {
    name.replace('/', "%2f")
}

impl Uplink {
    /// An uplink at `base` (`http(s)://host[:port][/path]`).
    pub fn new(base: &str, timeout: Duration) -> Result<Uplink, String> {
        let url = reqwest::Url::parse(base).map_err(|e| format!("--uplink {base}: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("--uplink {base}: expected http(s)://"));
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("--uplink: {e}"))?;
        Ok(Uplink {
            base: base.trim_end_matches('/').to_owned(),
            http,
            record: Mutex::new(()),
        })
    }

    async fn get(&self, url: &str, accept: &str) -> Result<Option<Vec<u8>>, String> {
        let response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, accept)
            .send()
            .await
            .map_err(|e| format!("the uplink did not answer: {e}"))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(format!("the uplink answered {}", response.status()));
        }
        if response
            .content_length()
            .is_some_and(|l| l > MAX_UPSTREAM_BYTES as u64)
        {
            return Err("the uplink's answer is too large".into());
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("reading the uplink's answer: {e}"))?;
        if bytes.len() > MAX_UPSTREAM_BYTES {
            return Err("the uplink's answer is too large".into());
        }
        Ok(Some(bytes.to_vec()))
    }
}

impl App {
    fn uplink_record(&self, name: &str) -> Result<Option<UplinkRecord>, ApiError> {
        Ok(self.store.get(&format!("uplink/{name}"))?)
    }

    /// The packument of `name` from the uplink, its tarball URLs pointing
    /// here and its upstream signatures dropped (they are the uplink's,
    /// not ours). Each version's integrity is recorded when first seen; a
    /// changed one refuses the package. When the uplink cannot be
    /// reached, the last packument served is served again.
    pub async fn uplink_packument(&self, uplink: &Uplink, name: &str) -> Result<Value, ApiError> {
        PackageName::parse(name).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let url = format!("{}/{}", uplink.base, escaped(name));
        let body = match uplink.get(&url, "application/json").await {
            Ok(Some(body)) => body,
            Ok(None) => {
                return Err(ApiError::not_found(format!(
                    "{name} is not in this registry or its uplink"
                )));
            }
            Err(e) => {
                tracing::warn!(package = name, error = %e, "uplink unavailable");
                return match self.uplink_record(name)? {
                    Some(record) => Ok(record.packument),
                    None => Err(upstream_error(format!("{name}: {e}"))),
                };
            }
        };
        let mut doc: Value = serde_json::from_slice(&body).map_err(|e| {
            upstream_error(format!("{name}: the uplink's packument is not JSON: {e}"))
        })?;
        let _guard = uplink.record.lock().await;
        let mut record = self.uplink_record(name)?.unwrap_or_default();
        let versions = doc
            .get_mut("versions")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| {
                upstream_error(format!("{name}: the uplink's packument has no versions"))
            })?;
        let mut unusable = Vec::new();
        for (version, manifest) in versions.iter_mut() {
            let integrity = manifest["dist"]["integrity"]
                .as_str()
                .and_then(|i| Integrity::parse(i).ok());
            let upstream_url = manifest["dist"]["tarball"].as_str().unwrap_or_default();
            let under_base = upstream_url.starts_with(&format!("{}/", uplink.base));
            let (Some(integrity), true) = (integrity, under_base) else {
                // No sha512, or a tarball elsewhere than the uplink.
                unusable.push(version.clone());
                continue;
            };
            let integrity = integrity.to_string();
            match record.integrity.get(version) {
                Some(recorded) if *recorded != integrity => {
                    return Err(upstream_error(format!(
                        "the uplink changed the tarball of {name}@{version} (recorded {recorded}, now {integrity}); refused"
                    )));
                }
                Some(_) => {}
                None => {
                    record.integrity.insert(version.clone(), integrity);
                }
            }
            let file = tarball_file(name, version);
            record
                .tarballs
                .insert(file.clone(), (version.clone(), upstream_url.to_owned()));
            manifest["dist"]["tarball"] = format!("{}/{name}/-/{file}", self.origin()).into();
            if let Some(dist) = manifest["dist"].as_object_mut() {
                dist.remove("signatures");
            }
        }
        for version in &unusable {
            versions.remove(version);
        }
        record.packument = doc.clone();
        record.fetched = now_rfc3339();
        self.store.put(&format!("uplink/{name}"), &record)?;
        Ok(doc)
    }

    /// A tarball of a package from the uplink: served from the cache, or
    /// fetched, checked against the recorded integrity, cached and served.
    pub async fn uplink_tarball(
        &self,
        uplink: &Uplink,
        name: &str,
        file: &str,
    ) -> Result<Vec<u8>, ApiError> {
        let record = match self.uplink_record(name)? {
            Some(r) if r.tarballs.contains_key(file) => r,
            _ => {
                self.uplink_packument(uplink, name).await?;
                self.uplink_record(name)?.unwrap_or_default()
            }
        };
        let (version, url) = record
            .tarballs
            .get(file)
            .ok_or_else(|| ApiError::not_found(format!("{name} has no tarball {file}")))?;
        let recorded = record
            .integrity
            .get(version)
            .and_then(|i| Integrity::parse(i).ok())
            .ok_or_else(|| upstream_error(format!("no integrity recorded for {name}@{version}")))?;
        if let Some(bytes) = self.store.get_tarball(recorded.digest())? {
            return Ok(bytes);
        }
        let bytes = uplink
            .get(url, "application/octet-stream")
            .await
            .map_err(|e| upstream_error(format!("{name}@{version}: {e}")))?
            .ok_or_else(|| ApiError::not_found(format!("the uplink has no {file}")))?;
        let got = Integrity::of(&bytes);
        if got != recorded {
            tracing::warn!(package = name, version, %got, "uplink tarball refused");
            return Err(upstream_error(format!(
                "the uplink's tarball of {name}@{version} has integrity {got}, not the recorded {recorded}; refused"
            )));
        }
        self.store.put_tarball(&bytes)?;
        Ok(bytes)
    }
}
