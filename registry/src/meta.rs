//! A package's metadata after publishing, as npm changes it: dist-tags
//! (`npm dist-tag add|rm`), deprecation (`npm deprecate`, a packument
//! `PUT`) and owners (`npm owner add|rm`, a `PUT` of `maintainers` at the
//! packument's `_rev`). Each needs a maintainer's publish token and an
//! OTP. Owner changes are logged (`maintainer-add`, `maintainer-remove`)
//! and a deprecation is logged (`deprecate`) before they take effect;
//! dist-tags are not logged, as the event schema has no event for them.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::app::{App, Caller};
use crate::error::ApiError;
use crate::log::now_rfc3339;
use crate::publish_doc::valid_tag;
use crate::store::{Batch, Package, TokenKind, User};

/// Longest deprecation message accepted, in bytes.
pub const MAX_DEPRECATION_LEN: usize = 1024;

/// The packument's `_rev`: changes with every change to the package, so
/// an owner change made against an older packument is refused.
pub fn package_rev(pkg: &Package) -> String {
    let record = serde_json::to_vec(pkg).unwrap_or_default();
    let hash = hex::encode(Sha256::digest(&record));
    format!("1-{}", &hash[..32])
}

fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))
}

impl App {
    /// The package `name` as a maintainer's publish token may change it.
    fn changeable(&self, caller: &Caller, name: &str) -> Result<Package, ApiError> {
        if caller.kind != TokenKind::Publish || caller.oidc.is_some() {
            return Err(ApiError::forbidden(
                "package metadata is changed with a maintainer's publish token",
            ));
        }
        self.maintained(caller, name)
    }

    fn save(&self, pkg: &mut Package, outbox: Option<&str>) -> Result<(), ApiError> {
        pkg.modified = now_rfc3339();
        let mut batch = Batch::default();
        batch.put(&format!("pkg/{}", pkg.name), pkg);
        if let Some(key) = outbox {
            batch.delete(key);
        }
        self.store.write(batch)?;
        Ok(())
    }

    /// `npm dist-tag add <pkg>@<version> <tag>`: the body is the version
    /// as a JSON string, which must be published.
    pub async fn dist_tag_set(
        &self,
        caller: &Caller,
        name: &str,
        tag: &str,
        body: &[u8],
        otp: Option<&str>,
    ) -> Result<BTreeMap<String, String>, ApiError> {
        let version = json_body(body)?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ApiError::bad_request("the body must be the version, a JSON string"))?;
        if !valid_tag(tag) {
            return Err(ApiError::bad_request(format!(
                "{tag:?} is not a valid dist-tag (not a version or range; no spaces, / or %)"
            )));
        }
        let _guard = self.write.lock().await;
        let mut pkg = self.changeable(caller, name)?;
        if !pkg.versions.contains_key(&version) {
            return Err(ApiError::not_found(format!(
                "{name}@{version} is not published"
            )));
        }
        self.check_otp(&caller.user, otp)?;
        pkg.dist_tags.insert(tag.to_owned(), version.clone());
        self.save(&mut pkg, None)?;
        tracing::info!(package = name, tag, version, "dist-tag set");
        Ok(pkg.dist_tags)
    }

    /// `npm dist-tag rm <pkg> <tag>`; `latest` cannot be removed.
    pub async fn dist_tag_remove(
        &self,
        caller: &Caller,
        name: &str,
        tag: &str,
        otp: Option<&str>,
    ) -> Result<BTreeMap<String, String>, ApiError> {
        if tag == "latest" {
            return Err(ApiError::bad_request(
                "the latest dist-tag cannot be removed; point it at another version",
            ));
        }
        let _guard = self.write.lock().await;
        let mut pkg = self.changeable(caller, name)?;
        if !pkg.dist_tags.contains_key(tag) {
            return Err(ApiError::not_found(format!("{name} has no dist-tag {tag}")));
        }
        self.check_otp(&caller.user, otp)?;
        pkg.dist_tags.remove(tag);
        self.save(&mut pkg, None)?;
        tracing::info!(package = name, tag, "dist-tag removed");
        Ok(pkg.dist_tags)
    }

    /// `npm deprecate`: npm `PUT`s the packument back with `deprecated`
    /// set (or `""` to undeprecate) on some versions. Only those fields are
    /// taken; a new or changed message is logged as `deprecate` first.
    /// Returns how many versions changed.
    pub async fn deprecate(
        &self,
        caller: &Caller,
        name: &str,
        body: &[u8],
        otp: Option<&str>,
    ) -> Result<usize, ApiError> {
        let doc = json_body(body)?;
        let versions = doc["versions"]
            .as_object()
            .ok_or_else(|| ApiError::bad_request("the packument has no versions"))?;
        let _guard = self.write.lock().await;
        let mut pkg = self.changeable(caller, name)?;
        let mut changes = Vec::new();
        for (version, manifest) in versions {
            let Some(field) = manifest.get("deprecated") else {
                continue;
            };
            let message = field.as_str().ok_or_else(|| {
                ApiError::bad_request(format!("versions.{version}.deprecated is not a string"))
            })?;
            if message.len() > MAX_DEPRECATION_LEN || message.chars().any(char::is_control) {
                return Err(ApiError::bad_request(format!(
                    "a deprecation message is at most {MAX_DEPRECATION_LEN} bytes, without control characters"
                )));
            }
            let published = pkg
                .versions
                .get(version)
                .ok_or_else(|| ApiError::not_found(format!("{name}@{version} is not published")))?;
            let current = published.manifest["deprecated"].as_str().unwrap_or("");
            if current != message {
                changes.push((version.clone(), message.to_owned()));
            }
        }
        if changes.is_empty() {
            return Ok(0);
        }
        self.check_otp(&caller.user, otp)?;
        for (version, message) in &changes {
            let manifest = &mut pkg
                .versions
                .get_mut(version)
                .expect("checked above")
                .manifest;
            if message.is_empty() {
                // Undeprecating has no event: it applies unlogged.
                if let Some(m) = manifest.as_object_mut() {
                    m.remove("deprecated");
                }
                self.save(&mut pkg, None)?;
                continue;
            }
            manifest["deprecated"] = message.clone().into();
            let digest = hex::encode(Sha256::digest(message.as_bytes()));
            let key = format!("outbox/deprecate/{name}@{version}/{digest}");
            self.log_step(
                &key,
                name,
                || json!({"type": "deprecate", "version": version, "by": caller.user}),
            )
            .await?;
            self.save(&mut pkg, Some(&key))?;
        }
        tracing::info!(
            package = name,
            versions = changes.len(),
            "deprecation changed"
        );
        Ok(changes.len())
    }

    /// `npm owner add|rm`: `PUT /<name>/-rev/<rev>` with the complete new
    /// `maintainers`. Each added owner is logged as `maintainer-add`, each
    /// removed one as `maintainer-remove`, before it takes effect.
    pub async fn change_owners(
        &self,
        caller: &Caller,
        name: &str,
        rev: &str,
        body: &[u8],
        otp: Option<&str>,
    ) -> Result<Vec<String>, ApiError> {
        let doc = json_body(body)?;
        let wanted: Vec<String> = doc["maintainers"]
            .as_array()
            .ok_or_else(|| ApiError::bad_request("the body has no maintainers list"))?
            .iter()
            .map(|m| m["name"].as_str().or(m.as_str()).map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| ApiError::bad_request("each maintainer needs a name"))?;
        if wanted.is_empty() {
            return Err(ApiError::bad_request(
                "a package keeps at least one maintainer: add someone else first",
            ));
        }
        let _guard = self.write.lock().await;
        let mut pkg = self.changeable(caller, name)?;
        if package_rev(&pkg) != rev {
            return Err(ApiError::conflict(format!(
                "{name} changed since revision {rev}; fetch it again"
            )));
        }
        let added: Vec<&String> = wanted
            .iter()
            .filter(|w| !pkg.maintainers.contains(w))
            .collect();
        for user in &added {
            if self.store.get::<User>(&format!("user/{user}"))?.is_none() {
                return Err(ApiError::not_found(format!("no user {user}")));
            }
        }
        let removed: Vec<String> = pkg
            .maintainers
            .iter()
            .filter(|m| !wanted.contains(m))
            .cloned()
            .collect();
        if added.is_empty() && removed.is_empty() {
            return Ok(pkg.maintainers);
        }
        self.check_otp(&caller.user, otp)?;
        let steps = added
            .iter()
            .map(|u| ("maintainer-add", (*u).clone()))
            .chain(removed.into_iter().map(|u| ("maintainer-remove", u)));
        for (kind, user) in steps {
            let key = format!("outbox/{kind}/{name}/{user}");
            self.log_step(
                &key,
                name,
                || json!({"type": kind, "maintainer": user, "by": caller.user}),
            )
            .await?;
            if kind == "maintainer-add" {
                pkg.maintainers.push(user.clone());
            } else {
                pkg.maintainers.retain(|m| *m != user);
            }
            self.save(&mut pkg, Some(&key))?;
            tracing::info!(package = name, kind, user, "owners changed");
        }
        Ok(pkg.maintainers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rev_changes_with_the_package() {
        let mut pkg = App::new_package("widget");
        pkg.maintainers.push("alice".into());
        let before = package_rev(&pkg);
        assert_eq!(before, package_rev(&pkg.clone()));
        assert!(before.starts_with("1-") && before.len() == 34, "{before}");
        pkg.maintainers.push("bob".into());
        assert_ne!(before, package_rev(&pkg));
    }
}
