//! The real `gatelog-server` binary, spoken to over real HTTP.

use gatelog_core::checkpoint;
use gatelog_core::keys::SignerKey;
use gatelog_e2e::{Server, run};

const ORIGIN: &str = "e2e.gatelog.test/log";

fn log_key(data: &std::path::Path) -> SignerKey {
    SignerKey::parse(&std::fs::read_to_string(data.join("log.key")).unwrap()).unwrap()
}

#[test]
fn serves_a_signed_checkpoint_that_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), ORIGIN);
    let (status, body) = server.get("/checkpoint");
    assert_eq!(status, 200);
    let vkey = log_key(dir.path()).verifier();
    let first = checkpoint::open(&body, &vkey).expect("checkpoint verifies with the log key");
    assert_eq!(first.head().size.0, 0);
    let (status, health) = server.get("/healthz");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&health).contains("\"tree_size\":0"));
    drop(server);

    // Same data folder: same key, same checkpoint.
    let server = Server::start(dir.path(), ORIGIN);
    let (_, again) = server.get("/checkpoint");
    assert_eq!(again, body);
}

#[test]
fn refuses_to_start_with_a_key_for_another_origin() {
    let dir = tempfile::tempdir().unwrap();
    drop(Server::start(dir.path(), ORIGIN));
    let out = run(
        "gatelog-server",
        &[
            "--data",
            &dir.path().display().to_string(),
            "--origin",
            "other.test/log",
            "--listen",
            "127.0.0.1:0",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("other.test/log"), "{err}");
}
