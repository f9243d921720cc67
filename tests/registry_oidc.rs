//! Trusted publishing, driven by the real npm CLI: a maintainer runs
//! `npm trust github` (with an OTP), then `npm stage publish` runs as in
//! GitHub Actions (`GITHUB_ACTIONS=true`, `ACTIONS_ID_TOKEN_REQUEST_URL`
//! and `_TOKEN`, and no npm token at all) against a local OIDC issuer:
//! the registry checks the ID token against the issuer's JWKS, hands npm a
//! short-lived token for that package, and the `stage` event carries the
//! repository and workflow claims. ID tokens signed by another key, for
//! another audience, expired, or from a repository or workflow that is not
//! trusted are refused; nothing is staged or logged. npm only reaches
//! loopback: any other request would go to a closed proxy port.

#[path = "npm_registry/oidc_issuer.rs"]
mod oidc_issuer;
#[path = "npm_registry/rig.rs"]
mod rig;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_e2e::http_get;
use oidc_issuer::{COMMIT, Flavour, GIT_REF, REPOSITORY, TestIssuer, WORKFLOW_FILE};
use rig::{Rig, fails, npm_bin, ok, package_dir, staged_ids};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const NAME: &str = "@acme/ci-widget";

/// npm as a CI job runs it: no token in its `.npmrc`, the CI's variables
/// `ci_env` set, proxies pointing at a closed port.
fn ci_npm_with(rig: &Rig, cwd: &Path, ci_env: &[(&str, String)], args: &[&str]) -> Output {
    let home = rig.dir.path().join("home-ci");
    std::fs::create_dir_all(&home).unwrap();
    let npmrc = home.join("npmrc");
    std::fs::write(&npmrc, format!("registry=http://{}/\n", rig.host())).unwrap();
    let dead_proxy = "http://127.0.0.1:9";
    let mut command = Command::new(npm_bin());
    command
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("npm_config_userconfig", &npmrc)
        .env("npm_config_cache", rig.npm_cache())
        .env("npm_config_update_notifier", "false")
        .env("npm_config_audit", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_loglevel", "verbose");
    for var in ["https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"] {
        command.env(var, dead_proxy);
    }
    command
        .env("no_proxy", "127.0.0.1")
        .env("NO_PROXY", "127.0.0.1")
        .envs(ci_env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .expect("run npm")
}

/// npm in a GitHub Actions job whose ID token request gives `flavour`.
fn ci_npm(rig: &Rig, issuer: &TestIssuer, cwd: &Path, flavour: Flavour, args: &[&str]) -> Output {
    let env = [
        ("GITHUB_ACTIONS", "true".to_owned()),
        ("ACTIONS_ID_TOKEN_REQUEST_URL", issuer.token_url()),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", flavour.request_token()),
        ("NODE_EXTRA_CA_CERTS", issuer.ca().display().to_string()),
    ];
    ci_npm_with(rig, cwd, &env, args)
}

/// The package's events in the log, in order.
fn events(rig: &Rig) -> Vec<Value> {
    let path = format!(
        "/v1/events?registry={}&package={}",
        rig.host(),
        NAME.replace('@', "%40").replace('/', "%2F")
    );
    let (status, body) = http_get(rig.log_addr, &path);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200, "{v}");
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let leaf: Value =
                serde_json::from_slice(&STANDARD.decode(e["leaf"].as_str().unwrap()).unwrap())
                    .unwrap();
            let payload = STANDARD
                .decode(leaf["envelope"]["payload"].as_str().unwrap())
                .unwrap();
            serde_json::from_slice(&payload).unwrap()
        })
        .collect()
}

/// `POST` of the token exchange with `id_token`: status and error message.
fn exchange(rig: &Rig, id_token: &str) -> (u16, Value) {
    let path = format!(
        "/-/npm/v1/oidc/token/exchange/package/{}",
        "@acme%2fci-widget"
    );
    let (status, _, body) = rig.request("POST", &path, Some(id_token), None, b"");
    (status, body)
}

#[test]
fn npm_trust_then_stage_publish_from_ci_with_an_oidc_id_token() {
    let certs = tempfile::tempdir().unwrap();
    let issuer = TestIssuer::start(certs.path(), "npm:127.0.0.1");
    let issuer_url = issuer.url();
    let ca = issuer.ca().display().to_string();
    let mut rig = Rig::start(&["--oidc-issuer", &issuer_url, "--oidc-ca-cert", &ca]);
    let alice = rig.alice_publish.clone();
    let secret = rig.alice_totp.clone();
    let src = package_dir(&rig, NAME, "1.0.0");
    let trust = [
        "trust",
        "github",
        NAME,
        "--repository",
        REPOSITORY,
        "--file",
        WORKFLOW_FILE,
        "--allow-stage-publish",
        "--yes",
    ];

    // Without an OTP npm is told one is needed, and nothing changes.
    let size = rig.tree_size();
    fails(
        &rig.npm(&src, &alice, &trust),
        "npm trust without OTP",
        "one-time password",
    );
    assert_eq!(rig.tree_size(), size);
    // CI cannot stage yet: nothing trusts the repository.
    fails(
        &ci_npm(&rig, &issuer, &src, Flavour::Good, &["stage", "publish"]),
        "stage publish before any trust",
        "ENEEDAUTH",
    );

    let code = rig.otp(&secret);
    let otp = format!("--otp={code}");
    let out = ok(
        &rig.npm(&src, &alice, &[&trust[..], &[otp.as_str()]].concat()),
        "npm trust github",
    );
    assert!(out.contains("Trust configuration created"), "{out}");
    // maintainer-add (alice takes the new package), then policy-change.
    assert_eq!(rig.tree_size(), size + 2);
    let listed = ok(
        &rig.npm(&src, &alice, &["trust", "list", NAME, "--json"]),
        "npm trust list",
    );
    let listed: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed["type"], "github", "{listed}");
    assert_eq!(listed["repository"], REPOSITORY);
    assert_eq!(listed["file"], WORKFLOW_FILE);
    assert_eq!(listed["permissions"], json!(["createStagedPackage"]));
    let trust_id = listed["id"].as_str().unwrap().to_owned();

    // From "CI", with no npm token: npm exchanges the ID token and stages.
    let out = ok(
        &ci_npm(&rig, &issuer, &src, Flavour::Good, &["stage", "publish"]),
        "npm stage publish from CI",
    );
    assert!(out.contains("staged with id"), "{out}");
    let items = staged_ids(&rig, &src, &alice);
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["actorType"], "oidc");
    assert_eq!(items[0]["actor"], REPOSITORY);

    let logged = events(&rig);
    let types: Vec<&str> = logged.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["maintainer-add", "policy-change", "stage"],
        "{logged:?}"
    );
    assert_eq!(
        logged[1]["trusted_publishers"],
        json!([{"issuer": issuer_url, "repository": REPOSITORY,
                "workflow": ".github/workflows/release.yml", "mode": "stage-only"}])
    );
    assert_eq!(logged[1]["staged_publishing"], "optional");
    assert_eq!(
        logged[2]["publisher"],
        json!({"kind": "oidc", "issuer": issuer_url,
               "subject": format!("repo:{REPOSITORY}:ref:{GIT_REF}"),
               "repository": REPOSITORY, "workflow": ".github/workflows/release.yml",
               "ref": GIT_REF, "commit": COMMIT})
    );
    assert_eq!(logged[2]["version"], "1.0.0");

    // The token of a stage-only publisher cannot publish directly.
    let size = rig.tree_size();
    let direct = package_dir(&rig, NAME, "1.0.5");
    fails(
        &ci_npm(&rig, &issuer, &direct, Flavour::Good, &["publish"]),
        "direct publish with a stage-only trusted publisher",
        "may only stage",
    );
    assert_eq!(rig.tree_size(), size);

    // Bad ID tokens, carried by the real npm: no token, nothing staged,
    // nothing logged; the exchange says why.
    let next = package_dir(&rig, NAME, "1.0.1");
    for (flavour, status, reason) in [
        (Flavour::OtherKey, 401, "signature does not verify"),
        (Flavour::WrongAudience, 401, "audience"),
        (Flavour::Expired, 401, "expired"),
        (
            Flavour::UntrustedRepository,
            403,
            "is not a trusted publisher",
        ),
        (Flavour::OtherWorkflow, 403, "is not a trusted publisher"),
    ] {
        let out = ci_npm(&rig, &issuer, &next, flavour, &["stage", "publish"]);
        fails(
            &out,
            &format!("stage publish with a {flavour:?} ID token"),
            "ENEEDAUTH",
        );
        // npm's verbose log shows why the exchange was refused.
        fails(&out, &format!("{flavour:?}"), reason);
        let (got, body) = exchange(&rig, &issuer.mint(flavour));
        assert_eq!(got, status, "{flavour:?}: {body}");
        let message = body["error"].as_str().unwrap_or_default();
        assert!(message.contains(reason), "{flavour:?}: {message}");
    }
    let (got, body) = exchange(&rig, &issuer.mint_foreign("https://127.0.0.1:1"));
    assert_eq!(got, 401, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("not one this registry accepts")
    );
    let (got, _) = exchange(&rig, "not-a-jwt");
    assert_eq!(got, 401);
    assert_eq!(rig.tree_size(), size);
    assert_eq!(staged_ids(&rig, &src, &alice).len(), 1);

    // Every exchange so far used the keys fetched once (cached).
    assert_eq!(issuer.jwks_served(), 1);

    // An exchanged token writes only its package.
    let (got, body) = exchange(&rig, &issuer.mint(Flavour::Good));
    assert_eq!(got, 201, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let other = package_dir(&rig, "@acme/other", "1.0.0");
    fails(
        &rig.npm(&other, &token, &["stage", "publish"]),
        "staging another package with an exchanged token",
        "was issued for @acme/ci-widget",
    );
    assert_eq!(rig.tree_size(), size);
    // It cannot approve what it staged, nor change trust; neither can a
    // user who does not maintain the package.
    let staged_id = items[0]["id"].as_str().unwrap();
    fails(
        &rig.npm(
            &src,
            &token,
            &["stage", "approve", staged_id, "--otp=123456"],
        ),
        "approving with an exchanged token",
        "cannot approve",
    );
    let bob = rig.bob_publish.clone();
    fails(
        &rig.npm(&src, &bob, &["trust", "list", NAME]),
        "npm trust list by a user who does not maintain the package",
        "bob is not a maintainer",
    );
    let (got, _, body) = rig.request(
        "POST",
        "/-/package/@acme%2fci-widget/trust",
        Some(&token),
        Some("123456"),
        b"[]",
    );
    assert_eq!(got, 403, "{body}");
    assert_eq!(rig.tree_size(), size);
    assert_eq!(staged_ids(&rig, &src, &alice)[0]["status"], "staged");

    // Revoked (OTP again): logged, then the repository is trusted no more,
    // not even through a token exchanged before.
    let code = rig.otp(&secret);
    ok(
        &rig.npm(
            &src,
            &alice,
            &[
                "trust",
                "revoke",
                NAME,
                "--id",
                &trust_id,
                &format!("--otp={code}"),
            ],
        ),
        "npm trust revoke",
    );
    assert_eq!(rig.tree_size(), size + 1);
    let last = events(&rig).pop().unwrap();
    assert_eq!(last["type"], "policy-change");
    assert_eq!(last["trusted_publishers"], json!([]));
    fails(
        &ci_npm(&rig, &issuer, &next, Flavour::Good, &["stage", "publish"]),
        "stage publish after revoke",
        "ENEEDAUTH",
    );
    fails(
        &rig.npm(&next, &token, &["stage", "publish"]),
        "stage publish with a token exchanged before the revoke",
        "no longer a trusted publisher",
    );
    assert_eq!(rig.tree_size(), size + 1);
    assert_eq!(staged_ids(&rig, &src, &alice).len(), 1);
}

#[test]
fn npm_trust_gitlab_then_publish_directly_from_gitlab_ci() {
    let certs = tempfile::tempdir().unwrap();
    let issuer = TestIssuer::start(certs.path(), "npm:127.0.0.1");
    let issuer_url = issuer.url();
    let gitlab = format!("gitlab={issuer_url}");
    let ca = issuer.ca().display().to_string();
    let mut rig = Rig::start(&["--oidc-issuer", &gitlab, "--oidc-ca-cert", &ca]);
    let alice = rig.alice_publish.clone();
    let secret = rig.alice_totp.clone();
    let src = package_dir(&rig, NAME, "1.0.0");

    // Only GitLab's tokens are accepted here: GitHub trust is refused.
    let size = rig.tree_size();
    fails(
        &rig.npm(
            &src,
            &alice,
            &[
                "trust",
                "github",
                NAME,
                "--repository",
                REPOSITORY,
                "--file",
                WORKFLOW_FILE,
                "--allow-publish",
                "--yes",
            ],
        ),
        "npm trust github without a GitHub issuer",
        "accepts no github ID tokens",
    );
    assert_eq!(rig.tree_size(), size);

    let code = rig.otp(&secret);
    ok(
        &rig.npm(
            &src,
            &alice,
            &[
                "trust",
                "gitlab",
                NAME,
                "--project",
                REPOSITORY,
                "--file",
                ".gitlab-ci.yml",
                "--allow-publish",
                "--yes",
                &format!("--otp={code}"),
            ],
        ),
        "npm trust gitlab",
    );
    let env = [
        ("GITLAB_CI", "true".to_owned()),
        (
            "NPM_ID_TOKEN",
            issuer.mint_gitlab(REPOSITORY, ".gitlab-ci.yml"),
        ),
    ];
    ok(
        &ci_npm_with(&rig, &src, &env, &["publish"]),
        "npm publish from GitLab CI",
    );
    let (status, _, packument) = rig.request("GET", "/@acme%2fci-widget", None, None, b"");
    assert_eq!(status, 200, "{packument}");
    assert_eq!(packument["dist-tags"]["latest"], "1.0.0");

    let logged = events(&rig);
    let types: Vec<&str> = logged.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["maintainer-add", "policy-change", "publish"],
        "{logged:?}"
    );
    assert_eq!(
        logged[1]["trusted_publishers"],
        json!([{"issuer": issuer_url, "repository": REPOSITORY,
                "workflow": ".gitlab-ci.yml", "mode": "publish"}])
    );
    assert_eq!(logged[2]["via"], "direct");

    // Another project's pipeline is not trusted.
    let next = package_dir(&rig, NAME, "1.0.1");
    let env = [
        ("GITLAB_CI", "true".to_owned()),
        (
            "NPM_ID_TOKEN",
            issuer.mint_gitlab("mallory/ci-widget", ".gitlab-ci.yml"),
        ),
    ];
    let size = rig.tree_size();
    fails(
        &ci_npm_with(&rig, &next, &env, &["publish"]),
        "npm publish from an untrusted GitLab project",
        "ENEEDAUTH",
    );
    assert_eq!(rig.tree_size(), size);

    // The log is down: the change is refused (503) and has no effect; the
    // retry is logged once.
    let trust_path = "/-/package/@acme%2fci-widget/trust";
    let body = br#"[{"type":"gitlab","claims":{"project_path":"acme/other","ci_config_ref_uri":{"file":".gitlab-ci.yml"}},"permissions":["createStagedPackage"]}]"#;
    let listed = |rig: &Rig| {
        let (status, _, v) = rig.request("GET", trust_path, Some(&alice), None, b"");
        assert_eq!(status, 200, "{v}");
        v.as_array().unwrap().len()
    };
    rig.stop_log();
    let code = rig.otp(&secret);
    let (status, head, v) = rig.request("POST", trust_path, Some(&alice), Some(&code), body);
    assert_eq!(status, 503, "{v}");
    assert!(head.contains("retry-after"), "{head}");
    assert_eq!(listed(&rig), 1);
    rig.start_log();
    assert_eq!(rig.tree_size(), size);
    let code = rig.otp(&secret);
    let (status, _, v) = rig.request("POST", trust_path, Some(&alice), Some(&code), body);
    assert_eq!(status, 201, "{v}");
    assert_eq!(v[0]["claims"]["project_path"], "acme/other");
    assert_eq!(listed(&rig), 2);
    assert_eq!(rig.tree_size(), size + 1);
    let last = events(&rig).pop().unwrap();
    assert_eq!(last["trusted_publishers"].as_array().unwrap().len(), 2);
    // The same publisher twice is refused (before any OTP is asked for).
    let (status, _, v) = rig.request("POST", trust_path, Some(&alice), None, body);
    assert_eq!(status, 409, "{v}");
    assert_eq!(rig.tree_size(), size + 1);

    // An exchanged token is stored hashed, bound to the package and the CI
    // identity, and refused once it has expired.
    let id_token = issuer.mint_gitlab(REPOSITORY, ".gitlab-ci.yml");
    let (status, v) = exchange(&rig, &id_token);
    assert_eq!(status, 201, "{v}");
    let token = v["token"].as_str().unwrap().to_owned();
    let (status, _, v) = rig.request("GET", "/-/whoami", Some(&token), None, b"");
    assert_eq!(status, 200, "{v}");
    rig.kill_registry();
    let key = format!("token/{}", hex::encode(Sha256::digest(token.as_bytes())));
    {
        let db = rocksdb::DB::open_default(rig.data().join("db")).unwrap();
        let raw = db.get(key.as_bytes()).unwrap().expect("the token's record");
        assert!(!String::from_utf8_lossy(&raw).contains(&token));
        let mut record: Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(record["package"], NAME);
        assert_eq!(record["kind"], "publish");
        assert_eq!(record["oidc"]["repository"], REPOSITORY);
        let expires = record["expires"].as_u64().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(expires > now && expires <= now + 15 * 60, "{expires}");
        record["expires"] = (now - 1).into();
        db.put(key.as_bytes(), serde_json::to_vec(&record).unwrap())
            .unwrap();
    }
    rig.restart_registry(None, &["--oidc-issuer", &gitlab, "--oidc-ca-cert", &ca]);
    let (status, _, v) = rig.request("GET", "/-/whoami", Some(&token), None, b"");
    assert_eq!(status, 401, "{v}");
    assert!(v["error"].as_str().unwrap().contains("expired"), "{v}");
}
