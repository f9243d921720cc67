//! `gatelog verify` on the lockfile of every package manager, end to end:
//! the fixtures the real tools wrote over one project
//! (client/tests/fixtures, `scripts/lockfile-fixtures.sh`), a real
//! `gatelog-server` holding the history of the npm registry's packages they
//! name, and the real `gatelog` binary. Everything is driven by the table
//! [`FORMATS`]: each test runs the same cases over every format.
//!
//! The composite GitHub Action (`action.yml`) runs the same way in
//! [`action`].

use std::path::{Path, PathBuf};

use gatelog_core::event::{DeviceKind, Integrity};
use gatelog_e2e::{TestLog, binary};
use gatelog_lab::sample::{Approval, SampleDevice, SampleRegistry, github_publisher};
use serde_json::Value;

#[path = "lockfiles/action.rs"]
mod action;
#[path = "lockfiles/rules.rs"]
mod rules;

const ORIGIN: &str = "lockfiles.gatelog.test/log";
/// The registry every fixture resolves to (Yarn classic's
/// `registry.yarnpkg.com` is read as this one).
const NPMJS: &str = "registry.npmjs.org";
const PKG_TIME: i64 = 1_780_000_000;
/// A tarball URL that is not the registry's, for `remote-dependency`.
const CDN: &str = "https://cdn.example/through-2.3.8.tgz";
const THROUGH_INTEGRITY: &str = "sha512-w89qg7PI8wAdvX60bMDP+bFoD5Dvhm9oLheFp5O4a2QF0cSBGsBX4qZmadPMvVqlLJBBci+WqGGOAPvcDeNSVg==";

/// One package manager's fixture.
struct Fixture {
    /// Folder under client/tests/fixtures.
    dir: &'static str,
    /// The lockfile in it (found by `gatelog verify` from the folder).
    file: &'static str,
    /// Yarn Berry: no npm integrity, only Yarn's zip checksum.
    berry: bool,
    /// Whether the format records which dependencies the project declares
    /// (npm's `--allow-* root`); Yarn classic's does not.
    knows_direct: bool,
    /// The edit that makes `through@2.3.8` a tarball at [`CDN`], as the
    /// tool writes a remote tarball dependency: (text, replacement).
    remote: (&'static str, String),
}

/// Every format, each with its remote-tarball edit.
fn formats() -> Vec<Fixture> {
    let pnpm_remote = (
        "{integrity: sha512-w89qg7PI8wAdvX60bMDP+bFoD5Dvhm9oLheFp5O4a2QF0cSBGsBX4qZmadPMvVqlLJBBci+WqGGOAPvcDeNSVg==}",
        format!("{{integrity: {THROUGH_INTEGRITY}, tarball: {CDN}}}"),
    );
    let fixture = |dir, file, berry, knows_direct, remote| Fixture {
        dir,
        file,
        berry,
        knows_direct,
        remote,
    };
    vec![
        fixture(
            "npm",
            "package-lock.json",
            false,
            true,
            (
                "https://registry.npmjs.org/through/-/through-2.3.8.tgz",
                CDN.to_owned(),
            ),
        ),
        fixture(
            "pnpm-v5.4",
            "pnpm-lock.yaml",
            false,
            true,
            pnpm_remote.clone(),
        ),
        fixture(
            "pnpm-v6",
            "pnpm-lock.yaml",
            false,
            true,
            pnpm_remote.clone(),
        ),
        fixture("pnpm-v9", "pnpm-lock.yaml", false, true, pnpm_remote),
        fixture(
            "yarn-v1",
            "yarn.lock",
            false,
            false,
            (
                "https://registry.yarnpkg.com/through/-/through-2.3.8.tgz",
                CDN.to_owned(),
            ),
        ),
        fixture(
            "yarn-berry",
            "yarn.lock",
            true,
            true,
            (
                "resolution: \"through@npm:2.3.8\"",
                format!("resolution: \"through@{CDN}\""),
            ),
        ),
        fixture(
            "bun",
            "bun.lock",
            false,
            true,
            (
                "\"through@2.3.8\", \"\", {}",
                format!("\"through@{CDN}\", {{}}"),
            ),
        ),
    ]
}

fn fixture_path(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../client/tests/fixtures")
        .join(dir)
}

/// A copy of the fixture's lockfile alone in a new folder, with `edit`
/// applied (the text must occur exactly once).
fn copy(f: &Fixture, into: &Path, edit: Option<(&str, &str)>) -> PathBuf {
    let mut text = std::fs::read_to_string(fixture_path(f.dir).join(f.file)).unwrap();
    if let Some((from, to)) = edit {
        assert_eq!(text.matches(from).count(), 1, "{}: {from:?}", f.dir);
        text = text.replace(from, to);
    }
    let dir = into.join(f.dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(f.file), text).unwrap();
    dir
}

/// A registry package the fixtures name: (name, version, integrity).
type Release = (String, String, Integrity);

/// The registry packages of the project, as the real npm locked them:
/// every `node_modules/` entry of the npm fixture resolved from npmjs.
fn registry_packages() -> Vec<Release> {
    let text = std::fs::read(fixture_path("npm").join("package-lock.json")).unwrap();
    let doc: Value = serde_json::from_slice(&text).unwrap();
    let mut out: Vec<Release> = doc["packages"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, p)| {
            p["resolved"]
                .as_str()
                .is_some_and(|r| r.starts_with("https://registry.npmjs.org/"))
        })
        .map(|(key, p)| {
            let name = p["name"]
                .as_str()
                .unwrap_or_else(|| key.rsplit_once("node_modules/").unwrap().1);
            let integrity = Integrity::parse(p["integrity"].as_str().unwrap()).unwrap();
            (
                name.to_owned(),
                p["version"].as_str().unwrap().to_owned(),
                integrity,
            )
        })
        .collect();
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(out.len(), 11, "{out:?}");
    out
}

/// How one release is logged.
#[derive(Clone, Copy, PartialEq, Eq)]
enum History {
    /// stage → approve (signed by a registered device) → publish.
    Honest,
    /// publish `via: direct`, no stage or approval.
    Direct,
    /// An honest history of another tarball than the lockfile's.
    OtherTarball,
    /// Approved with a code sent by SMS, which the default policy refuses.
    Sms,
    /// Nothing logged.
    Absent,
}

/// A log that accepts events of the npm registry ([`NPMJS`]).
struct NpmLog {
    log: TestLog,
    reg: SampleRegistry,
    device: SampleDevice,
}

impl NpmLog {
    fn start() -> NpmLog {
        let reg = SampleRegistry::new(NPMJS, 6);
        let key = reg.verifier_key().to_string();
        let log = TestLog::start_with(ORIGIN, &["--submitter-key", &key]);
        let device = SampleDevice::signing("yubi", DeviceKind::Ed25519, 1);
        log.submit(&reg.register("JSONStream", "alice", &device, PKG_TIME - 86_400 * 30));
        // A code device too, so an approval with it is weak, not unknown.
        log.submit(&reg.register(
            "JSONStream",
            "alice",
            &SampleDevice::code("phone", DeviceKind::Sms),
            PKG_TIME - 86_400 * 30,
        ));
        NpmLog { log, reg, device }
    }

    /// A log holding every registry package of the fixtures, each logged as
    /// `history` says (honest for the ones it does not name).
    fn with(history: &[(&str, History)]) -> NpmLog {
        let log = NpmLog::start();
        for (name, version, integrity) in registry_packages() {
            let how = history
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(History::Honest, |(_, h)| *h);
            log.release(&name, &version, &integrity, how);
        }
        log
    }

    fn release(&self, name: &str, version: &str, integrity: &Integrity, how: History) {
        let (reg, t) = (&self.reg, PKG_TIME);
        let integrity = match how {
            History::OtherTarball => Integrity::of(format!("another {name} tarball").as_bytes()),
            _ => *integrity,
        };
        match how {
            History::Absent => {}
            History::Direct => {
                self.log
                    .submit(&reg.publish_direct_integrity(name, version, &integrity, t));
            }
            History::Honest | History::OtherTarball | History::Sms => {
                let publisher = github_publisher("acme/widget", &format!("refs/tags/v{version}"));
                let (stage, stage_leaf_hash) = self
                    .log
                    .submit(&reg.stage_from(name, version, &integrity, &publisher, t));
                let sms = SampleDevice::code("phone", DeviceKind::Sms);
                let device = if how == History::Sms {
                    &sms
                } else {
                    &self.device
                };
                let (approve, _) = self.log.submit(&reg.approve_with(&Approval {
                    package: name,
                    version,
                    integrity,
                    stage,
                    stage_leaf_hash,
                    maintainer: "alice",
                    device,
                    signer: device.key.as_ref(),
                    context: None,
                    time: t + 600,
                }));
                self.log.submit(&reg.publish_staged(
                    name,
                    version,
                    &integrity,
                    stage,
                    approve,
                    t + 700,
                ));
            }
        }
    }

    fn registry_key(&self) -> String {
        self.reg.verifier_key().to_string()
    }
}

/// `gatelog verify --format json` on `lockfile` (a folder): exit code,
/// report, stderr.
fn verify(log: &NpmLog, lockfile: &Path, state: &Path, extra: &[&str]) -> (i32, Value, String) {
    let out = std::process::Command::new(binary("gatelog"))
        .args(["verify", "--format", "json", "--log", &log.log.url()])
        .args(["--log-key", &log.log.vkey, "--registry-key"])
        .arg(log.registry_key())
        .arg("--lockfile")
        .arg(lockfile)
        .arg("--state-dir")
        .arg(state)
        .args(extra)
        .env_remove("GATELOG_REGISTRY")
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        report,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The entries of `name` in a report.
fn entries<'a>(report: &'a Value, name: &str) -> Vec<&'a Value> {
    let found: Vec<&Value> = report["packages"]
        .as_array()
        .unwrap_or_else(|| panic!("no report: {report}"))
        .iter()
        .filter(|p| p["name"] == name)
        .collect();
    assert!(!found.is_empty(), "{name} is not in the report: {report}");
    found
}

fn rule_ids(p: &Value, key: &str) -> Vec<String> {
    p[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts every entry of `name` has `status`, and `rule` among its
/// findings (failed) or warnings (otherwise) when given.
fn expect(dir: &str, report: &Value, name: &str, status: &str, rule: Option<&str>) {
    for p in entries(report, name) {
        assert_eq!(p["status"], status, "{dir}: {name}: {p}");
        let key = if status == "failed" {
            "findings"
        } else {
            "warnings"
        };
        if let Some(rule) = rule {
            assert!(
                rule_ids(p, key).iter().any(|r| r == rule),
                "{dir}: {name} has no {key} {rule}: {p}"
            );
        }
    }
}

/// The (name, version) of the verified packages.
fn verified(report: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "verified")
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out
}
