//! The `gatelog` binary, run as a user would.

use std::process::Command;

use gatelog_core::keys::SignerKey;

fn gatelog(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gatelog"))
        .args(args)
        .output()
        .expect("run gatelog")
}

#[test]
fn keygen_prints_a_private_and_a_verifier_key() {
    let out = gatelog(&["keygen", "--name", "registry.example", "--role", "registry"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let sk = SignerKey::parse(lines.next().unwrap()).unwrap();
    assert_eq!(lines.next().unwrap(), sk.verifier().to_string());
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(
        gatelog(&["keygen", "--name", "has space"]).status.code(),
        Some(2)
    );
    assert_eq!(gatelog(&["no-such-command"]).status.code(), Some(2));
}
