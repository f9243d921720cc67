//! `gatelog-registry` driven by the real npm CLI (tools/node_modules, from
//! scripts/tools.sh), against a real `gatelog-server`, all on loopback:
//! stage → list → not installable → approve with a TOTP code → installable
//! → the log holds stage, approve and publish of that integrity →
//! `gatelog verify` passes on the package-lock.json npm wrote; reject;
//! direct publishes refused or logged `via: direct`; bad input, wrong or
//! replayed OTPs and a log that is down change nothing.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_e2e::{binary, free_addr, http_get, log_key};
use serde_json::Value;

const ORIGIN: &str = "registry-npm.gatelog.test/log";

/// The pinned npm CLI; the test fails (never skips) without it.
fn npm_bin() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let npm = root.join("tools/node_modules/.bin/npm");
    assert!(
        npm.exists(),
        "{} is missing: install the pinned npm with `scripts/tools.sh` \
         (make test and .ci/run run it first)",
        npm.display()
    );
    npm
}

fn wait_listening(addr: SocketAddr, child: &mut Child, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(addr).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on {addr}");
}

/// A log, a registry, two users (alice with publish and stage-only tokens,
/// bob with a publish token), both with TOTP.
struct Rig {
    dir: tempfile::TempDir,
    log_addr: SocketAddr,
    reg_addr: SocketAddr,
    reg_key: String,
    log: Option<Child>,
    registry: Child,
    alice_publish: String,
    alice_ci: String,
    bob_publish: String,
    alice_totp: String,
    bob_totp: String,
    last_step: std::collections::HashMap<String, u64>,
}

fn admin(data: &Path, args: &[&str]) -> String {
    let out = Command::new(binary("gatelog-registry"))
        .args(["admin", "--data", &data.display().to_string()])
        .args(args)
        .output()
        .expect("run gatelog-registry admin");
    assert!(
        out.status.success(),
        "admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

impl Rig {
    fn start(extra_registry_flags: &[&str]) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("registry-data");
        let reg_addr = free_addr();
        let key = Command::new(binary("gatelog-registry"))
            .args(["key", "--data", &data.display().to_string()])
            .args(["--listen", &reg_addr.to_string()])
            .output()
            .unwrap();
        assert!(key.status.success());
        let reg_key = String::from_utf8(key.stdout).unwrap().trim().to_owned();
        assert!(reg_key.starts_with(&format!("{reg_addr}+")), "{reg_key}");
        let mut tokens = Vec::new();
        let mut secrets = Vec::new();
        for user in ["alice", "bob"] {
            admin(&data, &["user-add", user]);
            tokens.push(admin(&data, &["token-create", user, "--kind", "publish"]));
            let totp = admin(&data, &["totp-enrol", user]);
            assert!(totp.contains("otpauth://totp/"), "{totp}");
            let secret = totp
                .lines()
                .find_map(|l| l.strip_prefix("secret: "))
                .expect("secret line")
                .to_owned();
            secrets.push(secret);
        }
        let alice_ci = admin(&data, &["token-create", "alice", "--kind", "stage-only"]);
        std::fs::create_dir_all(dir.path().join("log")).unwrap();
        std::fs::write(
            dir.path().join("log/log.key"),
            log_key(ORIGIN).to_private_text(),
        )
        .unwrap();
        let log_addr = free_addr();
        let mut rig = Rig {
            log_addr,
            reg_addr,
            reg_key,
            log: None,
            registry: Command::new(binary("gatelog-registry"))
                .args(["--data", &data.display().to_string()])
                .args(["--listen", &reg_addr.to_string()])
                .args(["--log", &format!("http://{log_addr}")])
                .args(["--log-timeout-secs", "5"])
                .args(extra_registry_flags)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn gatelog-registry"),
            alice_publish: tokens[0].trim().to_owned(),
            bob_publish: tokens[1].trim().to_owned(),
            alice_ci: alice_ci.trim().to_owned(),
            alice_totp: secrets[0].clone(),
            bob_totp: secrets[1].clone(),
            last_step: Default::default(),
            dir,
        };
        rig.start_log();
        let addr = rig.reg_addr;
        wait_listening(addr, &mut rig.registry, "gatelog-registry");
        rig
    }

    fn start_log(&mut self) {
        let mut child = Command::new(binary("gatelog-server"))
            .args(["--data", &self.dir.path().join("log").display().to_string()])
            .args(["--listen", &self.log_addr.to_string()])
            .args(["--origin", ORIGIN, "--batch-interval-ms", "5"])
            .args(["--submitter-key", &self.reg_key])
            .env_remove("GATELOG_CONFIG")
            .env_remove("GATELOG_LOG_KEY")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn gatelog-server");
        wait_listening(self.log_addr, &mut child, "gatelog-server");
        self.log = Some(child);
    }

    fn stop_log(&mut self) {
        if let Some(mut child) = self.log.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn host(&self) -> String {
        self.reg_addr.to_string()
    }

    /// A folder with an `.npmrc` for `token`, and npm run in `cwd`.
    fn npm(&self, cwd: &Path, token: &str, args: &[&str]) -> Output {
        let home = self.dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let npmrc = home.join(format!("npmrc-{}", &token[4..12]));
        std::fs::write(
            &npmrc,
            format!(
                "registry=http://{h}/\n//{h}/:_authToken={token}\n",
                h = self.host()
            ),
        )
        .unwrap();
        Command::new(npm_bin())
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("npm_config_userconfig", &npmrc)
            .env("npm_config_cache", home.join("cache"))
            .env("npm_config_update_notifier", "false")
            .env("npm_config_audit", "false")
            .env("npm_config_fund", "false")
            .stdin(Stdio::null())
            .output()
            .expect("run npm")
    }

    /// A TOTP code of `secret` for a step after the last one used with it.
    fn otp(&mut self, secret: &str) -> String {
        let totp = totp_rs::TOTP::new(
            totp_rs::Algorithm::SHA1,
            6,
            1,
            30,
            totp_rs::Secret::Encoded(secret.to_owned())
                .to_bytes()
                .unwrap(),
            Some("gatelog-registry".into()),
            "x".into(),
        )
        .unwrap();
        loop {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let current = now / 30;
            let last = self.last_step.get(secret).copied().unwrap_or(0);
            // The registry accepts the current step and one either side.
            let step = (last + 1).max(current.saturating_sub(1));
            if step <= current + 1 {
                self.last_step.insert(secret.to_owned(), step);
                return totp.generate(step * 30);
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn tree_size(&self) -> u64 {
        let (status, body) = http_get(self.log_addr, "/checkpoint");
        assert_eq!(status, 200);
        String::from_utf8(body)
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap()
    }

    /// The events of the log's bundle of `package@version` (registry
    /// bound to this registry's host).
    fn bundle_events(&self, package: &str, version: &str) -> Vec<Value> {
        let path = format!(
            "/v1/bundle?registry={}&package={}&version={version}",
            self.host(),
            package.replace('@', "%40").replace('/', "%2F")
        );
        let (status, body) = http_get(self.log_addr, &path);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 200, "{v}");
        v["bundles"][0]["entries"]
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

    /// One raw request to the registry with an optional token and OTP.
    fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        otp: Option<&str>,
        body: &[u8],
    ) -> (u16, String, Value) {
        let mut s = TcpStream::connect(self.reg_addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.host(),
            body.len()
        );
        if let Some(t) = token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        if let Some(o) = otp {
            head.push_str(&format!("npm-otp: {o}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).unwrap();
        // The server may refuse an oversized body before reading it all.
        let _ = s.write_all(body);
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        let v = serde_json::from_str(body).unwrap_or(Value::Null);
        (status, head.to_ascii_lowercase(), v)
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop_log();
        let _ = self.registry.kill();
        let _ = self.registry.wait();
    }
}

fn ok(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn fails(out: &Output, what: &str, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{what} should fail");
    assert!(
        stderr.contains(needle),
        "{what}: {needle:?} not in\n{stderr}"
    );
}

/// A package folder `name@version` under the rig's folder.
fn package_dir(rig: &Rig, name: &str, version: &str) -> PathBuf {
    let dir = rig
        .dir
        .path()
        .join(format!("src-{}-{version}", name.replace(['@', '/'], "_")));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("package.json"),
        serde_json::json!({"name": name, "version": version, "main": "index.js", "license": "MIT"})
            .to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("index.js"),
        format!("module.exports = {version:?};\n"),
    )
    .unwrap();
    dir
}

fn app_dir(rig: &Rig, name: &str) -> PathBuf {
    let dir = rig.dir.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("package.json"),
        r#"{"name":"app","version":"1.0.0","private":true}"#,
    )
    .unwrap();
    dir
}

fn staged_ids(rig: &Rig, cwd: &Path, token: &str) -> Vec<Value> {
    let out = rig.npm(cwd, token, &["stage", "list", "--json"]);
    serde_json::from_str(&ok(&out, "npm stage list --json")).unwrap()
}

#[test]
fn npm_stage_publish_approve_install_and_gatelog_verify() {
    let mut rig = Rig::start(&[]);
    let name = "@acme/widget";
    let src = package_dir(&rig, name, "1.0.0");
    let ci = rig.alice_ci.clone();
    let alice = rig.alice_publish.clone();
    assert_eq!(
        ok(&rig.npm(&src, &alice, &["whoami"]), "npm whoami").trim(),
        "alice"
    );

    let out = ok(
        &rig.npm(&src, &ci, &["stage", "publish"]),
        "npm stage publish",
    );
    assert!(out.contains("staged with id"), "{out}");
    let items = staged_ids(&rig, &src, &alice);
    assert_eq!(items.len(), 1, "{items:?}");
    let item = &items[0];
    assert_eq!(item["packageName"], name);
    assert_eq!(item["version"], "1.0.0");
    assert_eq!(item["status"], "staged");
    assert_eq!(item["actor"], "alice");
    let id = item["id"].as_str().unwrap().to_owned();
    let integrity = item["integrity"].as_str().unwrap().to_owned();

    // Viewable and downloadable, not installable.
    let view = ok(
        &rig.npm(&src, &alice, &["stage", "view", &id, "--json"]),
        "npm stage view",
    );
    assert!(view.contains(&integrity), "{view}");
    let dl = rig.dir.path().join("download");
    std::fs::create_dir_all(&dl).unwrap();
    ok(
        &rig.npm(&dl, &alice, &["stage", "download", &id]),
        "npm stage download",
    );
    let app = app_dir(&rig, "app");
    fails(
        &rig.npm(&app, &alice, &["install", "@acme/widget@1.0.0"]),
        "install of a staged version",
        "404",
    );

    // Approve: without an OTP npm is asked for one; with one it publishes.
    fails(
        &rig.npm(&src, &alice, &["stage", "approve", &id]),
        "approve without OTP",
        "one-time password",
    );
    let size_before = rig.tree_size();
    let secret = rig.alice_totp.clone();
    let code = rig.otp(&secret);
    let out = ok(
        &rig.npm(
            &src,
            &alice,
            &["stage", "approve", &id, &format!("--otp={code}")],
        ),
        "npm stage approve --otp",
    );
    assert!(out.contains("approved and published"), "{out}");
    // device-register, approve, publish.
    assert_eq!(rig.tree_size(), size_before + 3);
    assert!(staged_ids(&rig, &src, &alice).is_empty());

    ok(
        &rig.npm(&app, &alice, &["install", "@acme/widget@1.0.0"]),
        "npm install after approval",
    );
    let lock: Value =
        serde_json::from_slice(&std::fs::read(app.join("package-lock.json")).unwrap()).unwrap();
    let entry = &lock["packages"]["node_modules/@acme/widget"];
    assert_eq!(entry["integrity"], integrity.as_str());
    assert!(
        entry["resolved"]
            .as_str()
            .unwrap()
            .starts_with(&format!("http://{}/", rig.host())),
        "{entry}"
    );

    // The log holds stage, approve, publish of that integrity.
    let events = rig.bundle_events(name, "1.0.0");
    let of = |t: &str| {
        events
            .iter()
            .find(|e| e["type"] == t)
            .unwrap_or_else(|| panic!("no {t} in {events:?}"))
    };
    for t in ["stage", "approve", "publish"] {
        assert_eq!(of(t)["integrity"], integrity.as_str(), "{t}");
        assert_eq!(of(t)["registry"], format!("http://{}", rig.host()));
    }
    assert_eq!(of("publish")["via"], "staged");
    assert_eq!(of("approve")["device"]["kind"], "totp");
    assert!(of("approve").get("device_signature").is_none());
    assert_eq!(of("stage")["publisher"]["kind"], "token");
    assert!(events.iter().any(|e| e["type"] == "device-register"));

    // gatelog verify on the lockfile npm wrote.
    let out = Command::new(binary("gatelog"))
        .args([
            "verify",
            "--format",
            "json",
            "--log",
            &format!("http://{}", rig.log_addr),
        ])
        .args(["--log-key", &log_key(ORIGIN).verifier().to_string()])
        .args(["--registry-key", &rig.reg_key])
        .args([
            "--lockfile",
            &app.join("package-lock.json").display().to_string(),
        ])
        .args([
            "--state-dir",
            &rig.dir.path().join("state").display().to_string(),
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{report} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["passed"], true, "{report}");
    assert_eq!(report["counts"]["verified"], 1, "{report}");

    // The item keeps every acknowledgement with its inclusion proof.
    let (status, _, log) = rig.request(
        "GET",
        &format!("/-/stage/{id}/log"),
        Some(&alice),
        None,
        b"",
    );
    assert_eq!(status, 200);
    for step in ["stage", "approve", "publish"] {
        assert!(
            log[step]["ack"]["inclusion_proof"]["path"].is_array(),
            "{log}"
        );
        assert!(log[step]["ack"]["checkpoint"]["note"].is_string(), "{log}");
    }
}

#[test]
fn npm_stage_reject_and_direct_publishes() {
    let mut rig = Rig::start(&[]);
    let ci = rig.alice_ci.clone();
    let alice = rig.alice_publish.clone();
    let src = package_dir(&rig, "gadget", "2.0.0");
    ok(
        &rig.npm(&src, &ci, &["stage", "publish"]),
        "npm stage publish",
    );
    let id = staged_ids(&rig, &src, &alice)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret = rig.alice_totp.clone();
    let code = rig.otp(&secret);
    ok(
        &rig.npm(
            &src,
            &alice,
            &["stage", "reject", &id, &format!("--otp={code}")],
        ),
        "npm stage reject",
    );
    assert!(staged_ids(&rig, &src, &alice).is_empty());
    let events = rig.bundle_events("gadget", "2.0.0");
    assert!(events.iter().any(|e| e["type"] == "reject"), "{events:?}");
    assert!(!events.iter().any(|e| e["type"] == "publish"), "{events:?}");
    let app = app_dir(&rig, "app");
    fails(
        &rig.npm(&app, &alice, &["install", "gadget@2.0.0"]),
        "install of a rejected version",
        "404",
    );

    // A stage-only token cannot publish directly; nothing is logged.
    let direct = package_dir(&rig, "gadget", "2.1.0");
    let size = rig.tree_size();
    fails(
        &rig.npm(&direct, &ci, &["publish"]),
        "direct publish with a stage-only token",
        "may only stage",
    );
    assert_eq!(rig.tree_size(), size);

    // A publish token may; the log holds it as `via: direct` first.
    ok(
        &rig.npm(&direct, &alice, &["publish"]),
        "direct npm publish",
    );
    let events = rig.bundle_events("gadget", "2.1.0");
    let publish = events
        .iter()
        .find(|e| e["type"] == "publish")
        .expect("publish logged");
    assert_eq!(publish["via"], "direct");
    assert!(publish.get("stage").is_none());
    ok(
        &rig.npm(&app, &alice, &["install", "gadget@2.1.0"]),
        "npm install of the direct publish",
    );

    // bob is no maintainer of gadget: he can neither stage nor approve it.
    let bob = rig.bob_publish.clone();
    let again = package_dir(&rig, "gadget", "2.2.0");
    fails(
        &rig.npm(&again, &bob, &["stage", "publish"]),
        "stage by a non-maintainer",
        "not a maintainer",
    );
}

fn publish_doc(name: &str, version: &str, tarball: &[u8], claimed: &[u8]) -> Vec<u8> {
    let file = format!("{}-{version}.tgz", name.rsplit('/').next().unwrap());
    let integrity = gatelog_core::event::Integrity::of(claimed).to_string();
    serde_json::to_vec(&serde_json::json!({
        "_id": name, "name": name, "dist-tags": {"latest": version},
        "versions": {version: {"name": name, "version": version, "dist": {"integrity": integrity}}},
        "_attachments": {file: {"content_type": "application/octet-stream",
            "data": STANDARD.encode(tarball), "length": tarball.len()}}
    }))
    .unwrap()
}

#[test]
fn bad_input_wrong_otps_and_a_log_that_is_down_change_nothing() {
    let mut rig = Rig::start(&["--max-body-bytes", "20000"]);
    let alice = rig.alice_publish.clone();
    let bob = rig.bob_publish.clone();
    let size = rig.tree_size();
    let tgz = [0x1f, 0x8b, 8, 0, 1, 2, 3, 4];
    let stage = "/-/stage/package/thing";
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"{not json".to_vec(), 400, "not JSON"),
        (
            publish_doc("thing", "1.0.0", &tgz, b"another tarball"),
            400,
            "integrity",
        ),
        (
            publish_doc("other", "1.0.0", &tgz, &tgz),
            400,
            "does not match",
        ),
        (
            publish_doc("thing", "1.0.0", &[0x1f; 30000], &[0x1f; 30000]),
            413,
            "",
        ),
    ];
    for (body, want, needle) in cases {
        let (status, _, v) = rig.request("POST", stage, Some(&alice), None, &body);
        assert_eq!(status, want, "{v}");
        assert!(v["error"].as_str().unwrap_or("").contains(needle), "{v}");
    }
    let (status, _, _) = rig.request(
        "POST",
        stage,
        None,
        None,
        &publish_doc("thing", "1.0.0", &tgz, &tgz),
    );
    assert_eq!(status, 401);
    let (status, _, _) = rig.request("POST", stage, Some("glr_nope"), None, b"{}");
    assert_eq!(status, 401);
    let unknown = "/-/stage/00000000-0000-4000-8000-000000000000/approve";
    let (status, _, _) = rig.request("POST", unknown, Some(&alice), Some("123456"), b"");
    assert_eq!(status, 404);
    assert_eq!(rig.tree_size(), size, "bad input logged nothing");
    let (status, _, v) = rig.request("GET", "/-/stage", Some(&alice), None, b"");
    assert_eq!((status, v["total"].as_u64()), (200, Some(0)), "{v}");

    // A real stage, for the OTP checks.
    let (status, _, v) = rig.request(
        "POST",
        stage,
        Some(&bob),
        None,
        &publish_doc("thing", "1.0.0", &tgz, &tgz),
    );
    assert_eq!(status, 201, "{v}");
    let id = v["stageId"].as_str().unwrap().to_owned();
    let approve = format!("/-/stage/{id}/approve");
    let size = rig.tree_size();
    let (status, head, _) = rig.request("POST", &approve, Some(&bob), None, b"");
    assert_eq!(status, 401);
    assert!(head.contains("www-authenticate: otp"), "{head}");

    // The log is down: 503, nothing changes; the retry is logged once.
    rig.stop_log();
    let secret = rig.bob_totp.clone();
    let code = rig.otp(&secret);
    let (status, head, v) = rig.request("POST", &approve, Some(&bob), Some(&code), b"");
    assert_eq!(status, 503, "{v}");
    assert!(head.contains("retry-after"), "{head}");
    let (status, _, _) = rig.request("GET", "/thing", None, None, b"");
    assert_eq!(status, 404, "not installable while unlogged");
    // The code was used: replaying it is refused even after the log is back.
    rig.start_log();
    assert_eq!(rig.tree_size(), size);
    let (status, head, v) = rig.request("POST", &approve, Some(&bob), Some(&code), b"");
    assert_eq!(status, 401, "{v}");
    assert!(
        head.contains("www-authenticate: otp")
            && v["error"].as_str().unwrap().contains("already used")
    );
    let code = rig.otp(&secret);
    let (status, _, v) = rig.request("POST", &approve, Some(&bob), Some(&code), b"");
    assert_eq!(status, 200, "{v}");
    let events = rig.bundle_events("thing", "1.0.0");
    let count = |t: &str| events.iter().filter(|e| e["type"] == t).count();
    assert_eq!(
        (count("stage"), count("approve"), count("publish")),
        (1, 1, 1),
        "{events:?}"
    );
    let (status, _, v) = rig.request("GET", "/thing", None, None, b"");
    assert_eq!(status, 200);
    assert!(v["versions"]["1.0.0"]["dist"]["tarball"].is_string(), "{v}");

    // Wrong OTPs: 401 each, then 429 for a while, and nothing logged.
    let (status, _, v) = rig.request(
        "POST",
        "/-/stage/package/thing2",
        Some(&alice),
        None,
        &publish_doc("thing2", "1.0.0", &tgz, &tgz),
    );
    assert_eq!(status, 201, "{v}");
    let reject = format!("/-/stage/{}", v["stageId"].as_str().unwrap());
    let size = rig.tree_size();
    for _ in 0..5 {
        let (status, _, _) = rig.request("DELETE", &reject, Some(&alice), Some("000000x"), b"");
        assert_eq!(status, 401);
    }
    let secret = rig.alice_totp.clone();
    let code = rig.otp(&secret);
    let (status, head, _) = rig.request("DELETE", &reject, Some(&alice), Some(&code), b"");
    assert_eq!(status, 429);
    assert!(head.contains("retry-after"), "{head}");
    assert_eq!(rig.tree_size(), size);
}
