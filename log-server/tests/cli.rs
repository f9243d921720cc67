//! The `gatelog-server` binary's command line, run as a user would.

use std::process::Command;

fn server(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gatelog-server"))
        .args(args)
        .env_remove("GATELOG_CONFIG")
        .env_remove("GATELOG_LOG_KEY")
        .output()
        .expect("run gatelog-server")
}

#[test]
fn help_documents_every_option() {
    let out = server(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--config",
        "--data",
        "--listen",
        "--origin",
        "--submitter-key",
        "--batch-interval-ms",
        "--max-batch",
        "--pool-size",
        "--rate-limit",
        "--rate-burst",
        "--request-timeout-secs",
        "--max-checkpoint-lag-secs",
        "--log-format",
        "--time-skew-ahead-secs",
        "--time-skew-behind-secs",
    ] {
        assert!(help.contains(flag), "--help does not mention {flag}");
    }
}

#[test]
fn configuration_errors_exit_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "listen = 5\n").unwrap();
    let out = server(&["--config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml"));
    let out = server(&["--submitter-key", "garbage"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("garbage"));
}

#[test]
fn check_needs_a_log_and_a_key_and_says_so() {
    let empty = tempfile::tempdir().unwrap();
    let path = empty.path().display().to_string();
    let out = server(&["check", "--data", &path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no log"));
    assert!(!empty.path().join("db").exists(), "check created nothing");
    // A store, but no key to verify its checkpoint with.
    let log = tempfile::tempdir().unwrap();
    drop(gatelog_server::store::rocks::RocksStore::open(&log.path().join("db")).unwrap());
    let path = log.path().display().to_string();
    let out = server(&["check", "--data", &path]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no log key"));
    let out = server(&["check", "--data", &path, "--log-key", "nonsense"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--log-key"));
    let out = server(&["check", "--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--data") && help.contains("--log-key"),
        "{help}"
    );
}
