//! The composite GitHub Action (`action.yml` at the repository root), run
//! as the Actions runner runs it: its `run:` steps in order, with
//! `bash --noprofile --norc -eo pipefail`, each step's `env:` resolved from
//! the inputs (their defaults from action.yml), the step outputs written to
//! `$GITHUB_OUTPUT` and the folders added to `$GITHUB_PATH`. The `uses:`
//! steps (actions/cache, upload-sarif) are GitHub's own; the cache is
//! played by keeping the home and workspace folders between runs.
//!
//! `cargo install` is not run here (a release build of the client takes
//! minutes): a `cargo` placed first on PATH records its arguments and
//! installs the `gatelog` binary this test run built.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml_ng::Value as Yaml;

use super::*;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn action() -> Yaml {
    let text = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

fn steps(action: &Yaml) -> &Vec<Yaml> {
    action["runs"]["steps"].as_sequence().unwrap()
}

fn text(v: &Yaml) -> &str {
    v.as_str().unwrap_or_default()
}

/// One step's result.
struct StepRun {
    name: String,
    code: i32,
    stdout: String,
    stderr: String,
}

/// The runner's state across runs: the home folder (where the cached
/// binary lives), the workspace (the checkout, with the state folder), and
/// a `cargo` that records how it was called.
struct Runner {
    home: PathBuf,
    workspace: PathBuf,
    fake_bin: PathBuf,
    cargo_calls: PathBuf,
    _tmp: tempfile::TempDir,
}

/// What a run of the action did.
struct Run {
    steps: Vec<StepRun>,
    outputs: BTreeMap<String, String>,
}

impl Run {
    fn step(&self, name: &str) -> &StepRun {
        self.steps
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("step {name} did not run"))
    }
}

impl Runner {
    fn new() -> Runner {
        let tmp = tempfile::tempdir().unwrap();
        let (home, workspace, fake_bin) = (
            tmp.path().join("home"),
            tmp.path().join("workspace"),
            tmp.path().join("fake-bin"),
        );
        for d in [&home, &workspace, &fake_bin] {
            std::fs::create_dir_all(d).unwrap();
        }
        let cargo_calls = tmp.path().join("cargo-calls");
        // Stands in for the build: records the arguments, installs the
        // binary built for this test run into --root.
        let cargo = format!(
            "#!/bin/bash\nset -e\necho \"$*\" >> '{calls}'\n\
             [ \"$1\" = install ] || exit 9\n\
             while [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=\"$2\"; shift; done\n\
             mkdir -p \"$root/bin\"\nln -sf '{bin}' \"$root/bin/gatelog\"\n",
            calls = cargo_calls.display(),
            bin = binary("gatelog").display()
        );
        std::fs::write(fake_bin.join("cargo"), cargo).unwrap();
        Command::new("chmod")
            .arg("+x")
            .arg(fake_bin.join("cargo"))
            .status()
            .unwrap();
        Runner {
            home,
            workspace,
            fake_bin,
            cargo_calls,
            _tmp: tmp,
        }
    }

    fn cargo_calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.cargo_calls)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Runs the action's steps with these inputs, as the runner would.
    fn run(&self, given: &[(&str, &str)]) -> Run {
        let action = action();
        let mut inputs: BTreeMap<String, String> = BTreeMap::new();
        for (name, spec) in action["inputs"].as_mapping().unwrap() {
            inputs.insert(text(name).to_owned(), text(&spec["default"]).to_owned());
        }
        for (k, v) in given {
            assert!(inputs.contains_key(*k), "action.yml has no input {k}");
            inputs.insert((*k).to_owned(), (*v).to_owned());
        }
        let mut outputs: BTreeMap<String, String> = BTreeMap::new();
        // actions/cache: the binary from an earlier run is restored.
        let cached = self.home.join(".gatelog/bin/gatelog").exists() && inputs["install"] != "none";
        outputs.insert(
            "bin-cache.cache-hit".into(),
            if cached { "true" } else { "false" }.into(),
        );
        let mut path: Vec<String> = vec![self.fake_bin.display().to_string()];
        let mut done = Vec::new();
        for step in steps(&action) {
            let Some(script) = step["run"].as_str() else {
                continue;
            };
            let name = text(&step["name"]).to_owned();
            let files = tempfile::tempdir().unwrap();
            let (script_file, output_file, path_file) = (
                files.path().join("step.sh"),
                files.path().join("output"),
                files.path().join("path"),
            );
            std::fs::write(&script_file, script).unwrap();
            std::fs::write(&output_file, "").unwrap();
            std::fs::write(&path_file, "").unwrap();
            let mut cmd = Command::new("bash");
            cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
                .arg(&script_file)
                .current_dir(&self.workspace)
                .env_clear()
                .env("HOME", &self.home)
                .env("PATH", format!("{}:/usr/bin:/bin", path.join(":")))
                .env("GITHUB_OUTPUT", &output_file)
                .env("GITHUB_PATH", &path_file);
            if let Some(env) = step["env"].as_mapping() {
                for (k, v) in env {
                    cmd.env(text(k), resolve(text(v), &inputs, &outputs));
                }
            }
            let out = cmd.output().unwrap();
            let id = text(&step["id"]);
            for line in std::fs::read_to_string(&output_file).unwrap().lines() {
                let (k, v) = line.split_once('=').expect("name=value");
                outputs.insert(format!("{id}.{k}"), v.to_owned());
            }
            let added = std::fs::read_to_string(&path_file).unwrap();
            for line in added.lines() {
                path.insert(0, line.to_owned());
            }
            let code = out.status.code().unwrap_or(-1);
            done.push(StepRun {
                name,
                code,
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
            if code != 0 {
                break;
            }
        }
        // The action's own outputs, from the steps'.
        let mut action_outputs = BTreeMap::new();
        for (name, spec) in action["outputs"].as_mapping().unwrap() {
            let value = resolve(text(&spec["value"]), &inputs, &outputs);
            action_outputs.insert(text(name).to_owned(), value);
        }
        Run {
            steps: done,
            outputs: action_outputs,
        }
    }
}

/// An env value of action.yml: literal text, or one `${{ … }}` expression
/// of the forms the action uses (anything else fails the test).
fn resolve(
    value: &str,
    inputs: &BTreeMap<String, String>,
    outputs: &BTreeMap<String, String>,
) -> String {
    let Some(expr) = value
        .strip_prefix("${{")
        .and_then(|v| v.strip_suffix("}}"))
        .map(str::trim)
    else {
        assert!(
            !value.contains("${{"),
            "unsupported expression in {value:?}"
        );
        return value.to_owned();
    };
    if let Some(name) = expr.strip_prefix("inputs.") {
        return inputs
            .get(name)
            .unwrap_or_else(|| panic!("no input {name}"))
            .clone();
    }
    if expr == "github.action_path" {
        return repo_root().display().to_string();
    }
    if let Some(rest) = expr.strip_prefix("steps.") {
        let (id, output) = rest.split_once(".outputs.").expect("steps.ID.outputs.NAME");
        return outputs
            .get(&format!("{id}.{output}"))
            .cloned()
            .unwrap_or_default();
    }
    panic!("unsupported expression {expr:?}")
}

#[test]
fn action_yml_is_composite_and_inputs_reach_scripts_only_through_env() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    for required in ["log", "log-key"] {
        assert_eq!(action["inputs"][required]["required"], true, "{required}");
    }
    let inputs = action["inputs"].as_mapping().unwrap();
    let mut runs = 0;
    for step in steps(&action) {
        if let Some(script) = step["run"].as_str() {
            runs += 1;
            assert_eq!(step["shell"], "bash", "{step:?}");
            // An input expanded into a script is code injection.
            assert!(!script.contains("${{"), "{script}");
        }
        for (_, v) in step["env"].as_mapping().into_iter().flatten() {
            if let Some(name) = text(v)
                .strip_prefix("${{ inputs.")
                .and_then(|n| n.strip_suffix(" }}"))
            {
                assert!(inputs.contains_key(name), "no input {name}");
            }
        }
    }
    assert_eq!(runs, 2, "install and verify");
    let uses: Vec<&Yaml> = steps(&action)
        .iter()
        .filter(|s| s["uses"].is_string())
        .collect();
    let state = uses
        .iter()
        .find(|s| text(&s["with"]["path"]) == "${{ inputs.state-dir }}")
        .expect("a step restores the state folder");
    assert!(text(&state["uses"]).starts_with("actions/cache@"));
    let upload = uses
        .iter()
        .find(|s| text(&s["uses"]).starts_with("github/codeql-action/upload-sarif@"))
        .expect("a step uploads the SARIF report");
    assert!(text(&upload["if"]).starts_with("always()"), "{upload:?}");
    assert_eq!(
        upload["with"]["sarif_file"],
        "${{ steps.verify.outputs.sarif-file }}"
    );
}

/// The SARIF results as (ruleId, level).
fn sarif_results(path: &Path) -> Vec<(String, String)> {
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(doc["version"], "2.1.0", "{doc}");
    doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap().to_owned(),
                r["level"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_action_installs_verifies_writes_sarif_and_keeps_the_state() {
    let log = NpmLog::with(&[]);
    let runner = Runner::new();
    let pnpm = formats().into_iter().find(|f| f.dir == "pnpm-v9").unwrap();
    let lockfile = std::fs::read(fixture_path(pnpm.dir).join(pnpm.file)).unwrap();
    std::fs::write(runner.workspace.join(pnpm.file), lockfile).unwrap();
    let url = log.log.url();
    let key = log.registry_key();
    let base = [
        ("log", url.as_str()),
        ("log-key", log.log.vkey.as_str()),
        ("registry-keys", key.as_str()),
    ];
    let with = |more: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        base.iter().chain(more).copied().collect()
    };

    // First run: nothing cached, so the client is installed from this
    // checkout; every package verifies; the SARIF holds the warnings.
    let run = runner.run(&with(&[("args", "--allow-git all")]));
    let root = runner.home.join(".gatelog");
    assert_eq!(
        runner.cargo_calls(),
        vec![format!(
            "install --locked --root {} --path {}/client",
            root.display(),
            repo_root().display()
        )]
    );
    let verify = run.step("Verify the lockfile");
    assert_eq!(verify.code, 0, "{} {}", verify.stdout, verify.stderr);
    assert_eq!(run.outputs["exit-code"], "0");
    assert_eq!(run.outputs["sarif-file"], "gatelog.sarif");
    let results = sarif_results(&runner.workspace.join("gatelog.sarif"));
    assert!(
        results.iter().all(|(_, level)| level == "warning"),
        "{results:?}"
    );
    assert!(results.contains(&("git-dependency".into(), "warning".into())));
    let state = runner.workspace.join(".gatelog-state");
    assert_eq!(
        std::fs::read_dir(&state).unwrap().count(),
        1,
        "checkpoint kept"
    );

    // Cached binary: no build. npm 12's default refuses the git dependency:
    // the step fails with exit 1 and the SARIF holds the error.
    let run = runner.run(&with(&[]));
    assert_eq!(runner.cargo_calls().len(), 1, "the cached binary is used");
    assert_eq!(
        run.step("Install gatelog").stdout,
        "gatelog restored from the cache\n"
    );
    assert_eq!(run.step("Verify the lockfile").code, 1);
    assert_eq!(run.outputs["exit-code"], "1");
    let results = sarif_results(&runner.workspace.join("gatelog.sarif"));
    assert!(
        results.contains(&("git-dependency".into(), "error".into())),
        "{results:?}"
    );

    // No SARIF file: the text report in the job log.
    let run = runner.run(&with(&[("args", "--allow-git all"), ("sarif-file", "")]));
    let verify = run.step("Verify the lockfile");
    assert_eq!(verify.code, 0, "{}", verify.stderr);
    assert!(verify.stdout.ends_with("OK\n"), "{}", verify.stdout);
    assert_eq!(run.outputs["sarif-file"], "");

    // A witness policy the log's checkpoint does not meet (this log has no
    // witnesses): exit 1, and the error names the quorum.
    let witness = gatelog_core::SignerKey::from_seed(
        "witness.example/w1",
        gatelog_core::SignatureType::Cosignature,
        &[9; 32],
    )
    .unwrap();
    let policy = runner.workspace.join("witnesses.policy");
    std::fs::write(
        &policy,
        format!("witness W1 {}\nquorum W1\n", witness.verifier()),
    )
    .unwrap();
    let policy = policy.display().to_string();
    let run = runner.run(
        &with(&[("args", "--allow-git all"), ("sarif-file", "")])
            .into_iter()
            .chain([("witness-policy", policy.as_str())])
            .collect::<Vec<_>>(),
    );
    let verify = run.step("Verify the lockfile");
    assert_eq!(verify.code, 1, "{}", verify.stderr);
    assert!(
        verify.stderr.contains("witness quorum not met"),
        "{}",
        verify.stderr
    );

    // The restored state folder catches a log that rolled back (same key,
    // a shorter history): exit 1, SECURITY ERROR.
    drop(log);
    let other = NpmLog::with(&[("ms", History::Absent)]);
    let other_url = other.log.url();
    let rolled = [
        ("log", other_url.as_str()),
        ("log-key", other.log.vkey.as_str()),
        ("registry-keys", key.as_str()),
        ("args", "--allow-git all"),
    ];
    let run = runner.run(&rolled);
    let verify = run.step("Verify the lockfile");
    assert_eq!(verify.code, 1, "{}", verify.stderr);
    assert!(
        verify.stderr.contains("SECURITY ERROR"),
        "{}",
        verify.stderr
    );
    // A log that cannot be reached: exit 3 (nothing decided, nothing to
    // upload).
    let down = [
        ("log", "http://127.0.0.1:9"),
        ("log-key", other.log.vkey.as_str()),
        ("registry-keys", key.as_str()),
    ];
    let run = runner.run(&down);
    assert_eq!(run.step("Verify the lockfile").code, 3);
    assert_eq!(run.outputs["exit-code"], "3");
}

#[test]
fn the_install_step_refuses_bad_input_and_builds_from_git() {
    let runner = Runner::new();
    let base = [("log", "http://127.0.0.1:9"), ("log-key", "unused")];
    let with = |more: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        base.iter().chain(more).copied().collect()
    };
    for (inputs, message) in [
        (
            with(&[("install", "brew")]),
            "::error::install must be path, git or none, not 'brew'",
        ),
        (
            with(&[("install", "none")]),
            "::error::install is none, but gatelog is not on PATH",
        ),
        (
            with(&[("install", "git")]),
            "::error::install is git, but git-url is empty",
        ),
    ] {
        let run = runner.run(&inputs);
        let install = run.step("Install gatelog");
        assert_eq!(install.code, 2, "{inputs:?}");
        assert!(install.stdout.contains(message), "{}", install.stdout);
        assert_eq!(run.steps.len(), 1, "nothing runs after a bad input");
    }
    assert!(runner.cargo_calls().is_empty(), "nothing was built");
    let run = runner.run(&with(&[
        ("install", "git"),
        ("git-url", "https://example.invalid/gatelog.git"),
        ("git-ref", "0123abc"),
    ]));
    assert_eq!(run.step("Install gatelog").code, 0);
    assert_eq!(
        runner.cargo_calls(),
        vec![format!(
            "install --locked --root {} --git https://example.invalid/gatelog.git --rev 0123abc gatelog-client",
            runner.home.join(".gatelog").display()
        )]
    );
    // The installed gatelog is the one on PATH for the next step: it ran
    // and could not reach the log (a bad log key is a usage error).
    let verify = run.step("Verify the lockfile");
    assert_eq!(verify.code, 2, "{}", verify.stderr);
}
