//! Trusted publishing's ID tokens: the configured OIDC issuers, their
//! signing keys (`/.well-known/openid-configuration` → `jwks_uri`, cached),
//! and the check of a CI job's JWT (signature, `iss`, `aud`, `exp`, `nbf`)
//! with the `jsonwebtoken` crate.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Mutex;

/// A CI provider whose ID tokens the registry reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// GitHub Actions (`repository`, `workflow_ref` claims).
    Github,
    /// GitLab CI/CD (`project_path`, `ci_config_ref_uri` claims).
    Gitlab,
}

impl Provider {
    /// npm's name of the provider (`npm trust github|gitlab`).
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Github => "github",
            Provider::Gitlab => "gitlab",
        }
    }

    /// The provider npm calls `name`.
    pub fn parse(name: &str) -> Option<Provider> {
        match name {
            "github" => Some(Provider::Github),
            "gitlab" => Some(Provider::Gitlab),
            _ => None,
        }
    }
}

/// An issuer the registry accepts ID tokens from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuer {
    /// Whose tokens it issues.
    pub provider: Provider,
    /// Its `iss` (an `https://` URL, no trailing `/`).
    pub url: String,
}

/// The issuers used when none is configured.
pub const DEFAULT_ISSUERS: [(Provider, &str); 2] = [
    (
        Provider::Github,
        "https://token.actions.githubusercontent.com",
    ),
    (Provider::Gitlab, "https://gitlab.com"),
];

/// Parses `--oidc-issuer [github=|gitlab=]https://…` (GitHub when no
/// provider is named).
pub fn parse_issuer(arg: &str) -> Result<Issuer, String> {
    let (provider, url) = match arg.split_once('=') {
        Some((name, url)) => (
            Provider::parse(name)
                .ok_or_else(|| format!("{name:?}: expected github or gitlab before ="))?,
            url,
        ),
        None => (Provider::Github, arg),
    };
    let url = url.trim_end_matches('/');
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    if parsed.scheme() != "https" || parsed.host_str().is_none() {
        return Err(format!("{url}: an issuer must be an https:// URL"));
    }
    Ok(Issuer {
        provider,
        url: url.to_owned(),
    })
}

/// The claims of a verified ID token that the registry reads.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct IdClaims {
    /// Issuer.
    pub iss: String,
    /// Subject, e.g. `repo:octo/widget:ref:refs/tags/v1.0.0`.
    pub sub: String,
    /// GitHub: `owner/repo`.
    pub repository: Option<String>,
    /// GitHub: `owner/repo/.github/workflows/release.yml@refs/tags/v1.0.0`.
    pub workflow_ref: Option<String>,
    /// GitLab: `group/project`.
    pub project_path: Option<String>,
    /// GitLab: `gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main`.
    pub ci_config_ref_uri: Option<String>,
    /// The git ref built.
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    /// The commit built.
    pub sha: Option<String>,
}

/// Why an ID token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// Not a JWT, or one whose issuer cannot be read.
    #[error("the ID token is not a valid JWT: {0}")]
    Malformed(String),
    /// Its `iss` is not a configured issuer.
    #[error("the ID token's issuer {0:?} is not one this registry accepts (--oidc-issuer)")]
    UnknownIssuer(String),
    /// The issuer's keys could not be fetched.
    #[error("the keys of the issuer {issuer} could not be fetched: {reason}")]
    Unreachable {
        /// The issuer.
        issuer: String,
        /// What failed.
        reason: String,
    },
    /// The signature or a claim does not verify.
    #[error("the ID token is refused: {0}")]
    Refused(String),
}

/// Asymmetric algorithms only: a JWKS never holds a shared secret we trust.
const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// How long fetched keys are used before they are fetched again.
const KEYS_TTL: Duration = Duration::from_secs(600);
/// An unknown `kid` refetches the keys at most this often (key rotation,
/// without letting bad tokens hammer the issuer).
const REFETCH_AFTER: Duration = Duration::from_secs(30);
/// Clock skew allowed on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 30;

struct Cached {
    keys: JwkSet,
    fetched: Instant,
}

/// Verifies ID tokens of the configured issuers.
pub struct OidcVerifier {
    issuers: Vec<Issuer>,
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Cached>>,
}

impl OidcVerifier {
    /// A verifier of `issuers`, fetching their keys over HTTPS; `ca_cert`
    /// (PEM) is trusted in addition to the usual roots.
    pub fn new(issuers: Vec<Issuer>, ca_cert: Option<&Path>) -> Result<OidcVerifier, String> {
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .https_only(true);
        if let Some(path) = ca_cert {
            let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| format!("{}: not a PEM certificate: {e}", path.display()))?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder.build().map_err(|e| format!("HTTP client: {e}"))?;
        Ok(OidcVerifier {
            issuers,
            http,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The issuer of `provider`'s tokens (the first configured).
    pub fn issuer_for(&self, provider: Provider) -> Option<&Issuer> {
        self.issuers.iter().find(|i| i.provider == provider)
    }

    /// Verifies `token` for `audience` (`npm:<registry host>`): its
    /// signature against its issuer's published key, `iss`, `aud`, `exp`
    /// and `nbf`. Returns the issuer and the claims.
    pub async fn verify(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<(Issuer, IdClaims), OidcError> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| OidcError::Malformed(e.to_string()))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(OidcError::Refused(format!(
                "the algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let iss = unverified_issuer(token)?;
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.url == iss)
            .ok_or(OidcError::UnknownIssuer(iss))?
            .clone();
        let kid = header
            .kid
            .as_deref()
            .ok_or_else(|| OidcError::Refused("the token names no key (kid)".into()))?;
        let key = self.key(&issuer, kid).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&issuer.url]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        let data = jsonwebtoken::decode::<IdClaims>(token, &key, &validation).map_err(|e| {
            OidcError::Refused(match e.kind() {
                ErrorKind::InvalidSignature => {
                    "its signature does not verify against the issuer's key".into()
                }
                ErrorKind::ExpiredSignature => "it has expired (exp)".into(),
                ErrorKind::ImmatureSignature => "it is not valid yet (nbf)".into(),
                ErrorKind::InvalidAudience => format!("its audience (aud) is not {audience}"),
                ErrorKind::InvalidIssuer => "its issuer (iss) does not match".into(),
                ErrorKind::MissingRequiredClaim(c) => format!("it has no {c} claim"),
                ErrorKind::InvalidAlgorithm => "its algorithm does not fit the issuer's key".into(),
                _ => e.to_string(),
            })
        })?;
        Ok((issuer, data.claims))
    }

    /// The issuer's key `kid`, from the cache or freshly fetched.
    async fn key(&self, issuer: &Issuer, kid: &str) -> Result<DecodingKey, OidcError> {
        let mut cache = self.cache.lock().await;
        let age = cache.get(&issuer.url).map(|c| c.fetched.elapsed());
        let cached = cache
            .get(&issuer.url)
            .filter(|c| c.fetched.elapsed() < KEYS_TTL)
            .and_then(|c| c.keys.find(kid).cloned());
        let jwk = match cached {
            Some(jwk) => Some(jwk),
            None if age.is_some_and(|a| a < REFETCH_AFTER) => None,
            None => {
                let keys = self.fetch_keys(issuer).await?;
                let jwk = keys.find(kid).cloned();
                cache.insert(
                    issuer.url.clone(),
                    Cached {
                        keys,
                        fetched: Instant::now(),
                    },
                );
                jwk
            }
        };
        let jwk = jwk.ok_or_else(|| {
            OidcError::Refused(format!("the issuer publishes no key with id {kid:?}"))
        })?;
        DecodingKey::from_jwk(&jwk)
            .map_err(|e| OidcError::Refused(format!("the issuer's key {kid:?} is unusable: {e}")))
    }

    async fn fetch_keys(&self, issuer: &Issuer) -> Result<JwkSet, OidcError> {
        let unreachable = |reason: String| OidcError::Unreachable {
            issuer: issuer.url.clone(),
            reason,
        };
        let config: Value = self
            .get_json(&format!("{}/.well-known/openid-configuration", issuer.url))
            .await
            .map_err(unreachable)?;
        if config["issuer"].as_str().map(|i| i.trim_end_matches('/')) != Some(&issuer.url) {
            return Err(unreachable(format!(
                "its openid-configuration names another issuer: {}",
                config["issuer"]
            )));
        }
        let jwks_uri = config["jwks_uri"]
            .as_str()
            .ok_or_else(|| unreachable("its openid-configuration has no jwks_uri".into()))?;
        let keys: Value = self.get_json(jwks_uri).await.map_err(unreachable)?;
        let keys: JwkSet = serde_json::from_value(keys)
            .map_err(|e| unreachable(format!("{jwks_uri} is not a JWK set: {e}")))?;
        tracing::info!(
            issuer = issuer.url,
            keys = keys.keys.len(),
            "fetched OIDC keys"
        );
        Ok(keys)
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let response = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("{url} answered {status}"));
        }
        response
            .json()
            .await
            .map_err(|e| format!("{url}: not JSON: {e}"))
    }
}

/// The `iss` claim before the signature is checked: it only picks which
/// issuer's keys to check the signature with.
fn unverified_issuer(token: &str) -> Result<String, OidcError> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| OidcError::Malformed("no payload".into()))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| OidcError::Malformed(format!("payload: {e}")))?;
    let claims: Value = serde_json::from_slice(&bytes)
        .map_err(|e| OidcError::Malformed(format!("payload: {e}")))?;
    claims["iss"]
        .as_str()
        .map(|s| s.trim_end_matches('/').to_owned())
        .ok_or_else(|| OidcError::Malformed("no iss claim".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_parse() {
        let gh = parse_issuer("https://token.actions.githubusercontent.com/").unwrap();
        assert_eq!(gh.provider, Provider::Github);
        assert_eq!(gh.url, "https://token.actions.githubusercontent.com");
        let gl = parse_issuer("gitlab=https://gitlab.example.com").unwrap();
        assert_eq!(gl.provider, Provider::Gitlab);
        assert!(parse_issuer("http://127.0.0.1:9000").is_err());
        assert!(parse_issuer("circleci=https://oidc.circleci.com").is_err());
        assert!(parse_issuer("not a url").is_err());
    }

    #[test]
    fn the_issuer_is_read_from_the_payload() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"iss":"https://issuer.test/"}"#);
        assert_eq!(
            unverified_issuer(&format!("e30.{payload}.sig")).unwrap(),
            "https://issuer.test"
        );
        assert!(unverified_issuer("e30").is_err());
        let no_iss = URL_SAFE_NO_PAD.encode(br#"{"sub":"x"}"#);
        assert!(unverified_issuer(&format!("e30.{no_iss}.sig")).is_err());
    }
}
