//! What the registry does, independent of HTTP: authenticate, stage,
//! approve, reject and publish, each logged to the gatelog log **before**
//! it takes effect.
//!
//! Every event goes through an outbox: it is built and signed once, its
//! envelope stored (synced) under an `outbox/…` key, then sent. The record
//! that makes the step take effect is written together with the removal of
//! the outbox entry, in one batch, only after the log acknowledged the
//! event. If the log is down the request fails with `503` and nothing is
//! visible; a retry sends the same envelope bytes, so the log (which
//! answers a resubmission with `duplicate: true`) holds the event once.
//!
//! Writes are serialized by one lock; reads never take it.

use axum::http::HeaderMap;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::auth::{self, OtpError};
use crate::error::ApiError;
use crate::log::{LogClient, now_rfc3339};
use crate::oidc::OidcVerifier;
use crate::publish_doc::{self, PublishDoc};
use crate::signing::RegistrySigner;
use crate::store::{
    Batch, Logged, Outbox, Package, PublishedVersion, StageItem, StageStatus, Store, TokenKind,
    TokenRecord, User,
};
use crate::trust::OidcIdentity;

/// The device id of a user's TOTP authenticator.
pub const TOTP_DEVICE: &str = "totp";

/// The registry.
pub struct App {
    /// Storage.
    pub store: Store,
    /// The log and the registry's key.
    pub log: LogClient,
    /// The npm signing key (`dist.signatures`, `/-/npm/v1/keys`).
    pub signer: RegistrySigner,
    /// Trusted publishing's issuers and their keys.
    pub oidc: OidcVerifier,
    /// The registry read through for packages not owned here (`--uplink`).
    pub uplink: Option<crate::uplink::Uplink>,
    pub(crate) write: Mutex<()>,
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The user.
    pub user: String,
    /// The token's kind.
    pub kind: TokenKind,
    /// The token's short id.
    pub token_id: String,
    /// The only package the token may write (trusted publishing).
    pub package: Option<String>,
    /// The CI identity behind the token (trusted publishing).
    pub oidc: Option<OidcIdentity>,
}

pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The file name of a version's tarball: `<name without scope>-<version>.tgz`.
pub fn tarball_file(package: &str, version: &str) -> String {
    let bare = package.rsplit('/').next().unwrap_or(package);
    format!("{bare}-{version}.tgz")
}

impl App {
    /// A registry over `store` logging to `log`.
    pub fn new(store: Store, log: LogClient, signer: RegistrySigner, oidc: OidcVerifier) -> App {
        App {
            store,
            log,
            signer,
            oidc,
            uplink: None,
            write: Mutex::new(()),
        }
    }

    /// The registry's origin, e.g. `http://127.0.0.1:4873`.
    pub fn origin(&self) -> &str {
        self.log.registry().as_str()
    }

    /// The caller of a request with `Authorization: Bearer <token>`.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let token = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "this operation needs a token: set //<registry>/:_authToken in .npmrc",
                )
            })?;
        let record: TokenRecord = self
            .store
            .get(&format!("token/{}", auth::token_hash(token)))?
            .ok_or_else(|| ApiError::unauthorized("the token is not valid"))?;
        if record.expires.is_some_and(|e| now_unix() >= e) {
            return Err(ApiError::unauthorized(
                "the token has expired: exchange a new ID token",
            ));
        }
        Ok(Caller {
            user: record.user,
            kind: record.kind,
            token_id: record.id,
            package: record.package,
            oidc: record.oidc,
        })
    }

    /// A package record, if the package was ever written.
    pub fn package(&self, name: &str) -> Result<Option<Package>, ApiError> {
        Ok(self.store.get(&format!("pkg/{name}"))?)
    }

    /// A stage item.
    pub fn stage_item(&self, id: &str) -> Result<StageItem, ApiError> {
        self.store
            .get(&format!("stage/{id}"))?
            .ok_or_else(|| ApiError::not_found(format!("no staged package with id {id}")))
    }

    /// Stage items of packages `caller` maintains, optionally of one package.
    pub fn stage_items(
        &self,
        caller: &Caller,
        package: Option<&str>,
    ) -> Result<Vec<StageItem>, ApiError> {
        let mut items: Vec<StageItem> = self.store.scan("stage/")?;
        items.retain(|i| package.is_none_or(|p| i.package == p));
        let mut out = Vec::new();
        for item in items {
            let maintains = self
                .package(&item.package)?
                .is_some_and(|p| p.maintainers.contains(&caller.user));
            if maintains {
                out.push(item);
            }
        }
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Logs one event through the outbox entry `key`: reuses the envelope
    /// stored there, or builds, signs and stores one. The caller removes
    /// the entry in the batch that makes the step take effect.
    pub(crate) async fn log_step(
        &self,
        key: &str,
        package: &str,
        body: impl FnOnce() -> Value,
    ) -> Result<Logged, ApiError> {
        let envelope = match self.store.get::<Outbox>(key)? {
            Some(outbox) => outbox.envelope,
            None => {
                let envelope = self.log.sign(package, body())?;
                self.store.put(
                    key,
                    &Outbox {
                        envelope: envelope.clone(),
                    },
                )?;
                envelope
            }
        };
        let ack = self.log.submit(&envelope).await?;
        tracing::info!(key, index = ack.index, duplicate = ack.duplicate, "logged");
        Ok(Logged { envelope, ack })
    }

    /// Makes `user` a maintainer of a package that has none yet (its first
    /// publisher), logging `maintainer-add` first; refuses anyone else.
    pub(crate) async fn ensure_maintainer(
        &self,
        pkg: &mut Package,
        user: &str,
    ) -> Result<(), ApiError> {
        if pkg.maintainers.iter().any(|m| m == user) {
            return Ok(());
        }
        if !pkg.maintainers.is_empty() {
            return Err(ApiError::forbidden(format!(
                "{user} is not a maintainer of {}",
                pkg.name
            )));
        }
        let key = format!("outbox/maintainer-add/{}/{user}", pkg.name);
        self.log_step(
            &key,
            &pkg.name,
            || json!({"type": "maintainer-add", "maintainer": user, "by": user}),
        )
        .await?;
        pkg.maintainers.push(user.to_owned());
        pkg.modified = now_rfc3339();
        let mut batch = Batch::default();
        batch.put(&format!("pkg/{}", pkg.name), pkg);
        batch.delete(&key);
        self.store.write(batch)?;
        Ok(())
    }

    /// Logs `device-register` of `user`'s TOTP device for this package
    /// before its first use there.
    async fn ensure_device(&self, pkg: &mut Package, user: &str) -> Result<(), ApiError> {
        let device = format!("{user}/{TOTP_DEVICE}");
        if pkg.devices.contains(&device) {
            return Ok(());
        }
        let key = format!("outbox/device-register/{}/{device}", pkg.name);
        self.log_step(&key, &pkg.name, || {
            json!({"type": "device-register", "maintainer": user,
                   "device": {"id": TOTP_DEVICE, "kind": "totp", "label": "authenticator app (TOTP)"}})
        })
        .await?;
        pkg.devices.push(device);
        let mut batch = Batch::default();
        batch.put(&format!("pkg/{}", pkg.name), pkg);
        batch.delete(&key);
        self.store.write(batch)?;
        Ok(())
    }

    /// Logs `device-register` of `user`'s signing device for `pkg`, with its
    /// key, before its first approval there.
    async fn ensure_signing_device(
        &self,
        pkg: &mut Package,
        user: &str,
        d: &crate::device::SigningDevice,
    ) -> Result<(), ApiError> {
        let device = format!("{user}/{}", d.id);
        if pkg.devices.contains(&device) {
            return Ok(());
        }
        let key = format!("outbox/device-register/{}/{device}", pkg.name);
        self.log_step(&key, &pkg.name, || {
            let mut body = json!({"type": "device-register", "maintainer": user,
                   "device": {"id": d.id, "kind": "ed25519", "public_key": d.public_key}});
            if let Some(label) = &d.label {
                body["device"]["label"] = label.clone().into();
            }
            body
        })
        .await?;
        pkg.devices.push(device);
        let mut batch = Batch::default();
        batch.put(&format!("pkg/{}", pkg.name), pkg);
        batch.delete(&key);
        self.store.write(batch)?;
        Ok(())
    }

    /// Checks the one-time password of `user` (`npm-otp` header).
    pub(crate) fn check_otp(&self, user: &str, otp: Option<&str>) -> Result<(), ApiError> {
        let Some(otp) = otp.filter(|o| !o.trim().is_empty()) else {
            return Err(ApiError::otp(
                "this operation requires a one-time password (--otp)",
            ));
        };
        let key = format!("user/{user}");
        let mut record: User = self
            .store
            .get(&key)?
            .ok_or_else(|| ApiError::unauthorized(format!("no user {user}")))?;
        let result = auth::check_otp(&mut record, otp, now_unix());
        self.store.put(&key, &record)?;
        match result {
            Ok(()) => Ok(()),
            Err(OtpError::NotEnrolled) => Err(ApiError::forbidden(format!(
                "{user} has no TOTP device; enrol one with `gatelog-registry admin totp-enrol {user}`"
            ))),
            Err(OtpError::LockedOut(wait)) => Err(ApiError::too_many(
                format!("too many wrong one-time passwords for {user}; retry in {wait} s"),
                wait,
            )),
            Err(OtpError::Wrong) => Err(ApiError::otp("the one-time password is wrong")),
            Err(OtpError::Replayed) => Err(ApiError::otp(
                "this one-time password was already used; wait for the next one",
            )),
        }
    }

    pub(crate) fn new_package(name: &str) -> Package {
        let now = now_rfc3339();
        Package {
            name: name.to_owned(),
            created: now.clone(),
            modified: now,
            ..Package::default()
        }
    }

    /// The manifest as served: the publisher's, with our `dist`.
    fn served_manifest(&self, doc: &PublishDoc) -> Value {
        let mut manifest = doc.manifest.clone();
        let name = doc.name.as_str();
        let version = doc.version.to_string();
        // npm checks a signed manifest's `_id` is `<name>@<version>`.
        manifest["_id"] = format!("{name}@{version}").into();
        manifest["dist"] = json!({
            "integrity": doc.integrity.to_string(),
            "shasum": doc.shasum,
            "tarball": format!("{}/{name}/-/{}", self.origin(), tarball_file(name, &version)),
        });
        manifest
    }

    /// The manifest as installed: `manifest` with the registry's signature
    /// of `<name>@<version>:<integrity>` in `dist.signatures`, made once the
    /// log has acknowledged the publish.
    fn signed_manifest(
        &self,
        mut manifest: Value,
        name: &str,
        version: &str,
        integrity: &str,
    ) -> Value {
        manifest["dist"]["signatures"] = json!([self.signer.sign(name, version, integrity)]);
        manifest
    }

    fn check_new_version(&self, pkg: &Package, version: &str) -> Result<(), ApiError> {
        if pkg.versions.contains_key(version) {
            return Err(ApiError::forbidden(format!(
                "You cannot publish over the previously published versions: {version}."
            )));
        }
        let pending = self
            .store
            .scan::<StageItem>("stage/")?
            .into_iter()
            .find(|i| {
                i.package == pkg.name && i.version == version && i.status == StageStatus::Staged
            });
        if let Some(item) = pending {
            return Err(ApiError::conflict(format!(
                "{}@{version} is already staged (stage id {}); approve or reject it first",
                pkg.name, item.id
            )));
        }
        Ok(())
    }

    /// `npm stage publish`: checks the document, logs `stage` (after
    /// `maintainer-add` for a new package), then stores the item.
    pub async fn stage(
        &self,
        caller: &Caller,
        url_name: &str,
        body: &[u8],
    ) -> Result<StageItem, ApiError> {
        if caller.kind == TokenKind::Read {
            return Err(ApiError::forbidden("a read token cannot stage packages"));
        }
        let doc = publish_doc::parse(url_name, body).map_err(|e| ApiError::bad_request(e.0))?;
        let _guard = self.write.lock().await;
        let name = doc.name.as_str();
        let version = doc.version.to_string();
        let mut pkg = self
            .package(name)?
            .unwrap_or_else(|| App::new_package(name));
        self.check_writer(caller, &pkg, false)?;
        self.check_new_version(&pkg, &version)?;
        self.store.put_tarball(&doc.tarball)?;
        if caller.oidc.is_none() {
            self.ensure_maintainer(&mut pkg, &caller.user).await?;
        }

        let integrity = doc.integrity.to_string();
        let key = format!(
            "outbox/stage/{name}@{version}/{integrity}/{}/{}",
            doc.tag, caller.token_id
        );
        let publisher = match &caller.oidc {
            Some(identity) => identity.publisher_json(),
            None => json!({"kind": "token",
                           "subject": format!("{}/token:{}", caller.user, caller.token_id)}),
        };
        let stage = self
            .log_step(&key, name, || {
                json!({"type": "stage", "version": version, "integrity": integrity,
                       "publisher": publisher, "dist_tag": doc.tag})
            })
            .await?;
        let item = StageItem {
            id: auth::new_uuid(),
            package: name.to_owned(),
            version: version.clone(),
            tag: doc.tag.clone(),
            manifest: self.served_manifest(&doc),
            integrity: doc.integrity.to_string(),
            shasum: doc.shasum.clone(),
            actor: caller
                .oidc
                .as_ref()
                .map_or_else(|| caller.user.clone(), |o| o.repository.clone()),
            actor_type: if caller.oidc.is_some() {
                "oidc"
            } else {
                "token"
            }
            .into(),
            created_at: now_rfc3339(),
            status: StageStatus::Staged,
            stage,
            approve: None,
            publish: None,
            reject: None,
        };
        let mut batch = Batch::default();
        batch.put(&format!("stage/{}", item.id), &item);
        batch.delete(&key);
        self.store.write(batch)?;
        tracing::info!(id = item.id, package = name, version, "staged");
        Ok(item)
    }

    /// Loads a staged item that `caller` (a publish token) may decide on.
    fn decidable(&self, caller: &Caller, id: &str) -> Result<(StageItem, Package), ApiError> {
        if caller.kind != TokenKind::Publish {
            return Err(ApiError::forbidden(format!(
                "a {} token cannot approve or reject; use a maintainer's publish token",
                caller.kind.as_str()
            )));
        }
        let item = self.stage_item(id)?;
        let pkg = self
            .package(&item.package)?
            .ok_or_else(|| ApiError::not_found(format!("no package {}", item.package)))?;
        if !pkg.maintainers.contains(&caller.user) {
            return Err(ApiError::forbidden(format!(
                "{} is not a maintainer of {}",
                caller.user, item.package
            )));
        }
        if item.status != StageStatus::Staged {
            return Err(ApiError::conflict(format!(
                "staged package {id} is already {}",
                item.status.as_str()
            )));
        }
        Ok((item, pkg))
    }

    /// `npm stage approve <id> --otp=N`: logs `approve` (after the TOTP
    /// device's `device-register` for this package), then `publish` with
    /// `via: staged`; only then is the version in the packument.
    pub async fn approve(
        &self,
        caller: &Caller,
        id: &str,
        otp: Option<&str>,
        user_agent: Option<&str>,
        device: Option<&crate::device::DeviceApproval>,
    ) -> Result<StageItem, ApiError> {
        let _guard = self.write.lock().await;
        let (mut item, mut pkg) = self.decidable(caller, id)?;
        // A device signature is checked before the OTP is spent.
        let signing = match device {
            Some(d) => {
                let user = self
                    .store
                    .get::<User>(&format!("user/{}", caller.user))?
                    .ok_or_else(|| ApiError::unauthorized(format!("no user {}", caller.user)))?;
                Some((crate::device::check(&user, &item, d)?, d.signature.clone()))
            }
            None => None,
        };
        self.check_otp(&caller.user, otp)?;
        match &signing {
            Some((d, _)) => {
                self.ensure_signing_device(&mut pkg, &caller.user, d)
                    .await?
            }
            None => self.ensure_device(&mut pkg, &caller.user).await?,
        }
        let stage_index = item.stage.ack.index;

        if item.approve.is_none() {
            let key = format!("outbox/approve/{id}");
            let mut context = json!({});
            if let Some(ua) = user_agent.map(clean_user_agent).filter(|u| !u.is_empty()) {
                context["user_agent"] = ua.into();
            }
            let approve = self
                .log_step(&key, &item.package, || {
                    let mut body = json!({"type": "approve", "version": item.version,
                        "integrity": item.integrity, "stage": stage_index,
                        "maintainer": caller.user,
                        "device": {"id": TOTP_DEVICE, "kind": "totp"}});
                    if let Some((d, sig)) = &signing {
                        use base64::Engine as _;
                        body["device"] = json!({"id": d.id, "kind": "ed25519"});
                        body["device_signature"] =
                            base64::engine::general_purpose::STANDARD.encode(sig).into();
                    }
                    if context.as_object().is_some_and(|c| !c.is_empty()) {
                        body["context"] = context;
                    }
                    body
                })
                .await?;
            item.approve = Some(approve);
            let mut batch = Batch::default();
            batch.put(&format!("stage/{id}"), &item);
            batch.delete(&key);
            self.store.write(batch)?;
        }
        let approve_index = item.approve.as_ref().map(|a| a.ack.index);

        let key = format!("outbox/publish/{id}");
        let publish = self
            .log_step(&key, &item.package, || {
                json!({"type": "publish", "version": item.version, "integrity": item.integrity,
                       "dist_tag": item.tag, "stage": stage_index, "approve": approve_index,
                       "via": "staged"})
            })
            .await?;
        let now = now_rfc3339();
        pkg.versions.insert(
            item.version.clone(),
            PublishedVersion {
                manifest: self.signed_manifest(
                    item.manifest.clone(),
                    &item.package,
                    &item.version,
                    &item.integrity,
                ),
                integrity: item.integrity.clone(),
                time: now.clone(),
                via: "staged".into(),
                stage_id: Some(id.to_owned()),
                publish: publish.clone(),
            },
        );
        pkg.dist_tags.insert(item.tag.clone(), item.version.clone());
        pkg.modified = now;
        item.publish = Some(publish);
        item.status = StageStatus::Published;
        let mut batch = Batch::default();
        batch.put(&format!("stage/{id}"), &item);
        batch.put(&format!("pkg/{}", pkg.name), &pkg);
        batch.delete(&key);
        self.store.write(batch)?;
        tracing::info!(
            id,
            package = pkg.name,
            version = item.version,
            "approved and published"
        );
        Ok(item)
    }

    /// `npm stage reject <id> --otp=N`: logs `reject`, then marks the item.
    pub async fn reject(
        &self,
        caller: &Caller,
        id: &str,
        otp: Option<&str>,
    ) -> Result<StageItem, ApiError> {
        let _guard = self.write.lock().await;
        let (mut item, mut pkg) = self.decidable(caller, id)?;
        self.check_otp(&caller.user, otp)?;
        self.ensure_device(&mut pkg, &caller.user).await?;
        let key = format!("outbox/reject/{id}");
        let reject = self
            .log_step(&key, &item.package, || {
                json!({"type": "reject", "version": item.version, "stage": item.stage.ack.index,
                       "maintainer": caller.user, "device": {"id": TOTP_DEVICE, "kind": "totp"}})
            })
            .await?;
        item.reject = Some(reject);
        item.status = StageStatus::Rejected;
        let mut batch = Batch::default();
        batch.put(&format!("stage/{id}"), &item);
        batch.delete(&key);
        self.store.write(batch)?;
        tracing::info!(
            id,
            package = item.package,
            version = item.version,
            "rejected"
        );
        Ok(item)
    }

    /// `npm publish` (direct): refused for stage-only and read tokens and
    /// for packages that require staging; else logs `publish` with
    /// `via: direct`, then serves the version.
    pub async fn publish_direct(
        &self,
        caller: &Caller,
        url_name: &str,
        body: &[u8],
    ) -> Result<(), ApiError> {
        match caller.kind {
            TokenKind::Publish => {}
            TokenKind::StageOnly => {
                return Err(ApiError::forbidden(
                    "this token may only stage: use `npm stage publish`, then a maintainer approves with `npm stage approve`",
                ));
            }
            TokenKind::Read => return Err(ApiError::forbidden("a read token cannot publish")),
        }
        let doc = publish_doc::parse(url_name, body).map_err(|e| ApiError::bad_request(e.0))?;
        let _guard = self.write.lock().await;
        let name = doc.name.as_str();
        let version = doc.version.to_string();
        let mut pkg = self
            .package(name)?
            .unwrap_or_else(|| App::new_package(name));
        if pkg.staging_required {
            return Err(ApiError::forbidden(format!(
                "{name} requires staged publishing: use `npm stage publish`, then `npm stage approve`"
            )));
        }
        self.check_writer(caller, &pkg, true)?;
        self.check_new_version(&pkg, &version)?;
        self.store.put_tarball(&doc.tarball)?;
        if caller.oidc.is_none() {
            self.ensure_maintainer(&mut pkg, &caller.user).await?;
        }
        let integrity = doc.integrity.to_string();
        let key = format!("outbox/direct/{name}@{version}/{integrity}/{}", doc.tag);
        let publish = self
            .log_step(&key, name, || {
                json!({"type": "publish", "version": version, "integrity": integrity,
                       "dist_tag": doc.tag, "via": "direct"})
            })
            .await?;
        let now = now_rfc3339();
        pkg.versions.insert(
            version.clone(),
            PublishedVersion {
                manifest: self.signed_manifest(
                    self.served_manifest(&doc),
                    name,
                    &version,
                    &integrity,
                ),
                integrity,
                time: now.clone(),
                via: "direct".into(),
                stage_id: None,
                publish,
            },
        );
        pkg.dist_tags.insert(doc.tag.clone(), version.clone());
        pkg.modified = now;
        let mut batch = Batch::default();
        batch.put(&format!("pkg/{name}"), &pkg);
        batch.delete(&key);
        self.store.write(batch)?;
        tracing::info!(package = name, version, "published directly");
        Ok(())
    }
}

/// A User-Agent fit for an event: printable ASCII, at most
/// [`gatelog_core::event::MAX_USER_AGENT_LEN`] bytes.
fn clean_user_agent(ua: &str) -> String {
    ua.chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .take(gatelog_core::event::MAX_USER_AGENT_LEN)
        .collect::<String>()
        .trim()
        .to_owned()
}
