//! pnpm's `pnpm-lock.yaml`, lockfile versions 5.x (pnpm 7), 6.x (pnpm 8)
//! and 9.x (pnpm 9 and 10).
//!
//! One [`LockedPackage`] per entry of `packages` (a package at one version;
//! peer-dependency variants are one entry), its location the key as
//! written:
//! - 5.x: `/name/1.0.0` (peer variants `/name/1.0.0_peer@2.0.0`);
//! - 6.x: `/name@1.0.0` (peer variants `/name@1.0.0(peer@2.0.0)`);
//! - 9.x: `name@1.0.0` (peer variants only in `snapshots`);
//! - other sources (any version): `file:…`, `github.com/owner/repo/sha`,
//!   `name@file:…`, `name@git+…`, `name@https://…` with `name` and
//!   `version` fields where the key holds neither.
//!
//! The source is read from `resolution`: `{integrity}` alone is a registry
//! package; `{tarball}` is a registry tarball, a git host's archive, a
//! `file:` tarball or another remote tarball; `{type: directory}` a folder;
//! `{type: git, repo, commit}` a git repository. Aliases
//! (`lp: npm:left-pad@1.3.0`) are entries of the real name. Workspace
//! projects (`importers`) and their `link:` dependencies are the project
//! itself and are not listed; what the importers declare is
//! [`LockedPackage::direct`].

use std::collections::BTreeSet;
use std::path::Path;

use serde_yaml_ng::{Mapping, Value};

use super::{Format, LockedPackage, Lockfile, LockfileError, Source, source, syntax_at};

const FORMAT: &str = "pnpm-lock.yaml";

/// Parses a `pnpm-lock.yaml`.
pub(super) fn parse(path: &Path, bytes: &[u8]) -> Result<Lockfile, LockfileError> {
    let text = utf8(path, FORMAT, bytes)?;
    let doc: Value = serde_yaml_ng::from_str(text).map_err(|e| yaml_error(path, FORMAT, &e))?;
    let shape = |field: &str, message: String| LockfileError::Shape {
        path: path.to_path_buf(),
        field: field.to_owned(),
        message,
    };
    let Value::Mapping(top) = &doc else {
        return Err(shape(
            "(top level)",
            format!("expected a mapping, found {}", kind(&doc)),
        ));
    };
    let version = match top.get("lockfileVersion") {
        None => return Err(shape("lockfileVersion", "missing".into())),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => {
            return Err(shape(
                "lockfileVersion",
                format!("expected a string or a number, found {}", kind(other)),
            ));
        }
    };
    let major = match version
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
    {
        Some(m @ (5 | 6 | 9)) => m,
        _ => {
            return Err(LockfileError::UnsupportedFormat {
                path: path.to_path_buf(),
                format: FORMAT,
                found: version,
                supported: "only 5.x, 6.x and 9.x",
            });
        }
    };
    let direct = importer_keys(major, top);
    let optional = snapshot_optional(top);
    let mut packages = Vec::new();
    match top.get("packages") {
        None | Some(Value::Null) => {}
        Some(Value::Mapping(map)) => {
            for (key, entry) in map {
                let Value::String(key) = key else {
                    return Err(shape("packages", format!("a key is {}", kind(key))));
                };
                let at = format!("packages[{key:?}]");
                let mut p = package(major, key, entry).map_err(|(field, m)| {
                    shape(
                        &if field.is_empty() {
                            at.clone()
                        } else {
                            format!("{at}.{field}")
                        },
                        m,
                    )
                })?;
                let bare = strip_peers(major, key);
                p.direct = direct.contains(bare);
                p.optional |= optional.contains(bare);
                packages.push(p);
            }
        }
        Some(other) => {
            return Err(shape(
                "packages",
                format!("expected a mapping, found {}", kind(other)),
            ));
        }
    }
    Ok(Lockfile {
        path: path.to_path_buf(),
        format: Format::Pnpm,
        lockfile_version: major,
        packages,
    })
}

/// `bytes` as UTF-8, or a syntax error at the first bad byte.
pub(super) fn utf8<'a>(
    path: &Path,
    format: &'static str,
    bytes: &'a [u8],
) -> Result<&'a str, LockfileError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned();
        syntax_at(path, format, &valid, valid.len(), "invalid UTF-8")
    })
}

/// A YAML error with its line and column.
pub(super) fn yaml_error(
    path: &Path,
    format: &'static str,
    e: &serde_yaml_ng::Error,
) -> LockfileError {
    let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
    let text = e.to_string();
    // serde_yaml_ng's message ends with its own " at line L column C".
    let message = text.split(" at line ").next().unwrap_or(&text).to_owned();
    LockfileError::Syntax {
        path: path.to_path_buf(),
        format,
        line,
        column,
        message,
    }
}

/// The YAML type of `value`, for messages.
pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a sequence",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// A field error: (field path below the entry, message).
type FieldError = (String, String);

fn string<'a>(map: &'a Mapping, key: &str) -> Result<Option<&'a str>, FieldError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err((
            key.to_owned(),
            format!("expected a string, found {}", kind(other)),
        )),
    }
}

fn flag(map: &Mapping, key: &str) -> Result<bool, FieldError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err((
            key.to_owned(),
            format!("expected a boolean, found {}", kind(other)),
        )),
    }
}

/// The key without its peer-dependency suffix.
fn strip_peers(major: u32, key: &str) -> &str {
    if major == 9 || key.starts_with('/') {
        let cut = if major == 5 {
            // `/name/1.0.0_peer@2.0.0`: the suffix starts after the version.
            key.rfind('/')
                .and_then(|slash| key[slash..].find('_').map(|u| slash + u))
        } else {
            key.find('(')
        };
        return cut.map_or(key, |c| &key[..c]);
    }
    key
}

/// The name and version a key holds, if it is of the registry form.
fn key_name_version(major: u32, key: &str) -> Option<(&str, &str)> {
    let bare = strip_peers(major, key);
    match major {
        5 => bare.strip_prefix('/')?.rsplit_once('/'),
        6 => source::split_name(bare.strip_prefix('/')?),
        _ => source::split_name(bare),
    }
}

fn package(major: u32, key: &str, entry: &Value) -> Result<LockedPackage, FieldError> {
    let Value::Mapping(map) = entry else {
        return Err((
            String::new(),
            format!("expected a mapping, found {}", kind(entry)),
        ));
    };
    let from_key = key_name_version(major, key);
    let name = match (string(map, "name")?, from_key) {
        (Some(""), _) => return Err(("name".into(), "is empty".into())),
        (Some(name), _) => name,
        (None, Some((name, _))) => name,
        (None, None) => return Err((String::new(), "has no package name".into())),
    };
    let version =
        string(map, "version")?.or(from_key.map(|(_, v)| v).filter(|v| source::is_semver(v)));
    let Some(Value::Mapping(resolution)) = map.get("resolution") else {
        return Err(("resolution".into(), "missing, or not a mapping".into()));
    };
    let field = |f: &str| format!("resolution.{f}");
    let rel = |(f, m): FieldError| (field(&f), m);
    let integrity_raw = string(resolution, "integrity").map_err(rel)?;
    let integrity = match integrity_raw {
        Some(raw) => source::sha512(raw).map_err(|m| (field("integrity"), m))?,
        None => None,
    };
    let source = match (
        string(resolution, "type").map_err(rel)?,
        string(resolution, "tarball").map_err(rel)?,
    ) {
        (Some("directory"), _) => Source::Directory(
            string(resolution, "directory")
                .map_err(rel)?
                .unwrap_or(key)
                .to_owned(),
        ),
        (Some("git"), _) => {
            let repo = string(resolution, "repo").map_err(rel)?.unwrap_or_default();
            let commit = string(resolution, "commit")
                .map_err(rel)?
                .unwrap_or_default();
            Source::Git(format!("{repo}#{commit}"))
        }
        (Some(other), _) => {
            return Err((field("type"), format!("unknown resolution type {other:?}")));
        }
        (None, Some(tarball)) if tarball.starts_with("file:") => source::local(tarball),
        (None, Some(tarball)) => source::from_spec(name, version, tarball),
        (None, None) if integrity_raw.is_some() => match version {
            Some(v) if source::is_semver(v) => Source::Registry { resolved: None },
            _ => {
                return Err((
                    String::new(),
                    "a registry entry without a semver version".into(),
                ));
            }
        },
        (None, None) => {
            return Err((
                "resolution".into(),
                "has no integrity, tarball or type".into(),
            ));
        }
    };
    Ok(LockedPackage {
        location: key.to_owned(),
        name: name.to_owned(),
        version: version.map(str::to_owned),
        integrity,
        integrity_raw: integrity_raw.map(str::to_owned),
        source,
        dev: flag(map, "dev")?,
        optional: flag(map, "optional")?,
        dev_optional: false,
        peer: false,
        direct: false,
        yarn_checksum: None,
    })
}

/// The `packages` keys (without peer suffixes) that an importer (the root
/// project or a workspace) declares.
fn importer_keys(major: u32, top: &Mapping) -> BTreeSet<String> {
    let mut importers: Vec<&Mapping> = Vec::new();
    match top.get("importers") {
        Some(Value::Mapping(map)) => importers.extend(map.values().filter_map(Value::as_mapping)),
        _ => importers.push(top),
    }
    let mut keys = BTreeSet::new();
    for importer in importers {
        for group in ["dependencies", "devDependencies", "optionalDependencies"] {
            let Some(Value::Mapping(deps)) = importer.get(group) else {
                continue;
            };
            for (name, spec) in deps {
                let version = match spec {
                    Value::String(v) => Some(v.as_str()),
                    Value::Mapping(m) => m.get("version").and_then(Value::as_str),
                    _ => None,
                };
                let (Some(name), Some(version)) = (name.as_str(), version) else {
                    continue;
                };
                let cut = if major == 5 { '_' } else { '(' };
                let plain = if version.contains(':') {
                    version
                } else {
                    version.split(cut).next().unwrap_or(version)
                };
                keys.insert(plain.to_owned());
                keys.insert(strip_peers(major, &format!("/{plain}")).to_owned());
                keys.insert(match major {
                    5 => format!("/{name}/{plain}"),
                    6 => format!("/{name}@{plain}"),
                    _ => format!("{name}@{plain}"),
                });
            }
        }
    }
    keys
}

/// The 9.x `snapshots` keys (without peer suffixes) marked `optional`.
fn snapshot_optional(top: &Mapping) -> BTreeSet<String> {
    let Some(Value::Mapping(snapshots)) = top.get("snapshots") else {
        return BTreeSet::new();
    };
    snapshots
        .iter()
        .filter(|(_, v)| v.get("optional").and_then(Value::as_bool) == Some(true))
        .filter_map(|(k, _)| k.as_str())
        .map(|k| strip_peers(9, k).to_owned())
        .collect()
}
