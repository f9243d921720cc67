//! The pnpm, Yarn (classic and Berry) and Bun parsers on the lockfiles the
//! real tools wrote over one project (`scripts/lockfile-fixtures.sh`),
//! compared with npm's lockfile of the same project, and on malformed input.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gatelog_client::lockfile::{self, Format, Lockfile, LockfileError, Source};

fn fixture(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
}

fn load(dir: &str) -> Lockfile {
    let path = lockfile::find(&fixture(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
    lockfile::load(&path).unwrap_or_else(|e| panic!("{dir}: {e}"))
}

type Tuple = (String, String, Option<String>);

/// (name, version, sha512) of the registry packages.
fn registry(lock: &Lockfile) -> BTreeSet<Tuple> {
    lock.registry_packages()
        .map(|p| {
            (
                p.name.clone(),
                p.version.clone().unwrap_or_default(),
                p.integrity.map(|i| i.to_string()),
            )
        })
        .collect()
}

/// (name, kind) of the other packages.
fn others(lock: &Lockfile) -> BTreeSet<(String, &'static str)> {
    lock.packages
        .iter()
        .filter_map(|p| {
            let kind = match &p.source {
                Source::Registry { .. } => return None,
                Source::Git(_) => "git",
                Source::File(_) => "file",
                Source::Directory(_) | Source::Link => "directory",
                Source::RemoteTarball(_) => "remote",
                Source::Bundled => "bundled",
            };
            Some((p.name.clone(), kind))
        })
        .filter(|(n, _)| n != "ws-a")
        .collect()
}

#[test]
fn every_format_maps_to_npms_packages() {
    let npm = load("npm");
    let want = registry(&npm);
    assert_eq!(want.len(), 11, "{want:?}");
    assert!(
        want.iter()
            .any(|(n, v, _)| n == "JSONStream" && v == "1.3.5")
    );
    assert!(
        want.iter().any(|(n, _, _)| n == "left-pad"),
        "alias lp is left-pad"
    );
    let want_others = others(&npm);
    for (dir, format, version) in [
        ("pnpm-v9", Format::Pnpm, 9),
        ("pnpm-v6", Format::Pnpm, 6),
        ("pnpm-v5.4", Format::Pnpm, 5),
        ("yarn-v1", Format::Yarn, 1),
        ("yarn-berry", Format::Yarn, 10),
        ("bun", Format::Bun, 2),
    ] {
        let lock = load(dir);
        assert_eq!(
            (lock.format, lock.lockfile_version),
            (format, version),
            "{dir}"
        );
        let got = registry(&lock);
        if dir == "yarn-berry" {
            // Berry pins no npm integrity (its checksum hashes Yarn's zip).
            let bare: BTreeSet<Tuple> = want
                .iter()
                .map(|(n, v, _)| (n.clone(), v.clone(), None))
                .collect();
            assert_eq!(got, bare, "{dir}");
            assert!(
                lock.registry_packages().all(|p| p.yarn_checksum.is_some()),
                "{dir}"
            );
        } else {
            assert_eq!(got, want, "{dir}");
        }
        assert_eq!(others(&lock), want_others, "{dir}");
        // Direct dependencies are known except where the format omits them.
        let direct: BTreeSet<&str> = lock
            .packages
            .iter()
            .filter(|p| p.direct)
            .map(|p| p.name.as_str())
            .collect();
        if dir != "yarn-v1" {
            for name in [
                "JSONStream",
                "left-pad",
                "react",
                "ms",
                "is-number",
                "local-dep",
                "tiny",
            ] {
                assert!(direct.contains(name), "{dir}: {name} {direct:?}");
            }
            for name in ["jsonparse", "through", "js-tokens", "gitdep"] {
                assert!(!direct.contains(name), "{dir}: {name}");
            }
        }
    }
}

#[test]
fn binary_bun_lockfile_names_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bun.lockb");
    std::fs::write(&path, b"#!/usr/bin/env bun\nbun-lockfile-format-v0\n\0\0\0").unwrap();
    let found = lockfile::find(dir.path()).unwrap();
    let err = lockfile::load(&found).unwrap_err();
    assert!(matches!(err, LockfileError::BinaryBun { .. }), "{err:?}");
    assert!(
        err.to_string().contains("bun install --save-text-lockfile"),
        "{err}"
    );
}

#[test]
fn two_package_managers_in_one_folder_are_ambiguous() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("package-lock.json"), "{}").unwrap();
    std::fs::write(dir.path().join("yarn.lock"), "").unwrap();
    let err = lockfile::find(dir.path()).unwrap_err();
    assert!(err.to_string().contains("--lockfile"), "{err}");
}

fn parse_err(name: &str, text: &str) -> String {
    lockfile::parse(Path::new(name), text.as_bytes())
        .unwrap_err()
        .to_string()
}

#[test]
fn malformed_lockfiles_name_a_line_or_key() {
    for (name, text, want) in [
        (
            "pnpm-lock.yaml",
            "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: [\n",
            "line",
        ),
        (
            "pnpm-lock.yaml",
            "lockfileVersion: '7.0'\n",
            "not supported",
        ),
        (
            "pnpm-lock.yaml",
            "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: {}\n",
            "packages[\"a@1.0.0\"].resolution",
        ),
        (
            "pnpm-lock.yaml",
            "lockfileVersion: '9.0'\npackages:\n  a@1.0.0:\n    resolution: {integrity: sha512-x}\n",
            "packages[\"a@1.0.0\"].resolution.integrity",
        ),
        (
            "yarn.lock",
            "# yarn lockfile v1\n\na@^1:\n  version \"1.0.0\n",
            "line 4",
        ),
        (
            "yarn.lock",
            "# yarn lockfile v1\n\na@^1\n  version \"1.0.0\"\n",
            "line 3",
        ),
        (
            "yarn.lock",
            "# yarn lockfile v1\n\na@^1:\n  resolved \"x\"\n",
            "has no `version`",
        ),
        (
            "yarn.lock",
            "__metadata:\n  version: 8\n\"a@npm:^1\":\n  version: 1.0.0\n",
            "\"a@npm:^1\".resolution",
        ),
        (
            "yarn.lock",
            "__metadata:\n  version: 8\n\"a@npm:^1\": [\n",
            "line",
        ),
        (
            "bun.lock",
            "{\"lockfileVersion\": 1, \"packages\": {\"a\": [\"a@1.0.0\", \"\", {}, \"sha512-x\"]}}",
            "packages[\"a\"]",
        ),
        (
            "bun.lock",
            "{\"lockfileVersion\": 1, \"packages\": {,}",
            "line 1",
        ),
        (
            "bun.lock",
            &format!("{}{}", "[".repeat(200), "]".repeat(200)),
            "deeper",
        ),
    ] {
        let err = parse_err(name, text);
        assert!(err.contains(want), "{name} {text:?}: {err}");
    }
}
