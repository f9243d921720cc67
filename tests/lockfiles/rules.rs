//! Formats × rules: an honest history verifies in every format; each
//! failure rule fires in every format; npm's install-source switches change
//! the verdict on the same non-registry packages in every format.

use super::*;

/// The non-registry packages of the project and their rules.
/// (package, rule, the switch its message names).
type Kind = (&'static str, &'static str, &'static str);
const GIT: Kind = ("gitdep", "git-dependency", "--allow-git");
const FILE: Kind = ("tiny", "file-dependency", "--allow-file");
const DIRECTORY: Kind = ("local-dep", "directory-dependency", "--allow-directory");
const REMOTE: Kind = ("through", "remote-dependency", "--allow-remote");

#[test]
fn an_honest_history_verifies_every_format_legacy_names_included() {
    let log = NpmLog::with(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let want: Vec<(String, String)> = registry_packages()
        .into_iter()
        .map(|(n, v, _)| (n, v))
        .collect();
    assert!(want.iter().any(|(n, _)| n == "JSONStream"));
    for f in formats() {
        let dir = copy(&f, tmp.path(), None);
        let state = tmp.path().join(format!("{}-state", f.dir));
        let (code, report, err) = verify(&log, &dir, &state, &["--allow-git", "all"]);
        assert_eq!(code, 0, "{}: {report} {err}", f.dir);
        assert!(
            report["lockfile"].as_str().unwrap().ends_with(f.file),
            "{}: found {}",
            f.dir,
            report["lockfile"]
        );
        assert_eq!(report["passed"], true, "{}", f.dir);
        assert_eq!(report["counts"]["failed"], 0, "{}: {report}", f.dir);
        // Every registry package, the alias `lp` as left-pad and the legacy
        // name JSONStream included, proven in the log.
        assert_eq!(verified(&report), want, "{}: {report}", f.dir);
        for (name, _, _) in registry_packages() {
            let warning = f.berry.then_some("yarn-checksum");
            expect(f.dir, &report, &name, "verified", warning);
            if !f.berry {
                for p in entries(&report, &name) {
                    assert_eq!(p["warnings"], serde_json::json!([]), "{}: {p}", f.dir);
                    assert_eq!(p["registry"], NPMJS, "{}: {p}", f.dir);
                }
            }
        }
        // What cannot be checked is reported, each under its own rule.
        for (name, rule, _) in [GIT, FILE, DIRECTORY] {
            expect(f.dir, &report, name, "skipped", Some(rule));
        }
        assert!(
            report["checkpoint"]["origin"] == ORIGIN,
            "{}: {report}",
            f.dir
        );
        // The text report says the same.
        let out = std::process::Command::new(binary("gatelog"))
            .args(["verify", "--no-state", "--allow-git", "all"])
            .args(["--log", &log.log.url(), "--log-key", &log.log.vkey])
            .arg("--registry-key")
            .arg(log.registry_key())
            .arg("--lockfile")
            .arg(&dir)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{}: {text}", f.dir);
        assert!(text.ends_with("OK\n"), "{}: {text}", f.dir);
        assert!(
            text.contains("git-dependency: installed from a git repository"),
            "{}: {text}",
            f.dir
        );
    }
}

#[test]
fn every_failure_rule_fires_in_every_format() {
    // ms published with no approval, react's logged tarball is another one,
    // js-tokens never logged, loose-envify approved with an SMS code;
    // the rest honest.
    let log = NpmLog::with(&[
        ("ms", History::Direct),
        ("react", History::OtherTarball),
        ("js-tokens", History::Absent),
        ("loose-envify", History::Sms),
    ]);
    let tmp = tempfile::tempdir().unwrap();
    for f in formats() {
        let dir = copy(&f, tmp.path(), None);
        let state = tmp.path().join(format!("{}-state", f.dir));
        let (code, report, err) = verify(&log, &dir, &state, &["--allow-git", "all"]);
        assert_eq!(code, 1, "{}: {report} {err}", f.dir);
        assert_eq!(report["passed"], false, "{}", f.dir);
        expect(
            f.dir,
            &report,
            "ms",
            "failed",
            Some("publish-without-approval"),
        );
        expect(f.dir, &report, "js-tokens", "failed", Some("not-logged"));
        expect(
            f.dir,
            &report,
            "loose-envify",
            "failed",
            Some("weak-second-factor"),
        );
        if f.berry {
            // Yarn Berry pins no tarball digest: a logged tarball that differs
            // from the one Yarn installs cannot be seen. The release itself
            // checks out, so it verifies with the yarn-checksum warning.
            expect(f.dir, &report, "react", "verified", Some("yarn-checksum"));
            for p in entries(&report, "react") {
                assert!(
                    !rule_ids(p, "findings").contains(&"integrity-mismatch".to_owned()),
                    "{p}"
                );
            }
        } else {
            expect(
                f.dir,
                &report,
                "react",
                "failed",
                Some("integrity-mismatch"),
            );
        }
        // Only those: the legacy name and the others still verify.
        let failed: Vec<&str> = report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["status"] == "failed")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let mut want = vec!["js-tokens", "loose-envify", "ms"];
        if !f.berry {
            want.push("react");
        }
        let mut got = failed.clone();
        got.sort_unstable();
        got.dedup();
        assert_eq!(got, want, "{}: {report}", f.dir);
        expect(f.dir, &report, "JSONStream", "verified", None);
        // The policy's opt-out turns the failures into skips.
        let (code, report, err) = verify(
            &log,
            &dir,
            &state,
            &[
                "--allow-git",
                "all",
                "--allow",
                "ms",
                "--allow",
                "react",
                "--allow",
                "js-tokens",
                "--allow",
                "loose-envify",
            ],
        );
        assert_eq!(code, 0, "{}: {report} {err}", f.dir);
        expect(f.dir, &report, "ms", "skipped", None);
    }
}

/// One run of the switches: the flags, whether the remote-tarball edit is
/// applied, the package looked at, and its (status, rule) by whether the
/// format knows which dependencies are direct.
struct Case {
    flags: &'static [&'static str],
    remote: bool,
    package: Kind,
    /// Status when the format records direct dependencies, and when not.
    status: (&'static str, &'static str),
}

const CASES: &[Case] = &[
    // npm 12's defaults: git refused.
    Case {
        flags: &[],
        remote: false,
        package: GIT,
        status: ("failed", "failed"),
    },
    // gitdep is a dependency of no package.json: root refuses it.
    Case {
        flags: &["--allow-git", "root"],
        remote: false,
        package: GIT,
        status: ("failed", "failed"),
    },
    Case {
        flags: &["--allow-git", "all"],
        remote: false,
        package: GIT,
        status: ("skipped", "skipped"),
    },
    // Local tarballs and folders: allowed by default, refused by none;
    // root allows the project's own (unknown to Yarn classic: refused).
    Case {
        flags: &["--allow-git", "all"],
        remote: false,
        package: FILE,
        status: ("skipped", "skipped"),
    },
    Case {
        flags: &["--allow-git", "all", "--allow-file", "none"],
        remote: false,
        package: FILE,
        status: ("failed", "failed"),
    },
    Case {
        flags: &["--allow-git", "all", "--allow-file", "root"],
        remote: false,
        package: FILE,
        status: ("skipped", "failed"),
    },
    Case {
        flags: &["--allow-git", "all", "--allow-directory", "none"],
        remote: false,
        package: DIRECTORY,
        status: ("failed", "failed"),
    },
    Case {
        flags: &["--allow-git", "all", "--allow-directory", "root"],
        remote: false,
        package: DIRECTORY,
        status: ("skipped", "failed"),
    },
    // A tarball from elsewhere than the registry: refused by default.
    Case {
        flags: &["--allow-git", "all"],
        remote: true,
        package: REMOTE,
        status: ("failed", "failed"),
    },
    Case {
        flags: &["--allow-git", "all", "--allow-remote", "all"],
        remote: true,
        package: REMOTE,
        status: ("skipped", "skipped"),
    },
];

#[test]
fn install_source_switches_decide_non_registry_packages_in_every_format() {
    let log = NpmLog::with(&[]);
    let tmp = tempfile::tempdir().unwrap();
    for f in formats() {
        for (k, case) in CASES.iter().enumerate() {
            let at = tmp.path().join(k.to_string());
            let edit = case.remote.then_some((f.remote.0, f.remote.1.as_str()));
            let dir = copy(&f, &at, edit);
            let (code, report, err) = verify(&log, &dir, &at.join("state"), case.flags);
            let status = if f.knows_direct {
                case.status.0
            } else {
                case.status.1
            };
            let what = format!("{} {:?}", f.dir, case.flags);
            let (name, rule, switch) = case.package;
            expect(&what, &report, name, status, Some(rule));
            // The verdict is this switch's alone (npm's lockfile also lists
            // its workspace folder, which the directory switch decides too).
            for p in report["packages"].as_array().unwrap() {
                if p["status"] == "failed" {
                    assert!(p["name"] == name || p["name"] == "ws-a", "{what}: {p}");
                }
            }
            if status == "failed" {
                assert_eq!(code, 1, "{what}: {report} {err}");
                let message = entries(&report, name)[0]["findings"][0]["message"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                assert!(message.contains(&switch[2..]), "{what}: {message}");
            } else {
                assert_eq!(code, 0, "{what}: {report} {err}");
            }
        }
    }
}
