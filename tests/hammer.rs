//! `gatelog-lab hammer` against the real server: a paced run with every kind of
//! reader, then a reads-only run at the size it left.

use gatelog_e2e::{Server, run};
use serde_json::Value;

const ORIGIN: &str = "e2e.gatelog.test/hammer";

fn hammer(args: &[&str]) -> Value {
    let out = run("gatelog-lab", &[&["hammer", "--json"], args].concat());
    assert!(
        out.status.success(),
        "hammer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON report")
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
}
