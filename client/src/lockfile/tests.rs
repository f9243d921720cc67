//! Unit tests of the lockfile rules, on small hand-written documents in
//! npm's formats (the real lockfiles are in `client/tests/lockfile.rs`).

use std::path::Path;

use super::source::{Place, alias, is_registry_tarball, place, sha512};
use super::*;

const SHA512_A: &str = "sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQGinBN9yTQT3bFlCBy/aVx2HrNcqQGsdot8ghrjyrvMCoEA==";
const SHA512_B: &str = "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==";
const SHA1: &str = "sha1-W4o6d2Xf4AEmHd6RVYnngvjJTR4=";

fn parse_str(text: &str) -> Result<Lockfile, LockfileError> {
    parse(Path::new("package-lock.json"), text.as_bytes())
}

/// A version 3 lockfile with these `packages` entries besides the root.
fn v3(entries: &str) -> Result<Lockfile, LockfileError> {
    parse_str(&format!(
        r#"{{"name": "t", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
            "packages": {{"": {{"name": "t", "version": "1.0.0"}}{entries}}}}}"#
    ))
}

/// The only package of a version 3 lockfile with this one entry.
fn v3_one(location: &str, entry: &str) -> LockedPackage {
    let lock = v3(&format!(r#", "{location}": {entry}"#)).expect("parses");
    assert_eq!(lock.packages.len(), 1);
    lock.packages.into_iter().next().expect("one package")
}

/// A version 1 lockfile with this top-level `dependencies` object.
fn v1(dependencies: &str) -> Result<Lockfile, LockfileError> {
    parse_str(&format!(
        r#"{{"name": "t", "version": "1.0.0", "lockfileVersion": 1, "requires": true,
            "dependencies": {dependencies}}}"#
    ))
}

fn shape_field(err: LockfileError) -> (String, String) {
    match err {
        LockfileError::Shape { field, message, .. } => (field, message),
        other => panic!("expected a Shape error, got {other:?}"),
    }
}

#[test]
fn registry_entry_with_and_without_resolved() {
    let p = v3_one(
        "node_modules/left-pad",
        &format!(
            r#"{{"version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz", "integrity": "{SHA512_A}"}}"#
        ),
    );
    assert_eq!(p.name, "left-pad");
    assert_eq!(p.version.as_deref(), Some("1.3.0"));
    assert_eq!(
        p.integrity.map(|i| i.to_string()).as_deref(),
        Some(SHA512_A)
    );
    assert_eq!(
        p.source,
        Source::Registry {
            resolved: Some("https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz".into())
        }
    );
    // `omit-lockfile-registry-resolved` leaves `resolved` out.
    let p = v3_one("node_modules/left-pad", r#"{"version": "1.3.0"}"#);
    assert_eq!(p.source, Source::Registry { resolved: None });
    assert_eq!(p.integrity, None);
}

#[test]
fn git_file_and_remote_tarball_sources() {
    let git = "git+ssh://git@github.com/jonschlinkert/is-odd.git#3ac4bfb0bd0d3f0c3ff6cbf1c9a3ef5ba7e2e2a4";
    let p = v3_one(
        "node_modules/is-odd",
        &format!(r#"{{"version": "3.0.1", "resolved": "{git}", "license": "MIT"}}"#),
    );
    assert_eq!(p.source, Source::Git(git.into()));

    let p = v3_one(
        "node_modules/tiny",
        &format!(
            r#"{{"version": "1.0.0", "resolved": "file:vendor/tiny-1.0.0.tgz", "integrity": "{SHA512_A}"}}"#
        ),
    );
    assert_eq!(p.source, Source::File("file:vendor/tiny-1.0.0.tgz".into()));
    assert!(p.integrity.is_some());

    let url = "https://example.com/downloads/thing-2.0.0.tgz";
    let p = v3_one(
        "node_modules/thing",
        &format!(r#"{{"version": "2.0.0", "resolved": "{url}"}}"#),
    );
    assert_eq!(p.source, Source::RemoteTarball(url.into()));

    // A registry URL of another version, or of another name (an alias
    // without its `name` field), is not this package's registry tarball.
    let p = v3_one(
        "node_modules/left-pad",
        r#"{"version": "1.2.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz"}"#,
    );
    assert!(matches!(p.source, Source::RemoteTarball(_)));
    let p = v3_one(
        "node_modules/lp",
        r#"{"version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz"}"#,
    );
    assert!(matches!(p.source, Source::RemoteTarball(_)));

    // A registry URL with a version that is not strict semver.
    let p = v3_one(
        "node_modules/left-pad",
        r#"{"version": "v1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-v1.3.0.tgz"}"#,
    );
    assert!(matches!(p.source, Source::RemoteTarball(_)));

    // Other schemes, and bare paths.
    let p = v3_one(
        "node_modules/x",
        r#"{"version": "1.0.0", "resolved": "ftp://example.com/x-1.0.0.tgz"}"#,
    );
    assert!(matches!(p.source, Source::RemoteTarball(_)));
    let p = v3_one(
        "node_modules/x",
        r#"{"version": "1.0.0", "resolved": "C:/vendor/x"}"#,
    );
    assert_eq!(p.source, Source::Directory("C:/vendor/x".into()));
}

#[test]
fn links_bundles_and_folders() {
    let p = v3_one(
        "node_modules/@fixture/foo",
        r#"{"resolved": "packages/foo", "link": true}"#,
    );
    assert_eq!(
        (p.name.as_str(), p.version.as_deref(), &p.source),
        ("@fixture/foo", None, &Source::Link)
    );

    let p = v3_one(
        "node_modules/parent/node_modules/child",
        r#"{"version": "1.0.0", "inBundle": true, "license": "MIT"}"#,
    );
    assert_eq!((p.name.as_str(), &p.source), ("child", &Source::Bundled));

    let p = v3_one(
        "packages/foo",
        r#"{"name": "@fixture/foo", "version": "0.1.0"}"#,
    );
    assert_eq!(p.name, "@fixture/foo");
    assert_eq!(p.source, Source::Directory("packages/foo".into()));

    // Without `name`, a folder is named after its last segment.
    let p = v3_one("../shared/lib-a", r#"{"version": "0.0.1"}"#);
    assert_eq!(p.name, "lib-a");
    assert_eq!(p.source, Source::Directory("../shared/lib-a".into()));

    // Dependencies of a workspace are ordinary packages.
    let p = v3_one("packages/foo/node_modules/ms", r#"{"version": "2.1.3"}"#);
    assert_eq!(p.name, "ms");
    assert_eq!(p.source, Source::Registry { resolved: None });
}

#[test]
fn alias_takes_the_name_field() {
    let p = v3_one(
        "node_modules/lp",
        r#"{"name": "left-pad", "version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz"}"#,
    );
    assert_eq!(p.name, "left-pad");
    assert_eq!(p.location, "node_modules/lp");
    assert!(matches!(p.source, Source::Registry { .. }));
}

#[test]
fn flags() {
    let p = v3_one(
        "node_modules/a",
        r#"{"version": "1.0.0", "dev": true, "optional": true, "devOptional": true, "peer": true}"#,
    );
    assert!(p.dev && p.optional && p.dev_optional && p.peer);
    let p = v3_one("node_modules/a", r#"{"version": "1.0.0"}"#);
    assert!(!(p.dev || p.optional || p.dev_optional || p.peer));

    let err = v3(r#", "node_modules/a": {"version": "1.0.0", "dev": "yes"}"#).unwrap_err();
    let (field, message) = shape_field(err);
    assert_eq!(field, r#"packages["node_modules/a"].dev"#);
    assert_eq!(message, "expected a boolean, found a string");
}

#[test]
fn integrity_lists() {
    let p = v3_one(
        "node_modules/a",
        &format!(r#"{{"version": "1.0.0", "integrity": "{SHA1} {SHA512_A}"}}"#),
    );
    assert_eq!(
        p.integrity.map(|i| i.to_string()).as_deref(),
        Some(SHA512_A)
    );
    assert_eq!(p.integrity_raw, Some(format!("{SHA1} {SHA512_A}")));

    let p = v3_one(
        "node_modules/a",
        &format!(r#"{{"version": "1.0.0", "integrity": "{SHA1}"}}"#),
    );
    assert_eq!(
        (p.integrity, p.integrity_raw.as_deref()),
        (None, Some(SHA1))
    );

    // SRI options and repeats of the same digest are fine.
    assert!(
        sha512(&format!("{SHA512_A}?opt {SHA512_A}"))
            .unwrap()
            .is_some()
    );
    assert_eq!(sha512("").unwrap(), None);
    assert_eq!(
        sha512(&format!("{SHA512_A} {SHA512_B}")).unwrap_err(),
        "holds two different sha512 digests"
    );
    assert!(
        sha512("sha512-AAAA")
            .unwrap_err()
            .contains("bytes, expected 64")
    );
    assert!(sha512("sha512-!!").unwrap_err().contains("base64"));
}

#[test]
fn bad_integrity_names_the_field() {
    let err = v3(r#", "node_modules/@s/a": {"version": "1.0.0", "integrity": "sha512-AAAA"}"#)
        .unwrap_err();
    let LockfileError::InvalidIntegrity { field, reason, .. } = &err else {
        panic!("expected InvalidIntegrity, got {err:?}");
    };
    assert_eq!(field, r#"packages["node_modules/@s/a"].integrity"#);
    assert!(reason.contains("expected 64"), "{reason}");
    assert!(err.to_string().starts_with("package-lock.json: packages["));
}

#[test]
fn entries_that_say_nothing_about_their_source_are_errors() {
    let (field, message) = shape_field(v3(r#", "node_modules/a": {}"#).unwrap_err());
    assert_eq!(field, r#"packages["node_modules/a"]"#);
    assert!(message.contains("no version"), "{message}");

    let (_, message) = shape_field(v3(r#", "node_modules/a": {"version": "latest"}"#).unwrap_err());
    assert!(message.contains("not semver"), "{message}");
    // Long values are cut short in messages.
    let long = "é".repeat(10_000);
    let entry = format!(r#", "node_modules/a": {{"version": "{long}"}}"#);
    let (_, message) = shape_field(v3(&entry).unwrap_err());
    assert!(message.len() < 300, "{}", message.len());

    let (field, _) = shape_field(v3(r#", "node_modules/a": ["1.0.0"]"#).unwrap_err());
    assert_eq!(field, r#"packages["node_modules/a"]"#);
}

#[test]
fn locations_must_end_in_a_package_name() {
    for location in [
        "node_modules/",
        "node_modules",
        "node_modules/@scope",
        "node_modules/a/b",
        "node_modules/@s/a/b",
        "node_modules/a/node_modules/",
        "node_modules//a",
        "node_modules/..",
    ] {
        let entry = format!(r#", "{location}": {{"version": "1.0.0"}}"#);
        let (field, _) = shape_field(v3(&entry).unwrap_err());
        assert_eq!(field, format!("packages[{location:?}]"));
    }
    assert_eq!(place("node_modules/a"), Ok(Place::NodeModules("a")));
    assert_eq!(
        place("node_modules/a/node_modules/@s/b"),
        Ok(Place::NodeModules("@s/b"))
    );
    assert_eq!(place("my_node_modules/a"), Ok(Place::Folder(Some("a"))));
    assert_eq!(place(".."), Ok(Place::Folder(None)));
    let (field, _) = shape_field(v3(r#", "..": {"version": "1.0.0"}"#).unwrap_err());
    assert_eq!(field, r#"packages[".."]"#);
    let (field, _) =
        shape_field(v3(r#", "node_modules/a": {"version": "1.0.0", "name": ""}"#).unwrap_err());
    assert_eq!(field, r#"packages["node_modules/a"].name"#);
}

#[test]
fn registry_tarball_urls() {
    let yes = [
        (
            "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
            "left-pad",
            "1.3.0",
        ),
        (
            "http://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
            "left-pad",
            "1.3.0",
        ),
        (
            "https://registry.npmjs.org/@types/node/-/node-22.20.5.tgz",
            "@types/node",
            "22.20.5",
        ),
        (
            "https://npm.example.com/@types%2Fnode/-/node-22.20.5.tgz",
            "@types/node",
            "22.20.5",
        ),
        (
            "https://art.example.com/artifactory/api/npm/npm/ms/-/ms-2.1.3.tgz?x=1#frag",
            "ms",
            "2.1.3",
        ),
        (
            "https://registry.npmjs.org/a/-/a-1.0.0-rc.1.tgz",
            "a",
            "1.0.0-rc.1",
        ),
    ];
    for (url, name, version) in yes {
        assert!(is_registry_tarball(url, name, version), "{url}");
    }
    let no = [
        (
            "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
            "pad",
            "1.3.0",
        ),
        (
            "https://registry.npmjs.org/xleft-pad/-/left-pad-1.3.0.tgz",
            "left-pad",
            "1.3.0",
        ),
        (
            "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tar.gz",
            "left-pad",
            "1.3.0",
        ),
        (
            "https:///left-pad/-/left-pad-1.3.0.tgz",
            "left-pad",
            "1.3.0",
        ),
        (
            "ftp://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",
            "left-pad",
            "1.3.0",
        ),
        (
            "https://registry.npmjs.org/node/-/node-22.20.5.tgz",
            "@types/node",
            "22.20.5",
        ),
        (
            "https://registry.npmjs.org/@other/node/-/node-1.0.0.tgz",
            "@types/node",
            "1.0.0",
        ),
        ("https://registry.npmjs.org/-/a-1.0.0.tgz", "a", "1.0.0"),
    ];
    for (url, name, version) in no {
        assert!(!is_registry_tarball(url, name, version), "{url}");
    }
}

#[test]
fn v1_tree_locations_aliases_and_specs() {
    let lock = v1(&format!(
        r#"{{
        "a": {{"version": "1.0.0", "resolved": "https://registry.npmjs.org/a/-/a-1.0.0.tgz", "integrity": "{SHA512_A}",
               "requires": {{"b": "^2"}},
               "dependencies": {{
                 "b": {{"version": "2.0.0", "dev": true, "dependencies": {{
                   "c": {{"version": "3.0.0", "bundled": true, "optional": true}}
                 }}}}
               }}}},
        "sa": {{"version": "npm:@scope/real@1.2.3", "resolved": "https://registry.npmjs.org/@scope/real/-/real-1.2.3.tgz"}},
        "g": {{"version": "github:user/repo#0123456789abcdef0123456789abcdef01234567", "from": "github:user/repo"}},
        "h": {{"version": "git+https://example.com/r.git#0123456789abcdef0123456789abcdef01234567"}},
        "f": {{"version": "file:../f"}},
        "t": {{"version": "https://example.com/t-1.0.0.tgz", "integrity": "{SHA512_B}"}}
    }}"#
    ))
    .expect("parses");
    let by_location = |l: &str| {
        lock.packages
            .iter()
            .find(|p| p.location == l)
            .unwrap_or_else(|| panic!("no {l}"))
    };
    assert_eq!(lock.packages.len(), 8);
    assert!(matches!(by_location("a").source, Source::Registry { .. }));
    let b = by_location("a > b");
    assert_eq!((b.name.as_str(), b.dev), ("b", true));
    assert_eq!(b.source, Source::Registry { resolved: None });
    let c = by_location("a > b > c");
    assert_eq!((&c.source, c.optional), (&Source::Bundled, true));
    let sa = by_location("sa");
    assert_eq!(
        (sa.name.as_str(), sa.version.as_deref()),
        ("@scope/real", Some("1.2.3"))
    );
    assert!(matches!(sa.source, Source::Registry { resolved: Some(_) }));
    assert!(matches!(&by_location("g").source, Source::Git(s) if s.starts_with("github:")));
    assert!(matches!(&by_location("h").source, Source::Git(s) if s.starts_with("git+https:")));
    assert_eq!(
        by_location("f").source,
        Source::Directory("file:../f".into())
    );
    let t = by_location("t");
    assert_eq!(
        t.source,
        Source::RemoteTarball("https://example.com/t-1.0.0.tgz".into())
    );
    assert!(t.integrity.is_some());
}

#[test]
fn v1_errors_name_the_nested_field() {
    let err =
        v1(r#"{"a": {"version": "1.0.0", "dependencies": {"b": {"resolved": "x"}}}}"#).unwrap_err();
    let (field, message) = shape_field(err);
    assert_eq!(field, r#"dependencies["a"].dependencies["b"].version"#);
    assert_eq!(message, "missing");

    let (field, _) = shape_field(v1(r#"{"a": {"version": "npm:left-pad"}}"#).unwrap_err());
    assert_eq!(field, r#"dependencies["a"].version"#);
    let (field, _) =
        shape_field(v1(r#"{"a": {"version": "1.0.0", "dependencies": []}}"#).unwrap_err());
    assert_eq!(field, r#"dependencies["a"].dependencies"#);
    let (field, _) = shape_field(v1(r#"{"": {"version": "1.0.0"}}"#).unwrap_err());
    assert_eq!(field, r#"dependencies[""]"#);
    let (field, _) = shape_field(v1("3").unwrap_err());
    assert_eq!(field, "dependencies");

    // No `dependencies` at all: a project without dependencies.
    let lock = parse_str(r#"{"name": "t", "lockfileVersion": 1}"#).expect("parses");
    assert!(lock.packages.is_empty());
}

#[test]
fn aliases() {
    assert_eq!(alias("npm:left-pad@1.3.0"), Some(("left-pad", "1.3.0")));
    assert_eq!(alias("npm:@s/x@1.0.0-rc.1"), Some(("@s/x", "1.0.0-rc.1")));
    assert_eq!(alias("npm:@s/x"), None);
    assert_eq!(alias("npm:x@"), None);
    assert_eq!(alias("left-pad@1.3.0"), None);
}

#[test]
fn v2_without_packages_uses_dependencies() {
    let lock = parse_str(r#"{"lockfileVersion": 2, "dependencies": {"ms": {"version": "2.1.3"}}}"#)
        .expect("parses");
    assert_eq!(lock.lockfile_version, 2);
    assert_eq!(lock.packages.len(), 1);
    assert_eq!(lock.packages[0].location, "ms");

    let (field, message) = shape_field(parse_str(r#"{"lockfileVersion": 3}"#).unwrap_err());
    assert_eq!((field.as_str(), message.as_str()), ("packages", "missing"));
}

#[test]
fn lockfile_version_checks() {
    let (field, message) =
        shape_field(parse_str(r#"{"lockfileVersion": "3", "packages": {}}"#).unwrap_err());
    assert_eq!(field, "lockfileVersion");
    assert_eq!(message, "expected a non-negative integer, found a string");
    let (field, message) =
        shape_field(parse_str(r#"{"lockfileVersion": 3.0, "packages": {}}"#).unwrap_err());
    assert_eq!(field, "lockfileVersion");
    assert_eq!(
        message,
        "expected a non-negative integer, found the number 3.0"
    );
    let (field, message) = shape_field(parse_str(r#"{"packages": {}}"#).unwrap_err());
    assert_eq!(
        (field.as_str(), message.as_str()),
        ("lockfileVersion", "missing")
    );
    for found in [0u64, 4, 99, u64::MAX] {
        let err = parse_str(&format!(
            r#"{{"lockfileVersion": {found}, "packages": {{}}}}"#
        ))
        .unwrap_err();
        assert!(
            matches!(err, LockfileError::UnsupportedVersion { found: f, .. } if f == found),
            "{err:?}"
        );
    }
    let (field, _) = shape_field(parse_str("[]").unwrap_err());
    assert_eq!(field, "(top level)");
}

#[test]
fn json_errors_have_a_position_and_a_clean_message() {
    let err = parse_str("{\n  \"lockfileVersion\": 3,\n  \"packages\": {,\n}").unwrap_err();
    let LockfileError::Json {
        line,
        column,
        message,
        ..
    } = &err
    else {
        panic!("expected Json, got {err:?}");
    };
    assert_eq!((*line, *column), (3, 16));
    assert!(!message.contains("line"), "{message}");
    assert_eq!(
        err.to_string(),
        format!("package-lock.json is not valid JSON: {message} at line 3, column 16")
    );
    // Deep nesting stops at serde_json's recursion limit.
    let deep = "[".repeat(100_000);
    assert!(matches!(parse_str(&deep), Err(LockfileError::Json { .. })));
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let text = "\u{feff}{\"lockfileVersion\": 3, \"packages\": {}}";
    assert!(parse_str(text).expect("parses").packages.is_empty());
}

#[test]
fn too_large_input_is_refused_before_parsing() {
    let bytes = vec![0u8; usize::try_from(MAX_LOCKFILE_BYTES).unwrap() + 1];
    let err = parse(Path::new("big.json"), &bytes).unwrap_err();
    assert!(
        matches!(err, LockfileError::TooLarge { size, limit, .. } if size == limit + 1),
        "{err:?}"
    );
}
