//! `gatelog-lab demo --no-wait`, as `make demo` runs it but without waiting for
//! Ctrl-C: the real server and monitor, the whole story, both lockfiles.
//! It must succeed, tell every attack, show the log's refusal and both
//! verification outcomes, replace its previous run, refuse a folder that
//! is not its own, and leave no process behind.

use std::net::TcpStream;
use std::process::{Command, Output};

use gatelog_e2e::binary;
use gatelog_lab::sample::Story;

fn demo(data: &std::path::Path) -> Output {
    Command::new(binary("gatelog-lab"))
        .args(["demo", "--no-wait", "--data"])
        .arg(data)
        .env("NO_COLOR", "1")
        .output()
        .expect("run gatelog-lab demo")
}

/// The `host:port` after `label http://` on the line that has it.
fn address(stdout: &str, label: &str) -> String {
    let line = stdout
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no {label:?} line in\n{stdout}"));
    let url = &line[line.find("http://").expect("a URL") + "http://".len()..];
    url.split(|c: char| c == ',' || c == '/' || c.is_whitespace())
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn the_demo_tells_every_attack_and_both_lockfile_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo-data");
    let out = demo(&data);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains("\x1b["),
        "no colour when not on a terminal"
    );

    let story = Story::new();
    for chapter in story.chapters().iter().filter(|c| c.attack) {
        assert!(
            stdout.contains(chapter.title),
            "{}\n{stdout}",
            chapter.title
        );
        if let Some(incident) = chapter.incident {
            assert!(stdout.contains(incident), "{incident}\n{stdout}");
        }
    }
    assert!(
        stdout.contains("refused by the log (HTTP 400): device_signature does not verify"),
        "{stdout}"
    );
    assert!(stdout.contains("exit 0: verified 70 packages"), "{stdout}");
    assert!(
        stdout.contains("exit 1: 10 of 19 packages failed"),
        "{stdout}"
    );
    assert!(stdout.contains("✓ match"), "{stdout}");
    assert!(
        stdout.contains(
            "11 attacks, 10 caught by the monitor and 1 refused by the log itself; honest \
             lockfile passed;"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("attacked lockfile failed (10 packages)"),
        "{stdout}"
    );
    for file in [
        "honest-app/package-lock.json",
        "attacked-app/package-lock.json",
        "log-server.log",
        "monitor.log",
        "log/log.key",
    ] {
        assert!(data.join(file).is_file(), "{file}");
    }

    // Both children are gone.
    for label in ["gatelog-server on", "metrics on"] {
        let addr = address(&stdout, label);
        assert!(
            TcpStream::connect(&addr).is_err(),
            "{label} {addr} still answers"
        );
    }

    // A second run replaces the first.
    let again = demo(&data);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("removed the previous demo in"), "{stdout}");

    // A folder that is not the demo's is left alone.
    let other = dir.path().join("mine");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("keep.txt"), "mine").unwrap();
    let refused = demo(&other);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("is not a gatelog demo folder"), "{stderr}");
    assert!(other.join("keep.txt").is_file());
}
