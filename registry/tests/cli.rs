//! The `gatelog-registry` binary's command line (this test also makes
//! `cargo test --workspace` build the binary the end-to-end tests start).

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_gatelog-registry");

#[test]
fn key_is_created_once_and_named_after_the_registry_host() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = |listen: &str| {
        let out = Command::new(BIN)
            .args([
                "key",
                "--data",
                &data.display().to_string(),
                "--listen",
                listen,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let first = key("127.0.0.1:4873");
    assert!(first.starts_with("127.0.0.1:4873+"), "{first}");
    assert_eq!(key("127.0.0.1:4873"), first);
    // Another host names the same key material differently.
    let other = key("127.0.0.1:4874");
    assert!(other.starts_with("127.0.0.1:4874+"), "{other}");
    assert_eq!(other.rsplit('+').next(), first.rsplit('+').next());
}

#[test]
fn admin_refuses_bad_names_and_unknown_users() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(["admin", "--data", &data])
            .args(args)
            .output()
            .unwrap()
    };
    assert!(!run(&["user-add", "Not Valid"]).status.success());
    let out = run(&["token-create", "nobody", "--kind", "publish"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user nobody"));
    assert!(
        !run(&["token-create", "nobody", "--kind", "admin"])
            .status
            .success()
    );
}
