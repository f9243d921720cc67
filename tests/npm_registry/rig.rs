//! The rig of the registry's end-to-end tests: a real `gatelog-server`, a
//! real `gatelog-registry`, users with tokens and TOTP, and the pinned npm
//! CLI (tools/node_modules, from scripts/tools.sh). Several test binaries
//! include this module, each using part of it.
#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_e2e::{binary, free_addr, http_get, log_key};
use serde_json::Value;

pub const ORIGIN: &str = "registry-npm.gatelog.test/log";

/// The pinned npm CLI; the test fails (never skips) without it.
pub fn npm_bin() -> PathBuf {
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

pub fn wait_listening(addr: SocketAddr, child: &mut Child, what: &str) {
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
pub struct Rig {
    pub dir: tempfile::TempDir,
    pub log_addr: SocketAddr,
    pub reg_addr: SocketAddr,
    pub reg_key: String,
    pub log: Option<Child>,
    pub registry: Child,
    pub alice_publish: String,
    pub alice_ci: String,
    pub bob_publish: String,
    pub alice_totp: String,
    pub bob_totp: String,
    pub last_step: std::collections::HashMap<String, u64>,
}

pub fn admin(data: &Path, args: &[&str]) -> String {
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

/// `gatelog-registry` over `data`, listening on `addr`, logging to `log`.
pub fn spawn_registry(data: &Path, addr: SocketAddr, log: &str, flags: &[&str]) -> Child {
    Command::new(binary("gatelog-registry"))
        .args(["--data", &data.display().to_string()])
        .args(["--listen", &addr.to_string()])
        .args(["--log", log])
        .args(["--log-timeout-secs", "5"])
        .args(flags)
        .env_remove("GATELOG_REGISTRY_SIGNING_KEY")
        .env_remove("GATELOG_REGISTRY_LOG_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn gatelog-registry")
}

impl Rig {
    pub fn start(extra_registry_flags: &[&str]) -> Rig {
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
            registry: spawn_registry(
                &data,
                reg_addr,
                &format!("http://{log_addr}"),
                extra_registry_flags,
            ),
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

    pub fn start_log(&mut self) {
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

    pub fn stop_log(&mut self) {
        if let Some(mut child) = self.log.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The registry's data folder.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("registry-data")
    }

    /// Kills the registry with SIGKILL (no shutdown of any kind).
    pub fn kill_registry(&mut self) {
        let _ = self.registry.kill();
        let _ = self.registry.wait();
    }

    /// Kills the registry (SIGKILL) and starts it again over the same data,
    /// logging to `log` (default: the rig's log) with `flags`.
    pub fn restart_registry(&mut self, log: Option<&str>, flags: &[&str]) {
        self.kill_registry();
        let log = log.map_or_else(|| format!("http://{}", self.log_addr), str::to_owned);
        self.registry = spawn_registry(&self.data(), self.reg_addr, &log, flags);
        let addr = self.reg_addr;
        wait_listening(addr, &mut self.registry, "gatelog-registry");
    }

    pub fn host(&self) -> String {
        self.reg_addr.to_string()
    }

    /// A folder with an `.npmrc` for `token`, and npm run in `cwd`.
    pub fn npm(&self, cwd: &Path, token: &str, args: &[&str]) -> Output {
        self.npm_command(cwd, token, args)
            .output()
            .expect("run npm")
    }

    /// The npm command of [`Rig::npm`], not yet run (for extra settings).
    pub fn npm_command(&self, cwd: &Path, token: &str, args: &[&str]) -> Command {
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
        let mut command = Command::new(npm_bin());
        command
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("npm_config_userconfig", &npmrc)
            .env("npm_config_cache", self.npm_cache())
            .env("npm_config_update_notifier", "false")
            .env("npm_config_audit", "false")
            .env("npm_config_fund", "false")
            .stdin(Stdio::null());
        command
    }

    /// npm's cache folder (`npm_config_cache`) in every npm run.
    pub fn npm_cache(&self) -> PathBuf {
        self.dir.path().join("home/cache")
    }

    /// A TOTP code of `secret` for a step after the last one used with it.
    pub fn otp(&mut self, secret: &str) -> String {
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

    /// `gatelog-monitor --once --format json` over the whole log with the
    /// rule settings `rules` (TOML under `[rules]`); (exit code, alerts,
    /// stderr).
    pub fn monitor_once(&self, rules: &str) -> (Option<i32>, Vec<Value>, String) {
        let config = self.dir.path().join("monitor.toml");
        std::fs::write(&config, format!("[rules]\n{rules}")).unwrap();
        let out = Command::new(binary("gatelog-monitor"))
            .args(["--once", "--format", "json", "--start-at", "0"])
            .args(["--log", &format!("http://{}", self.log_addr)])
            .args(["--log-key", &log_key(ORIGIN).verifier().to_string()])
            .args(["--registry-key", &self.reg_key])
            .args(["--config", &config.display().to_string()])
            .args([
                "--state",
                &self.dir.path().join("monitor-state").display().to_string(),
            ])
            .output()
            .unwrap();
        let alerts = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect();
        (
            out.status.code(),
            alerts,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn tree_size(&self) -> u64 {
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
    pub fn bundle_events(&self, package: &str, version: &str) -> Vec<Value> {
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
            .unwrap_or_else(|| panic!("no entries in {v}"))
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

    /// Every event the log holds for `package` at this registry, oldest
    /// first (`GET /v1/events`, one page).
    pub fn package_events(&self, package: &str) -> Vec<Value> {
        let path = format!(
            "/v1/events?registry={}&package={}&limit=1000",
            self.host(),
            package.replace('@', "%40").replace('/', "%2F")
        );
        let (status, body) = http_get(self.log_addr, &path);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(status, 200, "{v}");
        let decode = |s: &Value| STANDARD.decode(s.as_str().unwrap()).unwrap();
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let leaf: Value = serde_json::from_slice(&decode(&e["leaf"])).unwrap();
                serde_json::from_slice(&decode(&leaf["envelope"]["payload"])).unwrap()
            })
            .collect()
    }

    /// `GET path` of the abbreviated packument (npm's install metadata).
    pub fn get_abbreviated(&self, path: &str) -> Value {
        let accept = "Accept: application/vnd.npm.install-v1+json\r\n";
        let (status, _, v) = self.request_with("GET", path, accept, b"");
        assert_eq!(status, 200, "{v}");
        v
    }

    /// One raw request to the registry with an optional token and OTP.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        otp: Option<&str>,
        body: &[u8],
    ) -> (u16, String, Value) {
        let mut head = String::new();
        if let Some(t) = token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        if let Some(o) = otp {
            head.push_str(&format!("npm-otp: {o}\r\n"));
        }
        self.request_with(method, path, &head, body)
    }

    /// One raw request with extra header lines (each ending in CRLF).
    pub fn request_with(
        &self,
        method: &str,
        path: &str,
        headers: &str,
        body: &[u8],
    ) -> (u16, String, Value) {
        let mut s = TcpStream::connect(self.reg_addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.host(),
            body.len()
        );
        head.push_str(headers);
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

pub fn ok(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

pub fn fails(out: &Output, what: &str, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{what} should fail");
    assert!(
        stderr.contains(needle),
        "{what}: {needle:?} not in\n{stderr}"
    );
}

/// A package folder `name@version` under the rig's folder.
pub fn package_dir(rig: &Rig, name: &str, version: &str) -> PathBuf {
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

pub fn app_dir(rig: &Rig, name: &str) -> PathBuf {
    let dir = rig.dir.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("package.json"),
        r#"{"name":"app","version":"1.0.0","private":true}"#,
    )
    .unwrap();
    dir
}

pub fn staged_ids(rig: &Rig, cwd: &Path, token: &str) -> Vec<Value> {
    let out = rig.npm(cwd, token, &["stage", "list", "--json"]);
    serde_json::from_str(&ok(&out, "npm stage list --json")).unwrap()
}
