//! A package's publishing policy: whether staging is required, and its
//! trusted publishers. Every change is one `policy-change` event holding
//! the complete new policy, logged through the outbox **before** it takes
//! effect.

use gatelog_core::event::PackageName;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::error::ApiError;
use crate::log::now_rfc3339;
use crate::store::{Batch, Package};
use crate::trust::TrustConfig;

impl App {
    /// Logs `policy-change` with `staging_required` and `trusted` as the
    /// package's complete policy, then stores it.
    pub(crate) async fn change_policy(
        &self,
        pkg: &mut Package,
        staging_required: bool,
        trusted: Vec<TrustConfig>,
    ) -> Result<(), ApiError> {
        let staged = if staging_required {
            "required"
        } else {
            "optional"
        };
        let body = json!({"type": "policy-change", "staged_publishing": staged,
            "trusted_publishers": trusted.iter().map(TrustConfig::event_json).collect::<Vec<Value>>()});
        let digest = hex::encode(Sha256::digest(body.to_string().as_bytes()));
        let key = format!("outbox/policy-change/{}/{digest}", pkg.name);
        self.log_step(&key, &pkg.name, || body).await?;
        pkg.staging_required = staging_required;
        pkg.trusted_publishers = trusted;
        pkg.modified = now_rfc3339();
        let mut batch = Batch::default();
        batch.put(&format!("pkg/{}", pkg.name), pkg);
        batch.delete(&key);
        self.store.write(batch)?;
        Ok(())
    }

    /// `admin policy-set <pkg> --staged-publishing required|optional`:
    /// logs the new policy, then applies it. A package not written yet is
    /// created without maintainers (its first publisher becomes one).
    /// Returns false, logging nothing, when the policy is already so
    /// (staging is optional where no policy was set).
    pub async fn set_staging(&self, name: &str, required: bool) -> Result<bool, ApiError> {
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
        if pkg.staging_required == required {
            return Ok(false);
        }
        let trusted = pkg.trusted_publishers.clone();
        self.change_policy(&mut pkg, required, trusted).await?;
        tracing::info!(package = name, required, "staged publishing policy set");
        Ok(true)
    }
}
