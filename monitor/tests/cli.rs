//! The binary's command line: errors name what to fix and exit 2. (This
//! file also makes `cargo test` build the binary for the end-to-end tests.)

use std::process::Command;

fn monitor(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gatelog-monitor"))
        .args(args)
        .env_remove("GATELOG_MONITOR_LOG")
        .env_remove("GATELOG_MONITOR_LOG_KEY")
        .env_remove("GATELOG_MONITOR_STATE")
        .output()
        .expect("run gatelog-monitor");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn key() -> String {
    gatelog_core::SignerKey::from_seed(
        "log.example/gatelog",
        gatelog_core::SignatureType::Ed25519,
        &[1; 32],
    )
    .unwrap()
    .verifier()
    .to_string()
}

#[test]
fn missing_and_bad_settings_exit_2_with_the_fix() {
    let (code, err) = monitor(&[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--log URL is required"), "{err}");
    let (code, err) = monitor(&[
        "--log",
        "http://127.0.0.1:9",
        "--log-key",
        "x",
        "--state",
        "s",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--log-key"), "{err}");
    // Registry keys are required; running without is an explicit choice.
    let key = key();
    let (code, err) = monitor(&[
        "--log",
        "http://127.0.0.1:9",
        "--log-key",
        &key,
        "--state",
        "s",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--registry-key VKEY is required"), "{err}");
}

#[test]
fn without_registry_keys_the_monitor_warns_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let key = key();
    let state = dir.path().join("state");
    let (code, err) = monitor(&[
        "--log",
        "http://127.0.0.1:9",
        "--log-key",
        &key,
        "--state",
        state.to_str().unwrap(),
        "--once",
        "--start-at-end",
        "--allow-unauthenticated",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("WARNING: running without registry keys"),
        "{err}"
    );
}

#[test]
fn an_empty_state_needs_an_explicit_start() {
    let dir = tempfile::tempdir().unwrap();
    let key = key();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let base = [
        "--log",
        "http://127.0.0.1:9",
        "--log-key",
        &key,
        "--state",
        state,
        "--once",
        "--registry-key",
        &key,
    ];
    let (code, err) = monitor(&base);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--start-at 0"), "{err}");
    // With a start but no log to read its end from: unreachable, exit 3.
    let mut args = base.to_vec();
    args.push("--start-at-end");
    let (code, err) = monitor(&args);
    assert_eq!(code, 3, "{err}");
}
