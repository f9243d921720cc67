//! `gatelog-bulk-load` end to end: a bulk-loaded folder opens in the real
//! server (which runs its startup check), serves entries and proofs the
//! client and the monitor verify, keeps accepting entries over HTTP, and a
//! second load into the same folder is refused without touching it.

use std::path::Path;
use std::process::{Command, Output};

use base64::Engine as _;
use gatelog_e2e::{Server, binary, run};
use serde_json::Value;

const ORIGIN: &str = "bulk.test/log";
const PACKAGES: u64 = 100;
const FIRST_RELEASE: u64 = 10_000_000;

fn bulk_load(data: &Path, entries: u64) -> Output {
    run(
        "gatelog-bulk-load",
        &[
            "--data",
            &data.display().to_string(),
            "--entries",
            &entries.to_string(),
            "--origin",
            ORIGIN,
            "--packages",
            &PACKAGES.to_string(),
            "--batch",
            "500",
            "--json",
        ],
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A lockfile of the first `n` loaded releases: release `FIRST_RELEASE + p`
/// is package p at version 1.(release / PACKAGES).0, its tarball
/// `release-<release>.tgz` (the hammer's workload).
fn lockfile(n: u64) -> String {
    let mut packages = serde_json::Map::new();
    packages.insert(
        String::new(),
        serde_json::json!({"name": "bench", "version": "1.0.0"}),
    );
    for p in 0..n {
        let release = FIRST_RELEASE + p;
        let name = format!("@hammer/pkg-{p}");
        let version = format!("1.{}.0", release / PACKAGES);
        let digest = <sha2::Sha512 as sha2::Digest>::digest(format!("release-{release}.tgz"));
        packages.insert(
            format!("node_modules/{name}"),
            serde_json::json!({
                "version": version,
                "integrity": format!("sha512-{}", base64::engine::general_purpose::STANDARD.encode(digest)),
                "resolved": format!("https://hammer.registry.test/{name}/-/pkg-{p}-{version}.tgz"),
            }),
        );
    }
    serde_json::json!({"name": "bench", "version": "1.0.0", "lockfileVersion": 3, "packages": packages})
        .to_string()
}

#[test]
fn a_bulk_loaded_log_serves_verified_proofs_and_refuses_a_second_load() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("log");
    let out = bulk_load(&data, 3000);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    // 97 device registrations, then ceil((3000 - 97) / 3) = 968 chains.
    let entries = summary["entries"].as_u64().unwrap();
    assert_eq!(entries, 97 + 3 * 968);
    let vkey = summary["verifier_key"].as_str().unwrap().to_owned();
    let registry_key = text(&run("gatelog-lab", &["hammer", "--print-registry-key"]).stdout)
        .trim()
        .to_owned();

    // The real server starts on the folder (its startup check passes) and
    // serves the loaded tree.
    let server = Server::start_with(&data, ORIGIN, &["--submitter-key", &registry_key]);
    let url = format!("http://{}", server.addr);
    let (status, body) = server.get("/checkpoint");
    assert_eq!(status, 200);
    assert_eq!(text(&body), summary["checkpoint"].as_str().unwrap());
    assert!(
        text(&body).contains(&format!("\n{entries}\n")),
        "{}",
        text(&body)
    );

    // Inclusion proofs of the first, a middle and the last entry verify.
    for index in [0, entries / 2, entries - 1] {
        let out = run(
            "gatelog",
            &[
                "proof",
                "inclusion",
                "--index",
                &index.to_string(),
                "--log",
                &url,
                "--log-key",
                &vkey,
            ],
        );
        assert!(out.status.success(), "entry {index}: {}", text(&out.stderr));
    }
    let out = run(
        "gatelog",
        &[
            "entry",
            &(entries - 1).to_string(),
            "--log",
            &url,
            "--log-key",
            &vkey,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("publish"),
        "{}",
        text(&out.stdout)
    );

    // Loaded releases pass `gatelog verify` (stage, device-signed approval
    // and publish over the same tarball).
    let lock = dir.path().join("package-lock.json");
    std::fs::write(&lock, lockfile(20)).unwrap();
    let out = run(
        "gatelog",
        &[
            "verify",
            "--lockfile",
            &lock.display().to_string(),
            "--log",
            &url,
            "--log-key",
            &vkey,
            "--registry-key",
            &registry_key,
            "--no-state",
            "--format",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    // The monitor audits every entry, registry signatures included, and
    // finds nothing wrong with the honest workload. Its registry times are
    // months before the log clock (the hammer's story) and thousands are
    // logged a second, so time-skew is off and recency windows read the
    // registry's times.
    let config = dir.path().join("monitor.toml");
    std::fs::write(
        &config,
        "[rules]\ndisabled = [\"time-skew\"]\nrecency_clock = \"registry\"\n",
    )
    .unwrap();
    let out = Command::new(binary("gatelog-monitor"))
        .args(["--once", "--quiet", "--log", &url, "--log-key", &vkey])
        .args(["--config", &config.display().to_string()])
        .args(["--registry-key", &registry_key, "--start-at", "0"])
        .args(["--state", &dir.path().join("monitor").display().to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!("verified {entries} entries")),
        "{}",
        text(&out.stderr)
    );

    // The log keeps growing through its server: the hammer's releases
    // (numbered from 0) are new entries, not resubmissions of loaded ones.
    let out = run(
        "gatelog-lab",
        &[
            "hammer",
            "--log",
            &url,
            "--log-key",
            &vkey,
            "--releases",
            "50",
            "--packages",
            "100",
            "--readers",
            "0",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verification_failures"], 0);
    assert_eq!(report["tree_size"][0].as_u64(), Some(entries));
    assert_eq!(report["tree_size"][1].as_u64(), Some(entries + 3 * 50));

    // A second load into the folder of a log is refused, even with the
    // server stopped, and the log is left as it was.
    let (_, before) = server.get("/checkpoint");
    drop(server);
    let out = bulk_load(&data, 3000);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("not empty"),
        "{}",
        text(&out.stderr)
    );
    let server = Server::start_with(&data, ORIGIN, &[]);
    assert_eq!(server.get("/checkpoint").1, before);
    drop(server);

    // So is any folder that already holds something.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "keep").unwrap();
    let out = bulk_load(&other, 3000);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);
}
