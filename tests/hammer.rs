//! `gatelog-lab hammer` against the real server: a paced run with every kind of
//! reader, then a reads-only run at the size it left.

use gatelog_e2e::{FakeHttp, Server, http_get, http_post, run};
use serde_json::Value;

const ORIGIN: &str = "e2e.gatelog.test/hammer";

fn hammer(args: &[&str]) -> Value {
    let (ok, report) = hammer_run(args);
    assert!(ok, "hammer failed: {report}");
    report
}

/// Whether the hammer exited 0, and its report.
fn hammer_run(args: &[&str]) -> (bool, Value) {
    let out = run("gatelog-lab", &[&["hammer", "--json"], args].concat());
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&out.stderr).into_owned()));
    (out.status.success(), report)
}

#[test]
fn paced_writers_and_verifying_readers_then_reads_only() {
    let dir = tempfile::tempdir().unwrap();
    let registry =
        String::from_utf8(run("gatelog-lab", &["hammer", "--print-registry-key"]).stdout)
            .unwrap()
            .trim()
            .to_owned();
    let server = Server::start_with(
        dir.path(),
        ORIGIN,
        &["--submitter-key", &registry, "--batch-interval-ms", "20"],
    );
    let key = gatelog_core::SignerKey::parse(
        &std::fs::read_to_string(dir.path().join("log.key")).unwrap(),
    )
    .unwrap()
    .verifier()
    .to_string();
    let log = format!("http://{}", server.addr);
    let common = ["--log", &log, "--log-key", &key];

    // 30 release chains over 10 packages, offered at 300 events/s.
    let r = hammer(
        &[
            &common[..],
            &[
                "--rate",
                "300",
                "--releases",
                "30",
                "--packages",
                "10",
                "--batch-size",
                "5",
                "--writers",
                "16",
                "--readers",
                "1",
                "--proof-readers",
                "2",
                "--tile-readers",
                "1",
            ],
        ]
        .concat(),
    );
    // Ten device registrations and three events per chain, all verified.
    assert_eq!(r["accepted"], 100, "{r:#}");
    assert_eq!(r["verification_failures"], 0);
    assert_eq!(r["offered_rate"], 300.0);
    assert!(r["max_send_lag_ms"].is_number());
    assert_eq!(r["tree_size"], serde_json::json!([0, 100]));
    assert!(r["latency_ms"]["p50"].as_f64().unwrap() > 0.0);
    // The growth samples end at the final size and never shrink.
    let growth: Vec<u64> = r["growth"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s[1].as_u64().unwrap())
        .collect();
    assert_eq!(growth.last(), Some(&100));
    assert!(growth.windows(2).all(|w| w[0] <= w[1]), "{growth:?}");

    // Reads only, at the size the writers left.
    let r = hammer(
        &[
            &common[..],
            &[
                "--writers",
                "0",
                "--duration",
                "1",
                "--readers",
                "0",
                "--proof-readers",
                "2",
                "--tile-readers",
                "1",
            ],
        ]
        .concat(),
    );
    assert_eq!(r["accepted"], 0);
    assert_eq!(r["tree_size"], serde_json::json!([100, 100]));
    assert_eq!(r["verification_failures"], 0);
    assert!(r["proofs"]["count"].as_u64().unwrap() > 0, "{r:#}");
    assert!(r["tile_proofs"]["count"].as_u64().unwrap() > 0, "{r:#}");
    assert!(r["tile_fetches"].as_u64().unwrap() > 0);

    // Proofs asked 64 at a time: every one verified, counted one by one.
    let r = hammer(
        &[
            &common[..],
            &[
                "--writers",
                "0",
                "--duration",
                "1",
                "--readers",
                "0",
                "--proof-readers",
                "1",
                "--proof-batch",
                "64",
            ],
        ]
        .concat(),
    );
    assert_eq!(r["verification_failures"], 0, "{r:#}");
    let proofs = r["proofs"]["count"].as_u64().unwrap();
    assert!(proofs >= 64 && proofs.is_multiple_of(64), "{r:#}");

    // A log that swaps one path hash of each batched answer for another is
    // caught: the reader computes every root itself.
    let real = server.addr;
    let lying = FakeHttp::start(move |req| match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/v1/proofs/inclusion") => {
            let (status, body) = http_post(real, "/v1/proofs/inclusion", &req.body).unwrap();
            let mut v: Value = serde_json::from_slice(&body).unwrap();
            v["entries"][0]["inclusion_proof"]["path"][0] = "00".repeat(32).into();
            (status, v.to_string().into_bytes())
        }
        (_, path) => http_get(real, path),
    });
    let lying_url = format!("http://{}", lying.addr);
    let (ok, r) = hammer_run(&[
        "--log",
        &lying_url,
        "--log-key",
        &key,
        "--writers",
        "0",
        "--duration",
        "1",
        "--readers",
        "0",
        "--proof-readers",
        "1",
        "--proof-batch",
        "8",
    ]);
    assert!(!ok, "{r:#}");
    assert!(r["verification_failures"].as_u64().unwrap() > 0, "{r:#}");
}
