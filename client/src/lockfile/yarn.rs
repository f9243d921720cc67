//! Yarn's `yarn.lock`: classic (v1, `# yarn lockfile v1`, its own syntax,
//! read by [`super::yarn_v1`]) and Berry (v2 and later, YAML with a
//! `__metadata` entry).
//!
//! One [`LockedPackage`] per entry (a resolved package at one version), its
//! location the entry's key (the descriptors that resolve to it).
//!
//! **Classic** entries carry `version`, `resolved` (the tarball URL, with
//! the sha1 as `#fragment`) and `integrity` (npm's SRI string), so they
//! are checked exactly like npm's. `registry.yarnpkg.com`, Yarn's alias
//! of the npm registry, is read as `registry.npmjs.org`.
//!
//! **Berry** entries carry `version`, `resolution` (`name@npm:1.2.3`,
//! `name@workspace:…`, `name@file:…`, `name@patch:…`, git and URL
//! resolutions) and `checksum`: Yarn's own hash of the zip archive it
//! makes from the tarball (`<cacheKey>/<sha512 hex of the zip>`), not the
//! tarball's sha512. So a Berry entry has no [`LockedPackage::integrity`];
//! its checksum is kept in [`LockedPackage::yarn_checksum`]. Workspaces
//! (`@workspace:`) are the project itself and are not listed.

use std::collections::BTreeSet;
use std::path::Path;

use serde_yaml_ng::Value;

use super::pnpm::{kind, utf8, yaml_error};
use super::{Format, LockedPackage, Lockfile, LockfileError, Source, source, yarn_v1};

const FORMAT: &str = "yarn.lock";

/// Parses a `yarn.lock` of either generation.
pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<Lockfile, LockfileError> {
    let text = utf8(path, FORMAT, bytes)?;
    let berry = text
        .lines()
        .any(|l| l.starts_with("__metadata:") || l.starts_with("\"__metadata\":"));
    if berry {
        return parse_berry(path, text);
    }
    let blocks =
        yarn_v1::blocks(text).map_err(|(line, column, message)| LockfileError::Syntax {
            path: path.to_path_buf(),
            format: FORMAT,
            line,
            column,
            message,
        })?;
    let packages = blocks
        .iter()
        .map(|b| {
            classic(b).map_err(|m| {
                shape(
                    path,
                    &format!("{:?} (line {})", b.descriptors.join(", "), b.line),
                    m,
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Lockfile {
        path: path.to_path_buf(),
        format: Format::Yarn,
        lockfile_version: 1,
        packages,
    })
}

fn shape(path: &Path, field: &str, message: String) -> LockfileError {
    LockfileError::Shape {
        path: path.to_path_buf(),
        field: field.to_owned(),
        message,
    }
}

/// Yarn's registry host, an alias of npm's.
const YARN_REGISTRY: &str = "https://registry.yarnpkg.com/";

fn classic(block: &yarn_v1::Block) -> Result<LockedPackage, String> {
    let first = &block.descriptors[0];
    let (key_name, range) = source::split_name(first)
        .ok_or_else(|| format!("descriptor {first:?} is not name@range"))?;
    let name = match range.strip_prefix("npm:").and_then(source::split_name) {
        Some((real, _)) => real,
        None => key_name,
    };
    let version = block.get("version").ok_or("has no `version`")?;
    let resolved = block
        .get("resolved")
        .map(|r| match r.strip_prefix(YARN_REGISTRY) {
            Some(rest) => format!("https://registry.npmjs.org/{rest}"),
            None => r.to_owned(),
        });
    let integrity_raw = block.get("integrity");
    let integrity = match integrity_raw {
        Some(raw) => source::sha512(raw).map_err(|m| format!("integrity: {m}"))?,
        None => None,
    };
    let source = if range.starts_with("link:") {
        Source::Link
    } else if range.starts_with("file:")
        || resolved.as_deref().is_some_and(|r| r.starts_with("file:"))
    {
        source::local(resolved.as_deref().unwrap_or(range))
    } else if source::is_git_spec(range) {
        Source::Git(resolved.unwrap_or_else(|| range.to_owned()))
    } else if let Some(resolved) = &resolved {
        source::from_spec(name, Some(version), resolved)
    } else if source::is_semver(version) {
        Source::Registry { resolved: None }
    } else {
        return Err(format!(
            "version {version:?} is not semver and there is no `resolved`"
        ));
    };
    Ok(LockedPackage {
        location: block.descriptors.join(", "),
        name: name.to_owned(),
        version: Some(version.to_owned()),
        integrity,
        integrity_raw: integrity_raw.map(str::to_owned),
        source,
        dev: false,
        optional: false,
        dev_optional: false,
        peer: false,
        direct: false,
        yarn_checksum: None,
    })
}

fn parse_berry(path: &Path, text: &str) -> Result<Lockfile, LockfileError> {
    let doc: Value = serde_yaml_ng::from_str(text).map_err(|e| yaml_error(path, FORMAT, &e))?;
    let Value::Mapping(top) = &doc else {
        return Err(shape(
            path,
            "(top level)",
            format!("expected a mapping, found {}", kind(&doc)),
        ));
    };
    let version = match top.get("__metadata").and_then(|m| m.get("version")) {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    let Some(version) = version.and_then(|v| u32::try_from(v).ok()) else {
        return Err(shape(
            path,
            "__metadata.version",
            "missing, or not a whole number".into(),
        ));
    };
    // The descriptors the workspaces declare.
    let mut declared: BTreeSet<String> = BTreeSet::new();
    for (_, entry) in top.iter() {
        let is_workspace = entry
            .get("resolution")
            .and_then(Value::as_str)
            .is_some_and(|r| r.contains("@workspace:"));
        if let (true, Some(Value::Mapping(deps))) = (is_workspace, entry.get("dependencies")) {
            for (name, range) in deps {
                if let (Some(n), Some(r)) = (name.as_str(), range.as_str()) {
                    declared.insert(format!("{n}@{r}"));
                }
            }
        }
    }
    let mut packages = Vec::new();
    for (key, entry) in top.iter() {
        let Some(key) = key.as_str() else {
            return Err(shape(
                path,
                "(top level)",
                format!("a key is {}", kind(key)),
            ));
        };
        if key == "__metadata" {
            continue;
        }
        let at = format!("{key:?}");
        let p = berry(key, entry).map_err(|(field, m)| {
            shape(
                path,
                &if field.is_empty() {
                    at.clone()
                } else {
                    format!("{at}.{field}")
                },
                m,
            )
        })?;
        if let Some(mut p) = p {
            p.direct = key
                .split(", ")
                .any(|d| declared.contains(d.split("::").next().unwrap_or(d)));
            packages.push(p);
        }
    }
    Ok(Lockfile {
        path: path.to_path_buf(),
        format: Format::Yarn,
        lockfile_version: version,
        packages,
    })
}

/// One Berry entry, or `None` for a workspace.
fn berry(key: &str, entry: &Value) -> Result<Option<LockedPackage>, (String, String)> {
    let Value::Mapping(map) = entry else {
        return Err((
            String::new(),
            format!("expected a mapping, found {}", kind(entry)),
        ));
    };
    let text = |field: &str| match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err((
            field.to_owned(),
            format!("expected a string, found {}", kind(other)),
        )),
    };
    let resolution = text("resolution")?.ok_or(("resolution".to_owned(), "missing".to_owned()))?;
    let (name, rest) = source::split_name(resolution).ok_or((
        "resolution".to_owned(),
        format!("{resolution:?} is not name@reference"),
    ))?;
    let mut version = text("version")?;
    let local_path = |spec: &str| {
        spec.split(['#'])
            .next()
            .unwrap_or(spec)
            .split("::")
            .next()
            .unwrap_or(spec)
            .to_owned()
    };
    let source = if rest.starts_with("workspace:") {
        return Ok(None);
    } else if let Some(v) = rest.strip_prefix("npm:") {
        if !source::is_semver(v) {
            return Err((
                "resolution".into(),
                format!("npm version {v:?} is not semver"),
            ));
        }
        version = Some(v);
        Source::Registry { resolved: None }
    } else if rest.starts_with("file:") {
        source::local(&local_path(rest))
    } else if rest.starts_with("portal:") || rest.starts_with("link:") {
        Source::Link
    } else if rest.starts_with("patch:") || rest.starts_with("exec:") {
        // A registry (or other) package with a local patch applied, or a
        // package a local script makes: local files decide its contents.
        Source::File(rest.to_owned())
    } else if source::is_git_spec(rest) || rest.contains("#commit=") || rest.contains(".git#") {
        Source::Git(rest.to_owned())
    } else if rest.starts_with("https://") || rest.starts_with("http://") {
        source::from_spec(name, version, rest)
    } else {
        return Err((
            "resolution".into(),
            format!("unknown protocol in {resolution:?}"),
        ));
    };
    Ok(Some(LockedPackage {
        location: key.to_owned(),
        name: name.to_owned(),
        version: version.map(str::to_owned),
        integrity: None,
        integrity_raw: None,
        source,
        dev: false,
        optional: false,
        dev_optional: false,
        peer: false,
        direct: false,
        yarn_checksum: text("checksum")?.map(str::to_owned),
    }))
}
