//! Trusted publishers of a package, in npm's shape (`npm trust github|gitlab`,
//! read from npm's `lib/trust-cmd.js` and `lib/commands/trust/*.js`) and in
//! the log's (`policy-change`'s `trusted_publishers`), and the identity a
//! verified ID token proves.
//!
//! npm sends `POST /-/package/<name>/trust` with
//! `[{"type": "github", "claims": {"repository": "owner/repo",
//! "workflow_ref": {"file": "release.yml"}}, "permissions":
//! ["createStagedPackage"]}]` (GitLab: `project_path` and
//! `ci_config_ref_uri.file`), and reads the same shape back with an `id`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::oidc::{IdClaims, Provider};

/// npm's permission to publish directly.
pub const CREATE_PACKAGE: &str = "createPackage";
/// npm's permission to stage.
pub const CREATE_STAGED_PACKAGE: &str = "createStagedPackage";

/// Longest repository, project or workflow file accepted, in bytes.
const MAX_LEN: usize = 200;

/// One trusted publisher of a package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustConfig {
    /// Registry-assigned id (`npm trust revoke --id`).
    pub id: String,
    /// The CI provider.
    pub provider: Provider,
    /// The issuer its ID tokens must come from.
    pub issuer: String,
    /// GitHub repository or GitLab project path.
    pub entity: String,
    /// The workflow file (GitHub: in `.github/workflows/`; GitLab: the
    /// pipeline definition's path).
    pub file: String,
    /// npm's permissions: `createPackage`, `createStagedPackage`.
    pub permissions: Vec<String>,
    /// When it was added (RFC 3339).
    pub created: String,
}

impl TrustConfig {
    /// Whether it may publish directly (else it may only stage).
    pub fn may_publish(&self) -> bool {
        self.permissions.iter().any(|p| p == CREATE_PACKAGE)
    }

    /// The workflow as events name it (its path in the repository).
    pub fn workflow(&self) -> String {
        match self.provider {
            Provider::Github => format!(".github/workflows/{}", self.file),
            Provider::Gitlab => self.file.clone(),
        }
    }

    /// Its entry in a `policy-change` event.
    pub fn event_json(&self) -> Value {
        let mode = if self.may_publish() {
            "publish"
        } else {
            "stage-only"
        };
        json!({"issuer": self.issuer, "repository": self.entity,
               "workflow": self.workflow(), "mode": mode})
    }

    /// As npm reads it (`npm trust list`).
    pub fn npm_json(&self) -> Value {
        let claims = match self.provider {
            Provider::Github => {
                json!({"repository": self.entity, "workflow_ref": {"file": self.file}})
            }
            Provider::Gitlab => {
                json!({"project_path": self.entity, "ci_config_ref_uri": {"file": self.file}})
            }
        };
        json!({"id": self.id, "type": self.provider.as_str(), "claims": claims,
               "permissions": self.permissions, "issuer": self.issuer})
    }

    /// Whether it trusts `identity`.
    pub fn trusts(&self, identity: &OidcIdentity) -> bool {
        self.issuer == identity.issuer
            && self.entity == identity.repository
            && self.workflow() == identity.workflow
    }

    /// Whether it names the same publisher as `other` (whatever the ids).
    pub fn same_publisher(&self, other: &TrustConfig) -> bool {
        self.issuer == other.issuer && self.entity == other.entity && self.file == other.file
    }
}

/// A trusted publisher as npm asks for it, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requested {
    /// The CI provider.
    pub provider: Provider,
    /// Repository or project path.
    pub entity: String,
    /// Workflow file.
    pub file: String,
    /// npm's permissions.
    pub permissions: Vec<String>,
}

fn plain(what: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > MAX_LEN {
        return Err(format!("{what} must be 1 to {MAX_LEN} bytes"));
    }
    let ok = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
    if !ok || value.split('/').any(|part| part.is_empty() || part == "..") {
        return Err(format!(
            "{what} {value:?} may hold only letters, digits, - _ . and / between names"
        ));
    }
    Ok(())
}

fn one(item: &Value) -> Result<Requested, String> {
    let kind = item["type"].as_str().unwrap_or_default();
    let provider = Provider::parse(kind).ok_or_else(|| {
        format!("trusted publishers of type {kind:?} are not supported (github, gitlab)")
    })?;
    let claims = &item["claims"];
    if !claims["environment"].is_null() {
        return Err(
            "environment-bound trusted publishers (--environment) are not supported: \
             the log's policy-change event has no field for the environment"
                .into(),
        );
    }
    let (entity_claim, file_claim) = match provider {
        Provider::Github => ("repository", "workflow_ref"),
        Provider::Gitlab => ("project_path", "ci_config_ref_uri"),
    };
    let entity = claims[entity_claim]
        .as_str()
        .ok_or_else(|| format!("claims.{entity_claim} is missing"))?;
    plain(entity_claim, entity)?;
    let parts = entity.split('/').count();
    if (provider == Provider::Github && parts != 2) || parts < 2 {
        return Err(format!("{entity_claim} {entity:?} is not owner/name"));
    }
    let file = claims[file_claim]["file"]
        .as_str()
        .ok_or_else(|| format!("claims.{file_claim}.file is missing"))?;
    plain("the workflow file", file)?;
    if provider == Provider::Github && file.contains('/') {
        return Err("the GitHub workflow must be a file name, not a path".into());
    }
    if !(file.ends_with(".yml") || file.ends_with(".yaml")) {
        return Err(format!(
            "the workflow file {file:?} must end in .yml or .yaml"
        ));
    }
    let mut permissions: Vec<String> = Vec::new();
    for p in item["permissions"].as_array().into_iter().flatten() {
        let p = p.as_str().unwrap_or_default();
        if p != CREATE_PACKAGE && p != CREATE_STAGED_PACKAGE {
            return Err(format!(
                "unknown permission {p:?} ({CREATE_PACKAGE}, {CREATE_STAGED_PACKAGE})"
            ));
        }
        if !permissions.iter().any(|q| q == p) {
            permissions.push(p.to_owned());
        }
    }
    if permissions.is_empty() {
        return Err(
            "at least one permission is required (--allow-publish, --allow-stage-publish)".into(),
        );
    }
    Ok(Requested {
        provider,
        entity: entity.to_owned(),
        file: file.to_owned(),
        permissions,
    })
}

/// Parses npm's body: an array of trusted publishers (or one object).
pub fn parse_request(body: &[u8]) -> Result<Vec<Requested>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let items = match &value {
        Value::Array(items) => items.clone(),
        Value::Object(_) => vec![value.clone()],
        _ => return Err("expected an array of trusted publisher configurations".into()),
    };
    if items.is_empty() {
        return Err("no trusted publisher configuration was sent".into());
    }
    let max = gatelog_core::event::MAX_TRUSTED_PUBLISHERS;
    if items.len() > max {
        return Err(format!("a package has at most {max} trusted publishers"));
    }
    items.iter().map(one).collect()
}

/// Who a verified ID token says is publishing, as the `stage` event's
/// `publisher` (kind `oidc`) carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcIdentity {
    /// The issuer.
    pub issuer: String,
    /// The `sub` claim.
    pub subject: String,
    /// Repository or project path.
    pub repository: String,
    /// The workflow's path in the repository.
    pub workflow: String,
    /// The git ref built.
    pub git_ref: Option<String>,
    /// The commit built (40 or 64 lowercase hex digits), when claimed.
    pub commit: Option<String>,
}

impl OidcIdentity {
    /// The `publisher` of a `stage` event.
    pub fn publisher_json(&self) -> Value {
        let mut p = json!({"kind": "oidc", "issuer": self.issuer, "subject": self.subject,
                           "repository": self.repository, "workflow": self.workflow});
        if let Some(r) = &self.git_ref {
            p["ref"] = r.clone().into();
        }
        if let Some(c) = &self.commit {
            p["commit"] = c.clone().into();
        }
        p
    }
}

/// The identity a verified token of `provider` proves. GitHub's
/// `workflow_ref` is `<repository>/<path>@<ref>`; GitLab's
/// `ci_config_ref_uri` is `<host>/<project>//<path>@<ref>`.
pub fn identity(provider: Provider, claims: &IdClaims) -> Result<OidcIdentity, String> {
    let (entity, workflow) = match provider {
        Provider::Github => {
            let repository = claims
                .repository
                .clone()
                .ok_or("the ID token has no repository claim")?;
            let workflow_ref = claims
                .workflow_ref
                .as_deref()
                .ok_or("the ID token has no workflow_ref claim")?;
            let rest = workflow_ref
                .strip_prefix(&format!("{repository}/"))
                .ok_or("the ID token's workflow_ref is not in its repository")?;
            (repository, rest.to_owned())
        }
        Provider::Gitlab => {
            let project = claims
                .project_path
                .clone()
                .ok_or("the ID token has no project_path claim")?;
            let uri = claims
                .ci_config_ref_uri
                .as_deref()
                .ok_or("the ID token has no ci_config_ref_uri claim")?;
            let (_, rest) = uri
                .split_once("//")
                .filter(|(head, _)| head.ends_with(&format!("/{project}")))
                .ok_or("the ID token's ci_config_ref_uri is not in its project")?;
            (project, rest.to_owned())
        }
    };
    let (path, from_ref) = match workflow.rsplit_once('@') {
        Some((path, r)) => (path.to_owned(), Some(r.to_owned())),
        None => (workflow, None),
    };
    let commit = claims.sha.clone().filter(|c| {
        (c.len() == 40 || c.len() == 64)
            && c.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    });
    let clean = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    if !clean(&entity) || !clean(&path) || !clean(&claims.sub) {
        return Err("the ID token's repository, workflow or subject is empty or has spaces".into());
    }
    Ok(OidcIdentity {
        issuer: claims.iss.trim_end_matches('/').to_owned(),
        subject: claims.sub.clone(),
        repository: entity,
        workflow: path,
        git_ref: claims.git_ref.clone().or(from_ref).filter(|r| clean(r)),
        commit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github_claims() -> IdClaims {
        IdClaims {
            iss: "https://token.actions.githubusercontent.com".into(),
            sub: "repo:octo/widget:ref:refs/tags/v1.0.0".into(),
            repository: Some("octo/widget".into()),
            workflow_ref: Some("octo/widget/.github/workflows/release.yml@refs/tags/v1.0.0".into()),
            sha: Some("a".repeat(40)),
            ..IdClaims::default()
        }
    }

    fn config(provider: Provider, entity: &str, file: &str, permissions: &[&str]) -> TrustConfig {
        TrustConfig {
            id: "x".into(),
            provider,
            issuer: "https://token.actions.githubusercontent.com".into(),
            entity: entity.into(),
            file: file.into(),
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
            created: String::new(),
        }
    }

    #[test]
    fn npm_bodies_parse_or_are_refused() {
        let body = br#"[{"type":"github","claims":{"repository":"octo/widget","workflow_ref":{"file":"release.yml"}},"permissions":["createStagedPackage"]}]"#;
        let got = parse_request(body).unwrap();
        assert_eq!(got[0].entity, "octo/widget");
        assert_eq!(got[0].permissions, [CREATE_STAGED_PACKAGE]);
        let gitlab = br#"{"type":"gitlab","claims":{"project_path":"g/sub/p","ci_config_ref_uri":{"file":"ci/release.yml"}},"permissions":["createPackage"]}"#;
        assert_eq!(parse_request(gitlab).unwrap()[0].provider, Provider::Gitlab);
        for bad in [
            &br#"[]"#[..],
            br#"not json"#,
            br#"[{"type":"circleci","claims":{},"permissions":["createPackage"]}]"#,
            br#"[{"type":"github","claims":{"repository":"octo","workflow_ref":{"file":"r.yml"}},"permissions":["createPackage"]}]"#,
            br#"[{"type":"github","claims":{"repository":"octo/w","workflow_ref":{"file":"r.txt"}},"permissions":["createPackage"]}]"#,
            br#"[{"type":"github","claims":{"repository":"octo/w","workflow_ref":{"file":"a/r.yml"}},"permissions":["createPackage"]}]"#,
            br#"[{"type":"github","claims":{"repository":"octo/w","workflow_ref":{"file":"r.yml"}},"permissions":[]}]"#,
            br#"[{"type":"github","claims":{"repository":"octo/w","workflow_ref":{"file":"r.yml"}},"permissions":["root"]}]"#,
            br#"[{"type":"github","claims":{"repository":"octo/w","workflow_ref":{"file":"r.yml"},"environment":"prod"},"permissions":["createPackage"]}]"#,
            br#"[{"type":"github","claims":{"repository":"octo/../w","workflow_ref":{"file":"r.yml"}},"permissions":["createPackage"]}]"#,
        ] {
            assert!(parse_request(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let one = r#"{"type":"github","claims":{"repository":"o/r","workflow_ref":{"file":"r.yml"}},"permissions":["createPackage"]}"#;
        let many = format!("[{}]", vec![one; 17].join(","));
        assert!(parse_request(many.as_bytes()).is_err());
    }

    #[test]
    fn github_claims_give_the_identity_a_config_trusts() {
        let id = identity(Provider::Github, &github_claims()).unwrap();
        assert_eq!(id.workflow, ".github/workflows/release.yml");
        assert_eq!(id.git_ref.as_deref(), Some("refs/tags/v1.0.0"));
        assert_eq!(id.commit, Some("a".repeat(40)));
        assert!(
            config(
                Provider::Github,
                "octo/widget",
                "release.yml",
                &[CREATE_STAGED_PACKAGE]
            )
            .trusts(&id)
        );
        assert!(!config(Provider::Github, "octo/other", "release.yml", &[]).trusts(&id));
        assert!(!config(Provider::Github, "octo/widget", "ci.yml", &[]).trusts(&id));
        let p = id.publisher_json();
        assert_eq!(p["kind"], "oidc");
        assert_eq!(p["ref"], "refs/tags/v1.0.0");

        let mut elsewhere = github_claims();
        elsewhere.workflow_ref =
            Some("evil/fork/.github/workflows/release.yml@refs/heads/x".into());
        assert!(identity(Provider::Github, &elsewhere).is_err());
        let mut no_repo = github_claims();
        no_repo.repository = None;
        assert!(identity(Provider::Github, &no_repo).is_err());
    }

    #[test]
    fn gitlab_claims_and_modes() {
        let claims = IdClaims {
            iss: "https://gitlab.com".into(),
            sub: "project_path:g/p:ref_type:branch:ref:main".into(),
            project_path: Some("g/p".into()),
            ci_config_ref_uri: Some("gitlab.com/g/p//ci/release.yml@refs/heads/main".into()),
            ..IdClaims::default()
        };
        let id = identity(Provider::Gitlab, &claims).unwrap();
        assert_eq!(id.workflow, "ci/release.yml");
        let mut c = config(Provider::Gitlab, "g/p", "ci/release.yml", &[CREATE_PACKAGE]);
        c.issuer = "https://gitlab.com".into();
        assert!(c.trusts(&id));
        assert_eq!(c.event_json()["mode"], "publish");
        assert_eq!(
            c.npm_json()["claims"]["ci_config_ref_uri"]["file"],
            "ci/release.yml"
        );
        let staged = config(Provider::Github, "o/r", "r.yml", &[CREATE_STAGED_PACKAGE]);
        assert_eq!(staged.event_json()["mode"], "stage-only");
        assert_eq!(staged.event_json()["workflow"], ".github/workflows/r.yml");
    }
}
