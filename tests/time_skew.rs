//! Registry times far from the log clock, end to end: the real server logs
//! the events, answers with a `time_skew` warning and counts them in
//! `/metrics`; the real monitor raises `time-skew` (medium) for exactly
//! those entries; `logged_at` is the log's own clock throughout.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_core::Leaf;
use gatelog_e2e::{TestLog, binary, http_get, http_post};
use serde_json::Value;

const ORIGIN: &str = "skew.gatelog.test/log";

fn submit(log: &TestLog, time: i64, version: &str) -> Value {
    let env = log
        .reg
        .publish_direct("left-pad", version, version.as_bytes(), time);
    let (status, body) = http_post(log.server.addr, "/v1/entries", &env.to_json()).expect("submit");
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("JSON")
}

#[test]
fn skewed_registry_times_are_logged_warned_counted_and_alerted() {
    let log = TestLog::start(ORIGIN);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let on_time = submit(&log, now, "1.0.0");
    assert!(on_time.get("warnings").is_none(), "{on_time}");
    let behind = submit(&log, now - 3 * 86_400, "1.0.1");
    let ahead = submit(&log, now + 3600, "1.0.2");
    for (answer, sign) in [(&behind, -1), (&ahead, 1)] {
        let w = &answer["warnings"][0];
        assert_eq!(w["warning"], "time_skew", "{answer}");
        assert_eq!(w["skew_seconds"].as_i64().unwrap().signum(), sign);
    }
    let (_, metrics) = http_get(log.server.addr, "/metrics");
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains(r#"gatelog_time_skew_total{direction="behind"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"gatelog_time_skew_total{direction="ahead"} 1"#),
        "{metrics}"
    );

    // logged_at is the log's clock, not the registry's.
    for answer in [&on_time, &behind, &ahead] {
        let index = answer["index"].as_u64().unwrap();
        let (_, e) = http_get(log.server.addr, &format!("/v1/entries/{index}"));
        let e: Value = serde_json::from_slice(&e).unwrap();
        let leaf = Leaf::parse(&STANDARD.decode(e["leaf"].as_str().unwrap()).unwrap()).unwrap();
        let logged = leaf.logged_at() as i64 / 1000;
        assert!(
            (logged - now).abs() < 60,
            "entry {index} logged at {logged}"
        );
    }

    let state = tempfile::tempdir().unwrap();
    let out = Command::new(binary("gatelog-monitor"))
        .args(["--once", "--format", "json", "--start-at", "0"])
        .args(["--log", &log.url(), "--log-key", &log.vkey])
        .args(["--registry-key", &log.reg.verifier_key().to_string()])
        .args(["--state", &state.path().join("s").display().to_string()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|a: &Value| a["rule"] == "time-skew")
        .collect();
    let triggers: Vec<u64> = alerts
        .iter()
        .map(|a| a["evidence"][0].as_u64().unwrap())
        .collect();
    assert_eq!(
        triggers,
        [
            behind["index"].as_u64().unwrap(),
            ahead["index"].as_u64().unwrap()
        ]
    );
    assert!(alerts.iter().all(|a| a["severity"] == "medium"));
    assert!(
        alerts[0]["message"].as_str().unwrap().contains("behind"),
        "{}",
        alerts[0]
    );
    assert!(
        alerts[1]["message"].as_str().unwrap().contains("ahead of"),
        "{}",
        alerts[1]
    );
}
