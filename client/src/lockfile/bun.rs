//! Bun's text lockfile `bun.lock` (JSON with comments and trailing commas;
//! the default since bun 1.2). The binary `bun.lockb` of older versions is
//! refused with the command that writes the text one.
//!
//! `packages` maps an install path (`name`, `parent/name`) to an array
//! whose first element is the resolution `name@reference`:
//! - registry: `["name@1.2.3", "<registry URL or empty>", {…}, "sha512-…"]`;
//! - folder: `["name@file:dir", {…}]`; tarball file: `["name@./x.tgz", {…},
//!   "sha512-…"]`; link: `["name@link:…"]`;
//! - git: `["name@github:owner/repo#sha", {…}, "…"]`, `git+…`;
//! - remote tarball: `["name@https://…", {…}, "sha512-…"]`;
//! - workspace: `["name@workspace:path"]`, the project itself, not listed.
//!
//! What the `workspaces` declare is [`LockedPackage::direct`].

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::pnpm::utf8;
use super::{Format, LockedPackage, Lockfile, LockfileError, Source, kind, source, syntax_at};

const FORMAT: &str = "bun.lock";

/// How `bun.lockb` starts.
pub const BINARY_MAGIC: &[u8] = b"#!/usr/bin/env bun\n";

/// The deepest nesting read (serde_json's own limit).
const MAX_DEPTH: usize = 128;

/// Parses a `bun.lock`.
pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<Lockfile, LockfileError> {
    if bytes.starts_with(BINARY_MAGIC) || bytes.contains(&0) {
        return Err(LockfileError::BinaryBun {
            path: path.to_path_buf(),
        });
    }
    let text = utf8(path, FORMAT, bytes)?;
    if let Some(offset) = too_deep(text) {
        return Err(syntax_at(
            path,
            FORMAT,
            text,
            offset,
            format!("nested deeper than {MAX_DEPTH}"),
        ));
    }
    let options = jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_loose_object_property_names: false,
        allow_trailing_commas: true,
    };
    let doc = jsonc_parser::parse_to_serde_value(text, &options)
        .map_err(|e| syntax_at(path, FORMAT, text, e.range().start, e.kind().to_string()))?
        .unwrap_or(Value::Null);
    let shape = |field: &str, message: String| LockfileError::Shape {
        path: path.to_path_buf(),
        field: field.to_owned(),
        message,
    };
    let Value::Object(top) = &doc else {
        return Err(shape(
            "(top level)",
            format!("expected an object, found {}", kind(&doc)),
        ));
    };
    let version = match top.get("lockfileVersion") {
        Some(Value::Number(n)) => n.as_u64().and_then(|v| u32::try_from(v).ok()),
        _ => None,
    };
    let Some(version) = version else {
        return Err(shape(
            "lockfileVersion",
            "missing, or not a whole number".into(),
        ));
    };
    if version > 2 {
        return Err(LockfileError::UnsupportedFormat {
            path: path.to_path_buf(),
            format: FORMAT,
            found: version.to_string(),
            supported: "only 0, 1 and 2",
        });
    }
    let mut declared: BTreeSet<&str> = BTreeSet::new();
    if let Some(Value::Object(workspaces)) = top.get("workspaces") {
        for ws in workspaces.values() {
            for group in [
                "dependencies",
                "devDependencies",
                "optionalDependencies",
                "peerDependencies",
            ] {
                if let Some(Value::Object(deps)) = ws.get(group) {
                    declared.extend(deps.keys().map(String::as_str));
                }
            }
        }
    }
    let mut packages = Vec::new();
    match top.get("packages") {
        None => {}
        Some(Value::Object(map)) => {
            for (key, entry) in map {
                let at = format!("packages[{key:?}]");
                if let Some(mut p) = package(key, entry).map_err(|m| shape(&at, m))? {
                    p.direct = declared.contains(key.as_str());
                    packages.push(p);
                }
            }
        }
        Some(other) => {
            return Err(shape(
                "packages",
                format!("expected an object, found {}", kind(other)),
            ));
        }
    }
    Ok(Lockfile {
        path: path.to_path_buf(),
        format: Format::Bun,
        lockfile_version: version,
        packages,
    })
}

/// The byte offset where `text` nests deeper than [`MAX_DEPTH`], counting
/// brackets outside strings.
fn too_deep(text: &str) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, b) in text.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// One entry, or `None` for a workspace.
fn package(key: &str, entry: &Value) -> Result<Option<LockedPackage>, String> {
    let Value::Array(items) = entry else {
        return Err(format!("expected an array, found {}", kind(entry)));
    };
    let Some(Value::String(resolution)) = items.first() else {
        return Err("[0]: expected the resolution `name@reference`".into());
    };
    let (name, reference) = source::split_name(resolution)
        .ok_or_else(|| format!("[0]: {resolution:?} is not name@reference"))?;
    // The integrity is the last string element that is an SRI value.
    let integrity_raw = items[1..]
        .iter()
        .rev()
        .filter_map(Value::as_str)
        .find(|s| s.starts_with("sha") && s.contains('-'));
    let integrity = match integrity_raw {
        Some(raw) => source::sha512(raw).map_err(|m| format!("integrity: {m}"))?,
        None => None,
    };
    let mut version = None;
    let source = if reference.starts_with("workspace:") {
        return Ok(None);
    } else if source::is_semver(reference) {
        version = Some(reference);
        let registry = match items.get(1) {
            Some(Value::String(url)) if !url.is_empty() => url.trim_end_matches('/'),
            Some(Value::String(_)) | None => "",
            Some(other) => {
                return Err(format!(
                    "[1]: expected the registry URL, found {}",
                    kind(other)
                ));
            }
        };
        if registry.is_empty() {
            Source::Registry { resolved: None }
        } else {
            let base = name.rsplit('/').next().unwrap_or(name);
            Source::Registry {
                resolved: Some(format!("{registry}/{name}/-/{base}-{reference}.tgz")),
            }
        }
    } else if reference.starts_with("link:") {
        Source::Link
    } else if reference.starts_with("file:")
        || reference.starts_with("./")
        || reference.starts_with("../")
        || reference.starts_with('/')
    {
        source::local(reference)
    } else if source::is_git_spec(reference) {
        Source::Git(reference.to_owned())
    } else if reference.starts_with("https://") || reference.starts_with("http://") {
        source::from_spec(name, None, reference)
    } else {
        return Err(format!("[0]: unknown reference in {resolution:?}"));
    };
    Ok(Some(LockedPackage {
        location: key.to_owned(),
        name: name.to_owned(),
        version: version.map(str::to_owned),
        integrity,
        integrity_raw: integrity_raw.map(str::to_owned),
        source,
        dev: false,
        optional: false,
        dev_optional: false,
        peer: false,
        direct: false,
        yarn_checksum: None,
    }))
}
