//! `gatelog-monitor` end to end: a real server, real HTTP, the real
//! binary. Alerts are raised once, survive restarts, wait for a webhook
//! that is down, and a lying log is caught with its evidence.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gatelog_e2e::{FakeHttp, TestLog, binary, http_get, http_request};
use gatelog_lab::sample::device_key;
use serde_json::Value;

const ORIGIN: &str = "monitor.gatelog.test/log";
const T: i64 = 1_780_000_000;
/// These tests log months of history into a log running today, so every
/// registry time is far behind the log clock: `time-skew` (tested in
/// tests/time_skew.rs) is off here, and the recency windows judge the
/// registry's times (the log's `logged_at` of a replay is all "now").
const NO_SKEW: &str = "[rules]\ndisabled = [\"time-skew\"]\nrecency_clock = \"registry\"\n";

/// The verifier key of `TestLog`'s registry (`registry.example`, seed 5).
fn reg_key() -> String {
    gatelog_lab::sample::SampleRegistry::new("registry.example", 5)
        .verifier_key()
        .to_string()
}

/// `--config` with [`NO_SKEW`], written next to `state`.
fn no_skew_config(state: &Path) -> String {
    let path = state.with_extension("no-skew.toml");
    std::fs::write(&path, NO_SKEW).expect("write config");
    path.display().to_string()
}

/// Runs `gatelog-monitor --once --format json`; returns the exit code,
/// the alerts printed and stderr.
fn once(log: &str, vkey: &str, state: &Path, extra: &[&str]) -> (i32, Vec<Value>, String) {
    let mut cmd = Command::new(binary("gatelog-monitor"));
    if !extra.contains(&"--config") {
        cmd.args(["--config", &no_skew_config(state)]);
    }
    if !extra.contains(&"--allow-unauthenticated") && !extra.contains(&"--registry-key") {
        cmd.args(["--registry-key", &reg_key()]);
    }
    let out = cmd
        .args([
            "--once",
            "--format",
            "json",
            "--log",
            log,
            "--log-key",
            vkey,
        ])
        .args(["--state", &state.display().to_string()])
        .args(extra)
        .output()
        .expect("run gatelog-monitor");
    let alerts = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        alerts,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn rules(alerts: &[Value]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| a["rule"].as_str().unwrap().to_owned())
        .collect()
}

/// Policy, maintainer and device of package `w`, then one honest release.
fn honest_history(log: &TestLog) {
    let policy = r#""type":"policy-change","staged_publishing":"required","trusted_publishers":[{"issuer":"https://token.actions.githubusercontent.com","repository":"acme/widget","workflow":".github/workflows/release.yml","mode":"stage-only"}]"#;
    log.submit(&log.event("w", T - 86_400 * 30, policy));
    log.submit(&log.event(
        "w",
        T - 86_400 * 30,
        r#""type":"maintainer-add","maintainer":"alice","by":"alice""#,
    ));
    log.submit(
        &log.reg
            .device_register("w", "alice", "yubi", &device_key(1), T - 86_400 * 30),
    );
    release(log, "1.0.0", T, 600);
}

/// stage → approve `delay` s later from alice's key → publish.
fn release(log: &TestLog, version: &str, at: i64, delay: i64) {
    let tgz = format!("w-{version}").into_bytes();
    let (s, sh) = log.submit(&log.reg.stage("w", version, &tgz, "acme/widget", at));
    let key = device_key(1);
    let (a, _) = log.submit(&log.reg.approve(
        "w",
        version,
        &tgz,
        s,
        &sh,
        "alice",
        Some(("yubi", &key)),
        at + delay,
    ));
    log.submit(&log.reg.publish("w", version, &tgz, s, a, at + delay + 60));
}

#[test]
fn once_mode_alerts_once_per_finding_and_exit_codes_tell_cron() {
    let log = TestLog::start(ORIGIN);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    honest_history(&log);

    let (code, alerts, err) = once(&log.url(), &log.vkey, &state, &["--start-at", "0"]);
    assert_eq!((code, alerts.len()), (0, 0), "{err} {alerts:?}");
    assert!(err.contains("verified 6 entries"), "{err}");

    // A stolen token publishes directly.
    let (direct, _) = log.submit(&log.reg.publish_direct("w", "1.0.1", b"evil", T + 5000));
    let (code, alerts, err) = once(&log.url(), &log.vkey, &state, &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(rules(&alerts), ["publish-without-approval"]);
    let a = &alerts[0];
    assert_eq!(a["schema"], "gatelog-alert/v1");
    assert_eq!(a["seq"], 1);
    assert_eq!(a["package"], "w");
    assert_eq!(a["version"], "1.0.1");
    assert_eq!(a["evidence"], serde_json::json!([direct.0]));
    assert_eq!(a["id"], format!("publish-without-approval@{}", direct.0));
    assert_eq!(a["checkpoint_size"], 7);

    // Nothing new: nothing repeated.
    let (code, alerts, _) = once(&log.url(), &log.vkey, &state, &[]);
    assert_eq!((code, alerts.len()), (0, 0));

    // A rubber stamp, judged with a configured threshold.
    release(&log, "1.1.0", T + 9000, 4);
    let cfg = dir.path().join("monitor.toml");
    std::fs::write(&cfg, format!("{NO_SKEW}rubber_stamp_seconds = 5\n")).unwrap();
    let (code, alerts, err) = once(
        &log.url(),
        &log.vkey,
        &state,
        &["--config", cfg.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{err}");
    assert_eq!(rules(&alerts), ["rubber-stamp"]);
    assert_eq!(alerts[0]["seq"], 2);

    // The state follows one log and is never re-baselined silently.
    let (code, _, err) = once(&log.url(), &log.vkey, &state, &["--start-at-end"]);
    assert_eq!(code, 2);
    assert!(err.contains("already follows"), "{err}");
    let other = gatelog_e2e::log_key("other.gatelog.test/log")
        .verifier()
        .to_string();
    let (code, _, err) = once(&log.url(), &other, &state, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("not other.gatelog.test"), "{err}");

    // A monitor that starts at the end sees only what comes next, and
    // knows no logged policy from before: its configuration says which
    // packages must be staged.
    let fresh = dir.path().join("fresh");
    let strict = dir.path().join("strict.toml");
    std::fs::write(&strict, format!("{NO_SKEW}require_staging = [\"w\"]\n")).unwrap();
    let strict = ["--config", strict.to_str().unwrap()];
    let (code, alerts, err) = once(
        &log.url(),
        &log.vkey,
        &fresh,
        &[&strict[..], &["--start-at-end"]].concat(),
    );
    assert_eq!((code, alerts.len()), (0, 0), "{err}");
    log.submit(&log.reg.publish_direct("w", "1.0.2", b"evil2", T + 20_000));
    let (code, alerts, _) = once(&log.url(), &log.vkey, &fresh, &strict);
    assert_eq!(code, 1);
    assert_eq!(rules(&alerts), ["publish-without-approval"]);

    // Watching another scope: package alerts are filtered.
    let watched = dir.path().join("watched");
    let (code, alerts, _) = once(
        &log.url(),
        &log.vkey,
        &watched,
        &["--start-at", "0", "--watch", "@acme/*"],
    );
    assert_eq!((code, alerts.len()), (0, 0));
}

#[test]
fn growth_from_any_size_is_proven_consistent_from_the_tiles() {
    // Sizes whose consistency proofs hold hashes of incomplete subtrees
    // (16 -> 19 needs the hash of leaves 16..19), which the monitor must
    // fold from the complete subtrees its tiles hold.
    let log = TestLog::start(ORIGIN);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut size = 0;
    for (round, target) in [1, 2, 3, 5, 8, 13, 16, 19, 32, 37].into_iter().enumerate() {
        while size < target {
            log.submit(
                &log.reg
                    .publish_direct("w", &format!("0.0.{size}"), b"x", T + size as i64),
            );
            size += 1;
        }
        let start: &[&str] = if round == 0 {
            &["--start-at", "0"]
        } else {
            &[]
        };
        let (code, alerts, err) = once(&log.url(), &log.vkey, &state, start);
        assert_eq!(
            (code, alerts.len()),
            (0, 0),
            "at size {size}: {err} {alerts:?}"
        );
    }
}

/// Receives webhook POSTs; answers 503 while `down` is set.
struct Receiver {
    http: FakeHttp,
    got: Arc<Mutex<Vec<Value>>>,
    down: Arc<Mutex<bool>>,
}

impl Receiver {
    fn start(down: bool) -> Receiver {
        let got = Arc::new(Mutex::new(Vec::new()));
        let down = Arc::new(Mutex::new(down));
        let http = {
            let (got, down) = (got.clone(), down.clone());
            FakeHttp::start(move |req| {
                if *down.lock().unwrap() {
                    return (503, b"down".to_vec());
                }
                let v: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                got.lock().unwrap().push(v);
                (204, Vec::new())
            })
        };
        Receiver { http, got, down }
    }

    fn ids(&self) -> Vec<String> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap_or("?").to_owned())
            .collect()
    }

    fn wait_for(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.got.lock().unwrap().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.ids()
    }
}

/// Logs a direct publish of `w@version`; returns the alert id it must raise.
fn attack(log: &TestLog, version: &str, time: i64) -> String {
    let (idx, _) = log.submit(&log.reg.publish_direct("w", version, b"x", time));
    format!("publish-without-approval@{}", idx.0)
}

fn daemon(log: &TestLog, state: &Path, webhook: &str, metrics: &str, start: bool) -> Child {
    let mut cmd = Command::new(binary("gatelog-monitor"));
    cmd.args(["--config", &no_skew_config(state)])
        .args(["--log", &log.url(), "--log-key", &log.vkey, "--quiet"])
        .args(["--state", &state.display().to_string()])
        .args(["--webhook", webhook, "--poll-interval", "0.1"])
        .args(["--metrics-listen", metrics, "--registry-key", &reg_key()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if start {
        cmd.args(["--start-at", "0"]);
    }
    cmd.spawn().expect("spawn gatelog-monitor")
}

#[test]
fn daemon_survives_kill9_and_a_webhook_outage_without_losing_or_repeating_alerts() {
    let log = TestLog::start(ORIGIN);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    honest_history(&log);
    let hook = Receiver::start(true);
    let metrics = gatelog_e2e::free_addr();

    // Webhook down: alerts wait in the state.
    let mut child = daemon(&log, &state, &hook.http.url(), &metrics.to_string(), true);
    let mut expected = Vec::new();
    for i in 0..3 {
        expected.push(attack(&log, &format!("2.0.{i}"), T + 10_000 + i));
    }
    // The daemon serves metrics and catches up while the hook is down.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Until the daemon listens, the connection is refused.
        let (status, body) = http_request(metrics, "GET", "/metrics", &[]).unwrap_or_default();
        let text = String::from_utf8_lossy(&body).into_owned();
        if status == 200 && text.contains("gatelog_monitor_tree_size_verified 9") {
            assert!(
                text.contains("gatelog_monitor_alerts_total{rule=\"publish-without-approval\"} 3"),
                "{text}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "monitor did not catch up: {text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(hook.ids().is_empty());

    // Crash, then restart with the hook still down, then bring it back.
    child.kill().unwrap();
    child.wait().unwrap();
    for i in 3..5 {
        expected.push(attack(&log, &format!("2.0.{i}"), T + 10_000 + i));
    }
    let mut child = daemon(
        &log,
        &state,
        &hook.http.url(),
        &gatelog_e2e::free_addr().to_string(),
        false,
    );
    std::thread::sleep(Duration::from_millis(500));
    *hook.down.lock().unwrap() = false;
    let got = hook.wait_for(5);
    assert_eq!(got, expected, "every alert delivered once, in order");

    // One more after a kill -9 mid-run: still exactly once.
    child.kill().unwrap();
    child.wait().unwrap();
    let mut child = daemon(
        &log,
        &state,
        &hook.http.url(),
        &gatelog_e2e::free_addr().to_string(),
        false,
    );
    expected.push(attack(&log, "2.1.0", T + 20_000));
    let got = hook.wait_for(6);
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(hook.ids(), expected, "{got:?}");
    let seqs: Vec<u64> = hook
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|v| v["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=6).collect::<Vec<_>>());
}

#[test]
fn a_forked_log_is_log_misbehaviour_with_both_checkpoints() {
    let a = TestLog::start(ORIGIN);
    let b = TestLog::start(ORIGIN);
    honest_history(&a);
    // Same key, another history, larger.
    for i in 0..8 {
        b.submit(&b.reg.publish_direct("x", &format!("1.0.{i}"), b"o", T + i));
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (code, _, err) = once(&a.url(), &a.vkey, &state, &["--start-at", "0"]);
    assert_eq!(code, 0, "{err}");
    let (code, alerts, err) = once(&b.url(), &b.vkey, &state, &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(rules(&alerts), ["log-misbehaviour"], "{err}");
    let d = &alerts[0]["details"];
    assert!(d["older"].as_str().unwrap().contains("\n6\n"), "{d}");
    assert!(d["newer"].as_str().unwrap().contains("\n8\n"), "{d}");
    assert!(!d["consistency_proof"].as_array().unwrap().is_empty());
    // The state did not move: the honest log still verifies, and the same
    // lie is not reported twice.
    let (code, alerts, _) = once(&b.url(), &b.vkey, &state, &[]);
    assert_eq!((code, alerts.len()), (1, 0));
    let (code, alerts, err) = once(&a.url(), &a.vkey, &state, &[]);
    assert_eq!((code, alerts.len()), (0, 0), "{err}");
}

#[test]
fn an_entry_altered_after_signing_is_caught_against_the_tiles() {
    let log = TestLog::start(ORIGIN);
    honest_history(&log);
    let upstream = log.server.addr;
    // A proxy that serves the real log but flips a byte of entry 4's JSON
    // (inside the bundle, keeping its length).
    let proxy = FakeHttp::start(move |req| {
        let (status, mut body) = http_get(upstream, &req.path);
        if req.path.starts_with("/tile/entries/") {
            // The last entry's `logged_at`: one digit changed.
            if let Some(pos) = body.windows(12).rposition(|w| w == b"\"logged_at\":") {
                let d = &mut body[pos + 12];
                *d = if *d == b'9' { b'0' } else { *d + 1 };
            }
        }
        (status, body)
    });
    let dir = tempfile::tempdir().unwrap();
    let (code, alerts, err) = once(
        &proxy.url(),
        &log.vkey,
        &dir.path().join("s"),
        &["--start-at", "0"],
    );
    assert_eq!(code, 1, "{err}");
    // Unsigned data that does not match the signed tree: an alert, not a
    // stop (the daemon goes on: see
    // `unverifiable_answers_alert_once_per_episode_and_the_daemon_goes_on`).
    assert_eq!(rules(&alerts), ["log-unverifiable"]);
    let a = &alerts[0];
    assert!(a["message"].as_str().unwrap().contains("hashes to"), "{a}");
    assert!(a["details"]["served_leaf_hash"].is_string());
    assert!(a["details"]["committed_leaf_hash"].is_string());
}

#[test]
fn hook_command_and_test_alert_deliver_the_alert_json() {
    let log = TestLog::start(ORIGIN);
    honest_history(&log);
    let (direct, _) = log.submit(&log.reg.publish_direct("w", "3.0.0", b"evil", T + 30_000));
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("hook.jsonl");
    let hook = format!(
        "cat >> {} && echo \"$GATELOG_ALERT_RULE $GATELOG_ALERT_PACKAGE\" >> {}.env",
        sink.display(),
        sink.display()
    );
    let state = dir.path().join("state");
    let (code, alerts, err) = once(
        &log.url(),
        &log.vkey,
        &state,
        &["--start-at", "0", "--hook", &hook, "--quiet"],
    );
    assert_eq!((code, alerts.len()), (1, 0), "{err}");
    let delivered: Value =
        serde_json::from_str(std::fs::read_to_string(&sink).unwrap().trim()).unwrap();
    assert_eq!(
        delivered["id"],
        format!("publish-without-approval@{}", direct.0)
    );
    let env = std::fs::read_to_string(format!("{}.env", sink.display())).unwrap();
    assert_eq!(env.trim(), "publish-without-approval w");

    // A failing hook keeps the alert waiting: exit 2, delivered next time.
    log.submit(&log.reg.publish_direct("w", "3.0.1", b"evil", T + 30_001));
    let (code, _, err) = once(
        &log.url(),
        &log.vkey,
        &state,
        &["--hook", "exit 3", "--quiet"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("wait in the state"), "{err}");
    let (code, _, err) = once(&log.url(), &log.vkey, &state, &["--hook", &hook, "--quiet"]);
    assert_eq!(code, 0, "nothing new was raised: {err}");
    assert_eq!(std::fs::read_to_string(&sink).unwrap().lines().count(), 2);

    // --test-alert goes through every sink without touching the state.
    let (code, alerts, err) = once(
        &log.url(),
        &log.vkey,
        &state,
        &["--test-alert", "--hook", &hook],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["id"], "test-alert");
    assert_eq!(std::fs::read_to_string(&sink).unwrap().lines().count(), 3);
    let (code, _, err) = once(
        &log.url(),
        &log.vkey,
        &state,
        &["--test-alert", "--hook", "exit 1"],
    );
    assert_eq!(code, 2, "{err}");
}

/// An event of `reg` for `package` at `time` with the JSON fields `body`.
fn event_by(
    reg: &gatelog_lab::sample::SampleRegistry,
    package: &str,
    time: i64,
    body: &str,
) -> gatelog_core::Envelope {
    let json = format!(
        r#"{{{body},"package":"{package}","registry":"{}","time":"{}"}}"#,
        reg.origin,
        gatelog_lab::sample::rfc3339(time)
    );
    reg.sign_json(&json).expect("valid event")
}

const POLICY_REQUIRED: &str = r#""type":"policy-change","staged_publishing":"required","trusted_publishers":[{"issuer":"https://token.actions.githubusercontent.com","repository":"acme/widget","workflow":".github/workflows/release.yml","mode":"stage-only"}]"#;

#[test]
fn another_registrys_chain_for_the_same_name_launders_nothing() {
    let b = gatelog_lab::sample::SampleRegistry::new("b.example", 6);
    let bkey = b.verifier_key().to_string();
    let log = TestLog::start_with(ORIGIN, &["--submitter-key", &bkey]);
    // Registry A (the TestLog's): `pkg` must be staged.
    log.submit(&log.event("pkg", T - 86_400, POLICY_REQUIRED));
    // Registry B: its own `pkg`, staging optional, and a whole approved
    // release of the version A is about to publish directly.
    let optional = POLICY_REQUIRED.replace("required", "optional");
    log.submit(&event_by(&b, "pkg", T - 86_400, &optional));
    log.submit(&b.device_register("pkg", "bob", "yubi", &device_key(2), T - 86_000));
    let tgz = b"pkg-1.0.0";
    let (s, sh) = log.submit(&b.stage("pkg", "1.0.0", tgz, "acme/widget", T));
    let (a, _) = log.submit(&b.approve(
        "pkg",
        "1.0.0",
        tgz,
        s,
        &sh,
        "bob",
        Some(("yubi", &device_key(2))),
        T + 600,
    ));
    log.submit(&b.publish("pkg", "1.0.0", tgz, s, a, T + 660));
    let (direct, _) = log.submit(&log.reg.publish_direct("pkg", "1.0.0", tgz, T + 700));

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let rk = reg_key();
    let keys = ["--registry-key", &rk, "--registry-key", &bkey];
    let (code, alerts, err) = once(
        &log.url(),
        &log.vkey,
        &state,
        &[&keys[..], &["--start-at", "0"]].concat(),
    );
    assert_eq!(code, 1, "{err}");
    // Only A's direct publish, judged by A's own policy; B's chain is
    // neither a fork of A's nor an approval of A's release.
    assert_eq!(rules(&alerts), ["publish-without-approval"], "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!(alert["evidence"], serde_json::json!([direct.0]));
    assert!(
        alert["message"]
            .as_str()
            .unwrap()
            .contains("the package's logged policy requires staging"),
        "{alert}"
    );
}

#[test]
fn without_registry_keys_every_alert_is_marked_unauthenticated() {
    let log = TestLog::start(ORIGIN);
    honest_history(&log);
    log.submit(&log.reg.publish_direct("w", "1.0.1", b"evil", T + 5000));
    let dir = tempfile::tempdir().unwrap();
    // Keys are required...
    let mut cmd = Command::new(binary("gatelog-monitor"));
    let out = cmd
        .args(["--once", "--log", &log.url(), "--log-key", &log.vkey])
        .args(["--state", &dir.path().join("s0").display().to_string()])
        .args(["--start-at", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--registry-key VKEY is required"));
    // ...unless waived, loudly: a warning, and a mark on every alert.
    let state = dir.path().join("s1");
    let (code, alerts, err) = once(
        &log.url(),
        &log.vkey,
        &state,
        &["--start-at", "0", "--allow-unauthenticated"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("WARNING: running without registry keys"),
        "{err}"
    );
    assert_eq!(rules(&alerts), ["publish-without-approval"]);
    assert_eq!(alerts[0]["unauthenticated"], true);
    // The text form says it too.
    log.submit(&log.reg.publish_direct("w", "1.0.2", b"evil", T + 6000));
    let out = Command::new(binary("gatelog-monitor"))
        .args(["--once", "--format", "text", "--allow-unauthenticated"])
        .args(["--config", &no_skew_config(&state)])
        .args(["--log", &log.url(), "--log-key", &log.vkey])
        .args(["--state", &state.display().to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("UNAUTHENTICATED"), "{text}");
    // With the key, nothing is marked.
    let (_, alerts, _) = once(
        &log.url(),
        &log.vkey,
        &dir.path().join("s2"),
        &["--start-at", "0"],
    );
    assert!(
        alerts.iter().all(|a| a.get("unauthenticated").is_none()),
        "{alerts:?}"
    );
}

#[test]
fn recency_is_judged_by_the_logs_clock_not_the_registrys() {
    // The registry says alice's device is 30 days old and she approved
    // 10 minutes after the stage; the log logged it all within a second.
    let log = TestLog::start(ORIGIN);
    honest_history(&log);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("log-clock.toml");
    std::fs::write(&cfg, "[rules]\ndisabled = [\"time-skew\"]\n").unwrap();
    let (code, alerts, err) = once(
        &log.url(),
        &log.vkey,
        &dir.path().join("s"),
        &["--start-at", "0", "--config", cfg.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{err}");
    let mut fired = rules(&alerts);
    fired.sort();
    assert_eq!(fired, ["new-device", "rubber-stamp"], "{alerts:?}");
    // Judged by the registry's times (a replay), the same history is quiet.
    let (code, alerts, err) = once(
        &log.url(),
        &log.vkey,
        &dir.path().join("r"),
        &["--start-at", "0"],
    );
    assert_eq!((code, alerts.len()), (0, 0), "{err} {alerts:?}");
}

/// What the proxy in front of the log does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Honest,
    /// The checkpoint's signature altered.
    BadCheckpoint,
    /// Every answer a 503.
    Down,
}

#[test]
fn unverifiable_answers_alert_once_per_episode_and_the_daemon_goes_on() {
    let log = TestLog::start(ORIGIN);
    honest_history(&log);
    let upstream = log.server.addr;
    let mode = Arc::new(Mutex::new(Mode::Honest));
    let proxy = {
        let mode = mode.clone();
        FakeHttp::start(move |req| {
            let m = *mode.lock().unwrap();
            let (status, mut body) = http_get(upstream, &req.path);
            match m {
                Mode::Honest => (status, body),
                Mode::Down => (503, b"down".to_vec()),
                Mode::BadCheckpoint if req.path == "/checkpoint" => {
                    // The last signature byte's base64 digit changed.
                    let n = body.len() - 2;
                    body[n] = if body[n] == b'A' { b'B' } else { b'A' };
                    (status, body)
                }
                Mode::BadCheckpoint => (status, body),
            }
        })
    };
    let hook = Receiver::start(false);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let cfg = dir.path().join("m.toml");
    std::fs::write(&cfg, format!("{NO_SKEW}no_progress_seconds = 2\n")).unwrap();
    let mut child = Command::new(binary("gatelog-monitor"))
        .args(["--config", cfg.to_str().unwrap()])
        .args(["--log", &proxy.url(), "--log-key", &log.vkey, "--quiet"])
        .args(["--state", &state.display().to_string(), "--start-at", "0"])
        .args(["--webhook", &hook.http.url(), "--poll-interval", "0.1"])
        .args(["--metrics-listen", &gatelog_e2e::free_addr().to_string()])
        .args(["--registry-key", &reg_key()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rules_got = |hook: &Receiver| -> Vec<String> {
        hook.got
            .lock()
            .unwrap()
            .iter()
            .map(|v| v["rule"].as_str().unwrap_or("?").to_owned())
            .collect()
    };
    let first = attack(&log, "5.0.0", T + 50_000);
    assert_eq!(hook.wait_for(1), std::slice::from_ref(&first));

    // A checkpoint that does not verify: one alert, and the daemon stays.
    *mode.lock().unwrap() = Mode::BadCheckpoint;
    hook.wait_for(2);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        rules_got(&hook),
        ["publish-without-approval", "log-unverifiable"]
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "the daemon must not stop"
    );
    // Still nothing verified after the threshold: no-progress, once.
    hook.wait_for(3);
    *mode.lock().unwrap() = Mode::Down;
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        rules_got(&hook),
        [
            "publish-without-approval",
            "log-unverifiable",
            "no-progress"
        ]
    );
    // The log comes back: the daemon catches up and alerts again.
    *mode.lock().unwrap() = Mode::Honest;
    let next = attack(&log, "5.0.1", T + 60_000);
    hook.wait_for(4);
    assert_eq!(hook.ids()[3], next);
    // A new episode is a new alert.
    *mode.lock().unwrap() = Mode::BadCheckpoint;
    hook.wait_for(5);
    assert_eq!(rules_got(&hook)[4], "log-unverifiable");
    assert!(child.try_wait().unwrap().is_none());
    child.kill().unwrap();
    child.wait().unwrap();
    let ids = hook.ids();
    assert_ne!(ids[1], ids[4], "episodes have their own ids: {ids:?}");
}
