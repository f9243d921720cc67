//! Trusted publishing: `npm trust` (list, add, revoke) changes a package's
//! trusted publishers, each change logged as `policy-change` **before** it
//! takes effect (through the outbox, as stage and approve are); the token
//! exchange turns a CI job's verified ID token into a short-lived token
//! scoped to one package and to staging (or publishing) as its trusted
//! publisher allows.

use gatelog_core::event::PackageName;

use crate::app::{App, Caller, now_unix};
use crate::auth;
use crate::error::ApiError;
use crate::log::now_rfc3339;
use crate::oidc::OidcError;
use crate::store::{Package, TokenKind, TokenRecord};
use crate::trust::{self, TrustConfig};

/// How long an exchanged token lasts, in seconds.
pub const OIDC_TOKEN_SECS: u64 = 15 * 60;

impl App {
    /// Refuses a writer of `pkg` who is neither a maintainer nor, for a
    /// token from a trusted publisher, that package's trusted publisher
    /// still (allowed to publish directly when `publish`).
    pub(crate) fn check_writer(
        &self,
        caller: &Caller,
        pkg: &Package,
        publish: bool,
    ) -> Result<(), ApiError> {
        let Some(identity) = &caller.oidc else {
            if !pkg.maintainers.is_empty() && !pkg.maintainers.contains(&caller.user) {
                return Err(ApiError::forbidden(format!(
                    "{} is not a maintainer of {}",
                    caller.user, pkg.name
                )));
            }
            return Ok(());
        };
        if caller.package.as_deref() != Some(pkg.name.as_str()) {
            return Err(ApiError::forbidden(format!(
                "this token was issued for {} and cannot write {}",
                caller.package.as_deref().unwrap_or("another package"),
                pkg.name
            )));
        }
        let config = pkg
            .trusted_publishers
            .iter()
            .find(|c| c.trusts(identity))
            .ok_or_else(|| {
                ApiError::forbidden(format!(
                    "{} ({}) is no longer a trusted publisher of {}",
                    identity.repository, identity.workflow, pkg.name
                ))
            })?;
        if publish && !config.may_publish() {
            return Err(ApiError::forbidden(format!(
                "this trusted publisher of {} may only stage: use `npm stage publish`",
                pkg.name
            )));
        }
        Ok(())
    }

    /// The package `name` of which `caller` is a maintainer.
    pub(crate) fn maintained(&self, caller: &Caller, name: &str) -> Result<Package, ApiError> {
        let pkg = self
            .package(name)?
            .ok_or_else(|| ApiError::not_found(format!("no package {name}")))?;
        if caller.oidc.is_some() || !pkg.maintainers.contains(&caller.user) {
            return Err(ApiError::forbidden(format!(
                "{} is not a maintainer of {name}",
                caller.user
            )));
        }
        Ok(pkg)
    }

    /// `npm trust list <pkg>`.
    pub fn trust_list(&self, caller: &Caller, name: &str) -> Result<Vec<TrustConfig>, ApiError> {
        Ok(self.maintained(caller, name)?.trusted_publishers)
    }

    /// `npm trust github|gitlab <pkg> …` (with an OTP): adds trusted
    /// publishers, making the caller the maintainer of a new package
    /// (`maintainer-add` logged first). Returns the ones added.
    pub async fn trust_add(
        &self,
        caller: &Caller,
        name: &str,
        body: &[u8],
        otp: Option<&str>,
    ) -> Result<Vec<TrustConfig>, ApiError> {
        if caller.kind != TokenKind::Publish || caller.oidc.is_some() {
            return Err(ApiError::forbidden(
                "trusted publishers are set by a maintainer's publish token",
            ));
        }
        let requested = trust::parse_request(body).map_err(ApiError::bad_request)?;
        let _guard = self.write.lock().await;
        let mut pkg = match self.package(name)? {
            Some(pkg) => pkg,
            None => {
                let parsed =
                    PackageName::parse(name).map_err(|e| ApiError::bad_request(e.to_string()))?;
                parsed.check_new().map_err(|reason| {
                    ApiError::bad_request(format!("invalid package name {name:?}: {reason}"))
                })?;
                App::new_package(name)
            }
        };
        self.check_writer(caller, &pkg, false)?;
        let mut trusted = pkg.trusted_publishers.clone();
        let mut added = Vec::new();
        for r in requested {
            let issuer = self.oidc.issuer_for(r.provider).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "this registry accepts no {} ID tokens (--oidc-issuer)",
                    r.provider.as_str()
                ))
            })?;
            let config = TrustConfig {
                id: auth::new_uuid(),
                provider: r.provider,
                issuer: issuer.url.clone(),
                entity: r.entity,
                file: r.file,
                permissions: r.permissions,
                created: now_rfc3339(),
            };
            if trusted.iter().any(|c| c.same_publisher(&config)) {
                return Err(ApiError::conflict(format!(
                    "{} ({}) is already a trusted publisher of {name}; revoke it first",
                    config.entity,
                    config.workflow()
                )));
            }
            trusted.push(config.clone());
            added.push(config);
        }
        if trusted.len() > gatelog_core::event::MAX_TRUSTED_PUBLISHERS {
            return Err(ApiError::bad_request(format!(
                "a package has at most {} trusted publishers",
                gatelog_core::event::MAX_TRUSTED_PUBLISHERS
            )));
        }
        self.check_otp(&caller.user, otp)?;
        self.ensure_maintainer(&mut pkg, &caller.user).await?;
        let required = pkg.staging_required;
        self.change_policy(&mut pkg, required, trusted).await?;
        tracing::info!(
            package = name,
            added = added.len(),
            "trusted publishers added"
        );
        Ok(added)
    }

    /// `npm trust revoke <pkg> --id <id>` (with an OTP).
    pub async fn trust_revoke(
        &self,
        caller: &Caller,
        name: &str,
        id: &str,
        otp: Option<&str>,
    ) -> Result<(), ApiError> {
        if caller.kind != TokenKind::Publish {
            return Err(ApiError::forbidden(
                "trusted publishers are revoked with a maintainer's publish token",
            ));
        }
        let _guard = self.write.lock().await;
        let mut pkg = self.maintained(caller, name)?;
        let mut trusted = pkg.trusted_publishers.clone();
        let before = trusted.len();
        trusted.retain(|c| c.id != id);
        if trusted.len() == before {
            return Err(ApiError::not_found(format!(
                "{name} has no trusted publisher with id {id}"
            )));
        }
        self.check_otp(&caller.user, otp)?;
        let required = pkg.staging_required;
        self.change_policy(&mut pkg, required, trusted).await?;
        tracing::info!(package = name, id, "trusted publisher revoked");
        Ok(())
    }

    /// The audience npm asks ID tokens for: `npm:<registry host name>`.
    pub fn oidc_audience(&self) -> String {
        let host = reqwest::Url::parse(self.origin())
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        format!("npm:{host}")
    }

    /// `POST /-/npm/v1/oidc/token/exchange/package/<name>`: verifies the ID
    /// token and, when a trusted publisher of `name` matches it, returns a
    /// new token (stored hashed) for that package alone, lasting
    /// [`OIDC_TOKEN_SECS`]: stage-only, or publish when the trusted
    /// publisher may publish.
    pub async fn exchange(&self, name: &str, id_token: &str) -> Result<String, ApiError> {
        let (issuer, claims) = self
            .oidc
            .verify(id_token, &self.oidc_audience())
            .await
            .map_err(|e| match e {
                OidcError::Unreachable { .. } => ApiError {
                    retry_after: Some(5),
                    ..ApiError::new(
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        "oidc_unavailable",
                        e.to_string(),
                    )
                },
                _ => ApiError::unauthorized(e.to_string()),
            })?;
        let identity = trust::identity(issuer.provider, &claims).map_err(ApiError::unauthorized)?;
        let pkg = self
            .package(name)?
            .ok_or_else(|| ApiError::not_found(format!("no package {name}")))?;
        let config = pkg
            .trusted_publishers
            .iter()
            .find(|c| c.trusts(&identity))
            .ok_or_else(|| {
                ApiError::forbidden(format!(
                    "{} ({}) is not a trusted publisher of {name}",
                    identity.repository, identity.workflow
                ))
            })?;
        let token = auth::new_token();
        let hash = auth::token_hash(&token);
        let record = TokenRecord {
            user: format!("oidc:{}", identity.repository),
            kind: if config.may_publish() {
                TokenKind::Publish
            } else {
                TokenKind::StageOnly
            },
            id: hash[..12].to_owned(),
            created: now_rfc3339(),
            package: Some(name.to_owned()),
            expires: Some(now_unix() + OIDC_TOKEN_SECS),
            oidc: Some(identity),
        };
        self.store.put(&format!("token/{hash}"), &record)?;
        tracing::info!(
            package = name,
            token = record.id,
            kind = record.kind.as_str(),
            "exchanged an ID token"
        );
        Ok(token)
    }
}
