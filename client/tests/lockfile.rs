//! The lockfile parser on real lockfiles written by npm 11.19.1
//! (`tests/fixtures/lockfiles/`, see the README there), on malformed ones,
//! and on random input.
//!
//! Tests sit in modules named `lockfile_*` so that
//! `cargo test -p gatelog-client lockfile` selects them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gatelog_client::lockfile::{self, LockedPackage, Lockfile, LockfileError, Source};

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lockfiles")
        .join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).expect("fixture exists")
}

fn load(name: &str) -> Lockfile {
    lockfile::load(&fixture_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn at<'a>(lock: &'a Lockfile, location: &str) -> &'a LockedPackage {
    lock.packages
        .iter()
        .find(|p| p.location == location)
        .unwrap_or_else(|| panic!("no package at {location}"))
}

fn sri(p: &LockedPackage) -> Option<String> {
    p.integrity.map(|i| i.to_string())
}

const EXPRESS_SHA512: &str = "sha512-Bdcs4+3qlpVlx2NRn6fgX2Ue2/gGRaPeawebgclM0ERSCqDpA+owF1fdPwjJUTAJWMTuAaxjDf+hzb0/4eKvvw==";
const LEFT_PAD_130_SHA512: &str = "sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQGinBN9yTQT3bFlCBy/aVx2HrNcqQGsdot8ghrjyrvMCoEA==";

/// The real (non-root) entries of a fixture, counted with serde_json alone.
fn entries_in(name: &str) -> usize {
    let doc: serde_json::Value = serde_json::from_slice(&fixture_bytes(name)).unwrap();
    if let Some(packages) = doc["packages"].as_object() {
        return packages.keys().filter(|k| !k.is_empty()).count();
    }
    fn count(deps: &serde_json::Value) -> usize {
        deps.as_object().map_or(0, |m| {
            m.values().map(|e| 1 + count(&e["dependencies"])).sum()
        })
    }
    count(&doc["dependencies"])
}

const REAL_FIXTURES: [&str; 6] = [
    "v3-express.json",
    "v2-express.json",
    "v1-express.json",
    "v3-workspaces.json",
    "v3-file-dep.json",
    "v1-file-dep.json",
];

mod lockfile_fixtures {
    use super::*;

    #[test]
    fn every_entry_of_every_real_fixture_is_listed() {
        for name in REAL_FIXTURES {
            let lock = load(name);
            assert_eq!(lock.packages.len(), entries_in(name), "{name}");
            assert!(lock.packages.iter().all(|p| !p.location.is_empty()));
            let same = lockfile::parse(&fixture_path(name), &fixture_bytes(name)).unwrap();
            assert_eq!(lock, same, "{name}: load and parse agree");
        }
    }

    /// What the express project's lockfiles hold, in every version.
    fn check_express(lock: &Lockfile, express: &str, lp: &str, ms: &str, types: &str) {
        assert_eq!(lock.packages.len(), 76);
        assert_eq!(lock.registry_packages().count(), 76);

        let e = at(lock, express);
        assert_eq!(
            (e.name.as_str(), e.version.as_deref()),
            ("express", Some("4.22.3"))
        );
        assert_eq!(sri(e).as_deref(), Some(EXPRESS_SHA512));
        assert_eq!(e.integrity_raw.as_deref(), Some(EXPRESS_SHA512));
        assert_eq!(
            e.source,
            Source::Registry {
                resolved: Some("https://registry.npmjs.org/express/-/express-4.22.3.tgz".into())
            }
        );
        assert!(!e.dev && !e.optional);

        // "lp": "npm:left-pad@1.3.0" next to "left-pad": "1.2.0".
        let alias = at(lock, lp);
        assert_eq!(
            (alias.name.as_str(), alias.version.as_deref()),
            ("left-pad", Some("1.3.0"))
        );
        assert_eq!(sri(alias).as_deref(), Some(LEFT_PAD_130_SHA512));
        assert!(matches!(
            alias.source,
            Source::Registry { resolved: Some(_) }
        ));
        let pads: Vec<_> = lock
            .packages
            .iter()
            .filter(|p| p.name == "left-pad")
            .collect();
        assert_eq!(pads.len(), 2);
        assert!(pads.iter().any(|p| p.version.as_deref() == Some("1.2.0")));

        // Nested: send needs ms 2.1.3, debug 2.6.9 the hoisted ms 2.0.0.
        let nested = at(lock, ms);
        assert_eq!(
            (nested.name.as_str(), nested.version.as_deref()),
            ("ms", Some("2.1.3"))
        );
        assert_eq!(lock.packages.iter().filter(|p| p.name == "ms").count(), 2);

        let dev: BTreeSet<&str> = lock
            .packages
            .iter()
            .filter(|p| p.dev)
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(dev, BTreeSet::from(["@types/node", "undici-types"]));
        let optional: Vec<&str> = lock
            .packages
            .iter()
            .filter(|p| p.optional)
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(optional, ["is-number"]);
        let t = at(lock, types);
        assert_eq!((t.name.as_str(), t.dev), ("@types/node", true));
        assert!(lock.packages.iter().all(|p| !p.dev_optional && !p.peer));

        // The root project is not a dependency.
        assert!(lock.packages.iter().all(|p| p.name != "fixture-express"));
        // All but the aliased entry are named after their location.
        assert!(
            lock.packages
                .iter()
                .all(|p| p.location.ends_with(&p.name) || p.location.ends_with("lp"))
        );
    }

    #[test]
    fn v3_express() {
        let lock = load("v3-express.json");
        assert_eq!(lock.lockfile_version, 3);
        assert_eq!(lock.path, fixture_path("v3-express.json"));
        check_express(
            &lock,
            "node_modules/express",
            "node_modules/lp",
            "node_modules/send/node_modules/ms",
            "node_modules/@types/node",
        );
    }

    #[test]
    fn v2_express_reads_packages_and_matches_v3() {
        let v2 = load("v2-express.json");
        assert_eq!(v2.lockfile_version, 2);
        assert_eq!(v2.packages, load("v3-express.json").packages);
    }

    #[test]
    fn v1_express() {
        let lock = load("v1-express.json");
        assert_eq!(lock.lockfile_version, 1);
        check_express(&lock, "express", "lp", "send > ms", "@types/node");
    }

    #[test]
    fn v1_and_v3_agree_on_registry_packages() {
        let key = |lock: &Lockfile| -> BTreeSet<(String, String, Option<String>, bool, bool)> {
            lock.registry_packages()
                .map(|p| {
                    (
                        p.name.clone(),
                        p.version.clone().unwrap(),
                        sri(p),
                        p.dev,
                        p.optional,
                    )
                })
                .collect()
        };
        let (v1, v3) = (load("v1-express.json"), load("v3-express.json"));
        assert_eq!(key(&v1).len(), 76);
        assert_eq!(key(&v1), key(&v3));
        let (v1, v3) = (load("v1-file-dep.json"), load("v3-file-dep.json"));
        assert_eq!(key(&v1).len(), 2);
        assert_eq!(key(&v1), key(&v3));
    }

    #[test]
    fn v3_workspaces() {
        let lock = load("v3-workspaces.json");
        assert_eq!(lock.packages.len(), 8);
        for (link, folder, name, version) in [
            (
                "node_modules/@fixture/foo",
                "packages/foo",
                "@fixture/foo",
                "0.1.0",
            ),
            (
                "node_modules/@fixture/bar",
                "packages/bar",
                "@fixture/bar",
                "0.2.0",
            ),
        ] {
            let l = at(&lock, link);
            assert_eq!((l.name.as_str(), l.version.as_deref()), (name, None));
            assert_eq!(l.source, Source::Link);
            assert_eq!((l.integrity, l.integrity_raw.as_deref()), (None, None));
            let f = at(&lock, folder);
            assert_eq!(
                (f.name.as_str(), f.version.as_deref()),
                (name, Some(version))
            );
            assert_eq!(f.source, Source::Directory(folder.into()));
        }
        let registry: BTreeSet<(&str, &str)> = lock
            .registry_packages()
            .map(|p| (p.location.as_str(), p.name.as_str()))
            .collect();
        assert_eq!(
            registry,
            BTreeSet::from([
                ("node_modules/debug", "debug"),
                ("node_modules/debug/node_modules/ms", "ms"),
                ("node_modules/left-pad", "left-pad"),
                ("node_modules/ms", "ms"),
            ])
        );
        assert!(at(&lock, "node_modules/left-pad").dev);
        assert!(lock.packages.iter().all(|p| p.name != "fixture-workspaces"));
    }

    #[test]
    fn v3_file_dep() {
        let lock = load("v3-file-dep.json");
        assert_eq!(lock.packages.len(), 5);
        let tiny = at(&lock, "node_modules/tiny");
        assert_eq!(
            tiny.source,
            Source::File("file:vendor/tiny-1.0.0.tgz".into())
        );
        assert_eq!(tiny.version.as_deref(), Some("1.0.0"));
        assert!(tiny.integrity.is_some());
        assert_eq!(at(&lock, "node_modules/local-lib").source, Source::Link);
        let folder = at(&lock, "local-lib");
        assert_eq!(
            (folder.name.as_str(), folder.version.as_deref()),
            ("local-lib", Some("0.0.1"))
        );
        assert_eq!(folder.source, Source::Directory("local-lib".into()));
        let names: BTreeSet<&str> = lock.registry_packages().map(|p| p.name.as_str()).collect();
        assert_eq!(names, BTreeSet::from(["is-number", "left-pad"]));
    }

    #[test]
    fn v1_file_dep() {
        let lock = load("v1-file-dep.json");
        assert_eq!(lock.packages.len(), 4);
        let tiny = at(&lock, "tiny");
        assert_eq!(
            tiny.source,
            Source::File("file:vendor/tiny-1.0.0.tgz".into())
        );
        assert_eq!(
            tiny.integrity,
            at(&load("v3-file-dep.json"), "node_modules/tiny").integrity
        );
        assert_eq!(
            at(&lock, "local-lib").source,
            Source::Directory("file:local-lib".into())
        );
    }
}

mod lockfile_find {
    use super::*;

    fn write(dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, fixture_bytes("v3-file-dep.json")).unwrap();
        path
    }

    #[test]
    fn shrinkwrap_wins_over_package_lock() {
        let dir = tempfile::tempdir().unwrap();
        let lock = write(dir.path(), "package-lock.json");
        assert_eq!(lockfile::find(dir.path()).unwrap(), lock);
        let shrinkwrap = write(dir.path(), "npm-shrinkwrap.json");
        assert_eq!(lockfile::find(dir.path()).unwrap(), shrinkwrap);
        std::fs::remove_file(&lock).unwrap();
        assert_eq!(lockfile::find(dir.path()).unwrap(), shrinkwrap);
        let found = lockfile::load(&lockfile::find(dir.path()).unwrap()).unwrap();
        assert_eq!(found.path, shrinkwrap);
        assert_eq!(found.packages.len(), 5);
    }

    #[test]
    fn no_lockfile() {
        let dir = tempfile::tempdir().unwrap();
        // A folder with the right name is not a lockfile.
        std::fs::create_dir(dir.path().join("package-lock.json")).unwrap();
        let err = lockfile::find(dir.path()).unwrap_err();
        assert!(
            matches!(&err, LockfileError::NoLockfile { dir: d } if d == dir.path()),
            "{err:?}"
        );
        assert!(err.to_string().contains("package-lock.json"));
    }

    #[test]
    fn missing_unreadable_and_oversized_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("package-lock.json");
        let err = lockfile::load(&missing).unwrap_err();
        assert!(
            matches!(&err, LockfileError::Missing { path } if *path == missing),
            "{err:?}"
        );
        assert!(err.to_string().contains(&missing.display().to_string()));

        let err = lockfile::load(dir.path()).unwrap_err();
        assert!(
            matches!(&err, LockfileError::Unreadable { path, .. } if path == dir.path()),
            "{err:?}"
        );

        // A sparse file just over the limit is refused without being read.
        let big = dir.path().join("big.json");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(lockfile::MAX_LOCKFILE_BYTES + 1).unwrap();
        let err = lockfile::load(&big).unwrap_err();
        assert!(
            matches!(err, LockfileError::TooLarge { size, .. } if size == lockfile::MAX_LOCKFILE_BYTES + 1),
            "{err:?}"
        );
    }
}

mod lockfile_errors {
    use super::*;

    fn load_err(name: &str) -> LockfileError {
        let path = fixture_path(&format!("malformed/{name}"));
        let err = lockfile::load(&path).expect_err(name);
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        err
    }

    #[test]
    fn truncated() {
        let err = load_err("truncated.json");
        let LockfileError::Json {
            line,
            column,
            message,
            ..
        } = &err
        else {
            panic!("{err:?}");
        };
        assert_eq!((*line, *column), (35, 38));
        assert!(message.contains("EOF"), "{message}");
    }

    #[test]
    fn not_json_at_all() {
        let err = load_err("yarn-lock.json");
        assert!(
            matches!(
                err,
                LockfileError::Json {
                    line: 1,
                    column: 1,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn wrong_types() {
        let err = load_err("wrong-types.json");
        let LockfileError::Shape { field, message, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(field, r#"packages["node_modules/express"].version"#);
        assert_eq!(message, "expected a string, found a number");
        assert!(err.to_string().ends_with(
            r#"wrong-types.json: packages["node_modules/express"].version: expected a string, found a number"#
        ));

        let err = load_err("packages-not-object.json");
        assert!(
            matches!(&err, LockfileError::Shape { field, .. } if field == "packages"),
            "{err:?}"
        );
    }

    #[test]
    fn bad_integrity() {
        let err = load_err("bad-integrity.json");
        let LockfileError::InvalidIntegrity { field, reason, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(field, r#"packages["node_modules/left-pad"].integrity"#);
        assert!(reason.contains("expected 64"), "{reason}");
    }

    #[test]
    fn unsupported_version() {
        let err = load_err("unsupported-version.json");
        assert!(
            matches!(err, LockfileError::UnsupportedVersion { found: 4, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("lockfileVersion 4"));
    }
}

mod lockfile_props {
    use proptest::prelude::*;
    use proptest::test_runner::{RngAlgorithm, RngSeed};
    use serde_json::Value;

    use super::*;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 200,
            failure_persistence: None,
            rng_algorithm: RngAlgorithm::ChaCha,
            rng_seed: RngSeed::Fixed(0x06a7_e10c),
            ..ProptestConfig::default()
        }
    }

    fn parse(bytes: &[u8]) -> Result<Lockfile, LockfileError> {
        lockfile::parse(Path::new("package-lock.json"), bytes)
    }

    /// A few byte-level edits: (position, kind, byte).
    fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
        proptest::collection::vec((any::<usize>(), 0u8..4, any::<u8>()), 1..8)
    }

    fn apply(mut bytes: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
        for &(pos, kind, byte) in edits {
            let at = pos % (bytes.len() + 1);
            match kind {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                2 if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => bytes.truncate(at),
            }
        }
        bytes
    }

    /// JSON pointers to every value of `doc`.
    fn pointers(doc: &Value, at: String, out: &mut Vec<String>) {
        match doc {
            Value::Object(map) => {
                for (k, v) in map {
                    pointers(
                        v,
                        format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                        out,
                    );
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    pointers(v, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
        out.push(at);
    }

    /// Values that mean something to the parser, and some that do not.
    fn replacement() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            prop_oneof![
                Just(""),
                Just("1.2.3"),
                Just("npm:"),
                Just("npm:@"),
                Just("npm:@s/x@1.0.0"),
                Just("node_modules/"),
                Just("node_modules/@s"),
                Just("sha512-AAAA"),
                Just("sha1-AAAA sha512-"),
                Just("git+ssh://git@github.com/a/b.git#0"),
                Just("file:../x"),
                Just("https://registry.npmjs.org/a/-/a-1.2.3.tgz"),
                Just("C:"),
                Just(".."),
            ]
            .prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("version".to_owned()),
                        Just("resolved".to_owned()),
                        Just("integrity".to_owned()),
                        Just("link".to_owned()),
                        Just("dependencies".to_owned()),
                        "[a-z/_@.]{0,14}",
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn fixture() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(REAL_FIXTURES.to_vec())
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn lockfile_parse_never_panics_on_arbitrary_bytes(
            bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        ) {
            let _ = parse(&bytes);
        }

        #[test]
        fn lockfile_parse_never_panics_on_mutated_fixtures(name in fixture(), edits in edits()) {
            let _ = parse(&apply(fixture_bytes(name), &edits));
        }

        #[test]
        fn lockfile_parse_never_panics_on_reshaped_fixtures(
            name in fixture(),
            pick in any::<prop::sample::Index>(),
            value in replacement(),
        ) {
            let mut doc: Value = serde_json::from_slice(&fixture_bytes(name)).unwrap();
            let mut all = Vec::new();
            pointers(&doc, String::new(), &mut all);
            let pointer = pick.get(&all).clone();
            if let Some(slot) = doc.pointer_mut(&pointer) {
                *slot = value;
            }
            let bytes = serde_json::to_vec(&doc).unwrap();
            if let Ok(lock) = parse(&bytes) {
                // Whatever is accepted lists no root project.
                prop_assert!(lock.packages.iter().all(|p| !p.location.is_empty()));
            }
        }
    }
}
