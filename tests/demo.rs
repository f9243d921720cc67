//! `gatelog-lab demo --no-wait`, as `make demo` runs it but without waiting for
//! Ctrl-C: the real server and monitor, the whole story, both lockfiles,
//! and the registry chapter with the real npm CLI of tools/ (scripts/tools.sh).
//! It must succeed, tell every attack, show the log's refusal and both
//! verification outcomes, play the registry chapter (stage, install refused,
//! approve, install, audit signatures, verify, the leaked token refused and
//! caught) with those events in the log, say in one line when npm is not
//! found, replace its previous run, refuse a folder that is not its own, and
//! leave no process behind.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_e2e::{Server, binary};
use gatelog_lab::sample::Story;
use gatelog_lab::sample::story::STORY_LOG_ORIGIN;
use serde_json::Value;

/// The repository root, where `make demo` runs the demo (npm in tools/).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The demo in the folder `cwd`.
fn demo_in(cwd: &Path, data: &Path) -> Output {
    Command::new(binary("gatelog-lab"))
        .args(["demo", "--no-wait", "--data"])
        .arg(data)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("run gatelog-lab demo")
}

/// The demo as `make demo` runs it, from the repository root.
fn demo(data: &Path) -> Output {
    let npm = root().join("tools/node_modules/.bin/npm");
    assert!(
        npm.exists(),
        "{} is missing: install the pinned npm with `scripts/tools.sh` (make test runs it)",
        npm.display()
    );
    // The chapter runs the registry from the demo's folder.
    binary("gatelog-registry");
    demo_in(&root(), data)
}

/// The events the log in `data/log` holds for `package` of the registry
/// `host`, read through a server started on it after the demo.
fn logged_events(data: &Path, host: &str, package: &str) -> Vec<Value> {
    let server = Server::start(&data.join("log"), STORY_LOG_ORIGIN);
    let (status, body) = server.get(&format!(
        "/v1/events?registry={host}&package={package}&limit=1000"
    ));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200, "{v}");
    let decode = |s: &Value| STANDARD.decode(s.as_str().unwrap()).unwrap();
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let leaf: Value = serde_json::from_slice(&decode(&e["leaf"])).unwrap();
            serde_json::from_slice(&decode(&leaf["envelope"]["payload"])).unwrap()
        })
        .collect()
}

/// The registry chapter's output, from its heading to the summary.
fn chapter(stdout: &str) -> &str {
    let start = stdout
        .find("The registry chapter: the real npm CLI through gatelog-registry")
        .unwrap_or_else(|| panic!("no registry chapter in\n{stdout}"));
    let end = stdout.find("\nSummary").unwrap();
    &stdout[start..end]
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
    assert!(
        !stdout.contains("alerted on an ordinary chapter"),
        "{stdout}"
    );

    // The registry chapter, with the real npm CLI.
    let npm = chapter(&stdout);
    let host = address(&stdout, "gatelog-registry on");
    for said in [
        "npm       npm 11.",
        "✓ logged policy-change: staged publishing of demo-widget is required",
        "$ npm stage publish  (CI, in demo-widget-1.0.0/)",
        "staged with id",
        "$ npm stage list --json  (alice, in demo-widget-1.0.0/)",
        "✓ exit 0: demo-widget@1.0.0 is staged (id ",
        "✓ install refused before approval: 404",
        "approved and published",
        "✓ install ok after approval: added 1 package",
        "✓ audit signatures ok: 1 package has a verified registry signature",
        "✓ exit 0: verified demo-widget@1.0.0",
        "$ npm publish  (the attacker, with alice's leaked publish token, in demo-widget-1.0.1/)",
        "✓ refused by the registry: 403",
        "requires staged publishing",
        "CRITICAL publish-without-approval  demo-helper@1.0.0",
        "✓ caught by the monitor: publish-without-approval",
        "demo-helper@1.0.0  publish-without-approval  entry ",
        "✓ exit 1 as it should: demo-helper@1.0.0 fails publish-without-approval",
    ] {
        assert!(stdout.contains(said), "{said:?} not in\n{npm}");
    }
    assert!(!npm.contains('✗'), "{npm}");
    assert!(
        stdout.contains("registry chapter with npm 11.") && stdout.contains("refused with 403"),
        "{stdout}"
    );
    for kind in [
        "policy-change demo-widget",
        "stage demo-widget@1.0.0",
        "approve demo-widget@1.0.0",
        "publish demo-widget@1.0.0 (via: staged)",
        "publish demo-helper@1.0.0 (via: direct)",
    ] {
        assert!(npm.contains(kind), "{kind:?} not recorded in\n{npm}");
    }
    // The lockfile npm wrote names both versions from the registry.
    let lock: Value = serde_json::from_slice(
        &std::fs::read(data.join("npm/consumer-app/package-lock.json")).unwrap(),
    )
    .unwrap();
    for (package, version) in [("demo-widget", "1.0.0"), ("demo-helper", "1.0.0")] {
        let entry = &lock["packages"][format!("node_modules/{package}")];
        assert_eq!(entry["version"], version, "{lock}");
        assert!(
            entry["resolved"]
                .as_str()
                .unwrap()
                .starts_with(&format!("http://{host}/")),
            "{entry}"
        );
    }
    // The log holds what the registry logged, read back after the demo.
    let widget = logged_events(&data, &host, "demo-widget");
    let types: Vec<&str> = widget.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "policy-change",
            "maintainer-add",
            "stage",
            "device-register",
            "approve",
            "publish"
        ],
        "{widget:?}"
    );
    let integrity = &widget[2]["integrity"];
    for e in &widget[2..] {
        assert!(e["version"].is_null() || e["version"] == "1.0.0", "{e}");
    }
    assert_eq!(widget[4]["integrity"], *integrity);
    assert_eq!(widget[5]["integrity"], *integrity);
    assert_eq!(widget[5]["via"], "staged");
    assert_eq!(widget[0]["staged_publishing"], "required");
    let helper = logged_events(&data, &host, "demo-helper");
    let last = helper.last().expect("demo-helper events");
    assert_eq!(
        (&last["type"], &last["version"], &last["via"]),
        (&"publish".into(), &"1.0.0".into(), &"direct".into()),
        "{helper:?}"
    );
    // The refused publish of demo-widget@1.0.1 left nothing.
    assert!(
        !widget.iter().any(|e| e["version"] == "1.0.1"),
        "{widget:?}"
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

    // The children are gone.
    for label in ["gatelog-server on", "metrics on", "gatelog-registry on"] {
        let addr = address(&stdout, label);
        assert!(
            TcpStream::connect(&addr).is_err(),
            "{label} {addr} still answers"
        );
    }

    // A second run replaces the first; from a folder without tools/ it
    // finds no npm, says so in one line and plays the rest.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let again = demo_in(&elsewhere, &data);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert_eq!(again.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("removed the previous demo in"), "{stdout}");
    assert!(
        stdout.contains(
            "npm not found in tools/: run `make tools` to play the registry chapter with the real \
             npm CLI"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("The registry chapter:"), "{stdout}");
    assert!(
        stdout.contains("✓ everything happened as the story says"),
        "{stdout}"
    );
    assert!(!data.join("registry").exists());

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
