//! The changes that matter in a release: install scripts, dependencies,
//! binaries, minified files and version skips. Each is a [`Finding`];
//! flagged ones fail the review (`--fail-on flagged`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::compare::{Change, FileChange, text};
use super::tarball::Files;

/// Scripts npm runs when a package is installed (or `prepare`, run for
/// git installs and by `npm install` in the package itself).
pub const INSTALL_SCRIPTS: [&str; 4] = ["preinstall", "install", "postinstall", "prepare"];
/// Dependency kinds installed with the package.
pub const DEPENDENCY_FIELDS: [&str; 3] =
    ["dependencies", "optionalDependencies", "peerDependencies"];
/// A line longer than this in a script or stylesheet reads as minified.
pub const MINIFIED_LINE: usize = 500;

/// One observation about the release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind: `install-script`, `dependency`, `bin`, `executable`,
    /// `minified`, `version-skip`, `source-extra`, `source-differs`,
    /// `source-missing`, `manifest`, `first-release`.
    pub kind: &'static str,
    /// Whether it fails the review.
    pub flagged: bool,
    /// What was seen, in words.
    pub message: String,
    /// The file concerned, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Finding {
    /// A flagged finding.
    pub fn flag(kind: &'static str, message: String, path: Option<&str>) -> Finding {
        Finding {
            kind,
            flagged: true,
            message,
            path: path.map(str::to_owned),
        }
    }

    /// A finding shown but not flagged.
    pub fn note(kind: &'static str, message: String, path: Option<&str>) -> Finding {
        Finding {
            flagged: false,
            ..Finding::flag(kind, message, path)
        }
    }
}

/// The `package.json` of a package, or a flagged finding saying why not.
pub fn manifest(files: &Files, which: &str) -> Result<Value, Finding> {
    let Some(file) = files.get("package.json") else {
        return Err(Finding::flag(
            "manifest",
            format!("the {which} tarball has no package.json"),
            Some("package.json"),
        ));
    };
    match serde_json::from_slice::<Value>(&file.bytes) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(Finding::flag(
            "manifest",
            format!("the {which} tarball's package.json is not a JSON object"),
            Some("package.json"),
        )),
    }
}

fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The `bin` entries of a manifest: a string names one binary after the
/// package (its name without scope).
fn bins(m: &Value) -> BTreeMap<String, String> {
    match &m["bin"] {
        Value::String(path) => {
            let name = m["name"].as_str().unwrap_or_default();
            let short = name.rsplit('/').next().unwrap_or(name);
            BTreeMap::from([(short.to_owned(), path.clone())])
        }
        other => string_map(other),
    }
}

/// Findings from the manifests: install scripts, dependencies and
/// binaries new or changed from `old` (an empty object for a first
/// release) to `new`.
pub fn manifest_changes(old: &Value, new: &Value) -> Vec<Finding> {
    let mut out = Vec::new();
    let (old_scripts, new_scripts) = (string_map(&old["scripts"]), string_map(&new["scripts"]));
    for script in INSTALL_SCRIPTS {
        match (old_scripts.get(script), new_scripts.get(script)) {
            (None, Some(cmd)) => out.push(Finding::flag(
                "install-script",
                format!("new {script} script: {cmd}"),
                Some("package.json"),
            )),
            (Some(was), Some(cmd)) if was != cmd => out.push(Finding::flag(
                "install-script",
                format!("changed {script} script: {was} -> {cmd}"),
                Some("package.json"),
            )),
            (Some(was), None) => out.push(Finding::note(
                "install-script",
                format!("removed {script} script: {was}"),
                Some("package.json"),
            )),
            _ => {}
        }
    }
    for field in DEPENDENCY_FIELDS {
        let (before, after) = (string_map(&old[field]), string_map(&new[field]));
        for (name, range) in &after {
            match before.get(name) {
                None => out.push(Finding::flag(
                    "dependency",
                    format!("new dependency {name}@{range} ({field})"),
                    Some("package.json"),
                )),
                Some(was) if was != range => out.push(Finding::flag(
                    "dependency",
                    format!("changed range of {name}: {was} -> {range} ({field})"),
                    Some("package.json"),
                )),
                Some(_) => {}
            }
        }
        for (name, range) in &before {
            if !after.contains_key(name) {
                out.push(Finding::note(
                    "dependency",
                    format!("removed dependency {name}@{range} ({field})"),
                    Some("package.json"),
                ));
            }
        }
    }
    let (before, after) = (bins(old), bins(new));
    for (name, path) in &after {
        match before.get(name) {
            None => out.push(Finding::flag(
                "bin",
                format!("new binary {name} -> {path}"),
                Some(path),
            )),
            Some(was) if was != path => out.push(Finding::flag(
                "bin",
                format!("binary {name} now runs {path} (was {was})"),
                Some(path),
            )),
            Some(_) => {}
        }
    }
    out
}

/// Findings from the file changes: files newly executable, and a
/// `binding.gyp` (npm runs `node-gyp rebuild` at install for it).
pub fn file_changes(changes: &[FileChange]) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in changes {
        if c.change != Change::Removed && c.executable && !c.was_executable {
            let what = if c.change == Change::Added {
                "new executable file"
            } else {
                "file became executable"
            };
            out.push(Finding::flag(
                "executable",
                format!("{what}: {}", c.path),
                Some(&c.path),
            ));
        }
        if c.change == Change::Added && c.path == "binding.gyp" {
            out.push(Finding::flag(
                "install-script",
                "new binding.gyp: npm runs `node-gyp rebuild` at install".into(),
                Some(&c.path),
            ));
        }
    }
    out
}

/// Whether a file reads as minified: named `*.min.js` (`.mjs`, `.cjs`,
/// `.css`), or a script or stylesheet with a line over [`MINIFIED_LINE`].
pub fn is_minified(path: &str, bytes: &[u8]) -> bool {
    let lower = path.to_ascii_lowercase();
    let exts = [".js", ".mjs", ".cjs", ".css"];
    if exts.iter().any(|e| lower.ends_with(&format!(".min{e}"))) {
        return true;
    }
    exts.iter().any(|e| lower.ends_with(e))
        && text(bytes).is_some_and(|t| t.lines().any(|l| l.chars().count() > MINIFIED_LINE))
}

/// Flags each of `paths` in `files` that reads as minified; `why` says
/// why its content is unaccounted for (not in the source, new…).
pub fn minified<'a>(
    files: &Files,
    paths: impl Iterator<Item = &'a str>,
    why: &str,
) -> Vec<Finding> {
    paths
        .filter(|p| files.get(*p).is_some_and(|f| is_minified(p, &f.bytes)))
        .map(|p| Finding::flag("minified", format!("minified file {why}: {p}"), Some(p)))
        .collect()
}

/// A version that skips: more than one step of the part that changed, or
/// lower parts not reset (1.2.3 -> 1.4.0, 1.2.3 -> 1.3.1, 1.2.3 -> 3.0.0).
pub fn version_skip(prev: &semver::Version, new: &semver::Version) -> Option<Finding> {
    let (a, b) = (prev, new);
    let next = if b.major != a.major {
        b.major == a.major + 1 && b.minor == 0 && b.patch == 0
    } else if b.minor != a.minor {
        b.minor == a.minor + 1 && b.patch == 0
    } else {
        // Same major.minor: the next patch, or a release of a prerelease.
        b.patch <= a.patch + 1
    };
    (!next).then(|| Finding::flag("version-skip", format!("version skips: {a} -> {b}"), None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kinds(f: &[Finding]) -> Vec<(&str, bool)> {
        f.iter().map(|f| (f.kind, f.flagged)).collect()
    }

    #[test]
    fn scripts_dependencies_and_bins() {
        let old = json!({"name": "@a/w", "scripts": {"test": "t", "install": "x"},
                         "dependencies": {"a": "^1", "gone": "1"}, "bin": "cli.js"});
        let new = json!({"name": "@a/w", "scripts": {"test": "u", "install": "y", "postinstall": "z"},
                         "dependencies": {"a": "^2", "b": "1"}, "peerDependencies": {"p": "*"},
                         "bin": {"w": "cli.js", "other": "o.js"}});
        let f = manifest_changes(&old, &new);
        assert_eq!(
            kinds(&f),
            [
                ("install-script", true),
                ("install-script", true),
                ("dependency", true),
                ("dependency", true),
                ("dependency", false),
                ("dependency", true),
                ("bin", true),
            ],
            "{f:?}"
        );
        assert!(f[6].message.contains("other"), "{f:?}");
        assert!(manifest_changes(&new, &new).is_empty());
    }

    #[test]
    fn skips() {
        let v = |s| semver::Version::parse(s).unwrap();
        for (a, b, skips) in [
            ("1.2.3", "1.2.4", false),
            ("1.2.3", "1.3.0", false),
            ("1.2.3", "2.0.0", false),
            ("1.2.3", "2.0.0-rc.1", false),
            ("2.0.0-rc.1", "2.0.0", false),
            ("1.2.3", "1.2.5", true),
            ("1.2.3", "1.4.0", true),
            ("1.2.3", "1.3.1", true),
            ("1.2.3", "3.0.0", true),
            ("1.2.3", "2.1.0", true),
        ] {
            assert_eq!(version_skip(&v(a), &v(b)).is_some(), skips, "{a} -> {b}");
        }
    }

    #[test]
    fn minified_by_name_or_line_length() {
        assert!(is_minified("dist/app.min.js", b"x"));
        assert!(is_minified(
            "a.js",
            "y".repeat(MINIFIED_LINE + 1).as_bytes()
        ));
        assert!(!is_minified("a.js", b"short\nlines\n"));
        assert!(!is_minified(
            "a.txt",
            "y".repeat(MINIFIED_LINE + 1).as_bytes()
        ));
    }
}
