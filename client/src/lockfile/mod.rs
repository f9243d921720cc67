//! Lockfiles: the list of every package they pin, for `gatelog verify`.
//!
//! Each package manager's lockfile maps to the same [`LockedPackage`]s
//! (name, version, integrity, source):
//! - npm (`npm-shrinkwrap.json`, `package-lock.json`), below;
//! - pnpm (`pnpm-lock.yaml` 5.x, 6.x and 9.x): [`pnpm`];
//! - Yarn (`yarn.lock`, classic v1 and Berry v2+): [`yarn`];
//! - Bun (`bun.lock`, text; the binary `bun.lockb` is refused with the
//!   command that writes the text one): [`bun`].
//!
//! All three formats npm has written are read:
//! - `lockfileVersion` 1 (npm 5 and 6): a tree of nested `dependencies`
//!   objects, name → `{version, resolved, integrity, dev, optional, bundled,
//!   requires, dependencies}`;
//! - `lockfileVersion` 2 (npm 7 and 8): the `packages` map keyed by install
//!   location, plus a v1-style `dependencies` tree that is ignored when
//!   `packages` is present;
//! - `lockfileVersion` 3 (npm 9 and later): the `packages` map only.
//!
//! The root project (the `""` entry of `packages`) is not a dependency and is
//! left out; every other entry appears in [`Lockfile::packages`], whatever its
//! source: nothing is dropped silently. Only [`Source::Registry`] entries can
//! be checked against a transparency log; the others are listed so the caller
//! can report them.
//!
//! Parsing never panics: malformed input of any kind is a [`LockfileError`].

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use gatelog_core::event::Integrity;
use serde_json::{Map, Value};

pub mod bun;
mod packages;
pub mod pnpm;
mod source;
mod v1;
pub mod yarn;
mod yarn_v1;

#[cfg(test)]
mod tests;

/// The largest lockfile read, in bytes (256 MiB). The biggest real
/// lockfiles are a few tens of MiB.
pub const MAX_LOCKFILE_BYTES: u64 = 256 << 20;

/// The lockfile names of every package manager, with their format.
const ALL_LOCKFILE_NAMES: [(&str, Format); 6] = [
    ("npm-shrinkwrap.json", Format::Npm),
    ("package-lock.json", Format::Npm),
    ("pnpm-lock.yaml", Format::Pnpm),
    ("yarn.lock", Format::Yarn),
    ("bun.lock", Format::Bun),
    ("bun.lockb", Format::Bun),
];

/// The package manager a lockfile is written by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// npm's `package-lock.json` / `npm-shrinkwrap.json`.
    Npm,
    /// pnpm's `pnpm-lock.yaml`.
    Pnpm,
    /// Yarn's `yarn.lock` (classic or Berry; see [`Lockfile::lockfile_version`]).
    Yarn,
    /// Bun's `bun.lock`.
    Bun,
}

impl Format {
    /// The package manager's name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Npm => "npm",
            Format::Pnpm => "pnpm",
            Format::Yarn => "yarn",
            Format::Bun => "bun",
        }
    }
}

/// A parsed lockfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lockfile {
    /// Where it was read from (as given to [`load`] or [`parse`]).
    pub path: PathBuf,
    /// Which package manager wrote it.
    pub format: Format,
    /// Its format version's major number: npm's `lockfileVersion` (1, 2,
    /// 3), pnpm's `lockfileVersion` (5, 6, 9), Yarn's 1 for classic or the
    /// `__metadata.version` of Berry (4 and up), Bun's `lockfileVersion`.
    pub lockfile_version: u32,
    /// Every package it pins, without the root project: for versions 2 and
    /// 3 in the order of the `packages` map, for version 1 depth first.
    pub packages: Vec<LockedPackage>,
}

impl Lockfile {
    /// The packages that come from a registry: the ones a transparency log
    /// can vouch for.
    pub fn registry_packages(&self) -> impl Iterator<Item = &LockedPackage> {
        self.packages
            .iter()
            .filter(|p| matches!(p.source, Source::Registry { .. }))
    }
}

/// One package pinned by a lockfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedPackage {
    /// Where it is installed: the `packages` key for versions 2 and 3
    /// (`node_modules/@scope/a/node_modules/b`, or a folder such as
    /// `packages/foo` for workspaces), the chain of dependency names joined
    /// by ` > ` for version 1 (`a > b`).
    pub location: String,
    /// The real package name: the `name` field when there is one (aliases
    /// such as `"lp": "npm:left-pad@1.3.0"`, workspace folders), else the
    /// part of the location after the last `node_modules/` (or, for
    /// version 1, the dependency's key or the name in its `npm:` alias).
    pub name: String,
    /// The version as written; for a version 1 alias (`npm:left-pad@1.3.0`)
    /// only the version after the `@`. `None` for entries without one
    /// (`link: true` entries).
    pub version: Option<String>,
    /// The sha512 digest of the tarball, when `integrity` holds one.
    pub integrity: Option<Integrity>,
    /// The `integrity` string as written: it may hold several hashes
    /// (`sha1-… sha512-…`) or none of sha512.
    pub integrity_raw: Option<String>,
    /// Where the package comes from.
    pub source: Source,
    /// Only needed for development (`dev: true`).
    pub dev: bool,
    /// Only needed as an optional dependency (`optional: true`).
    pub optional: bool,
    /// Needed by development dependencies and by optional dependencies
    /// (`devOptional: true`, versions 2 and 3): omitted only when both are.
    pub dev_optional: bool,
    /// Only needed as a peer dependency (`peer: true`, versions 2 and 3).
    pub peer: bool,
    /// Declared in the root project's or a workspace's `package.json`, as
    /// far as the lockfile tells (npm 2/3, pnpm, Yarn Berry, Bun); always
    /// false for npm 1 and Yarn classic, which do not record it. npm's
    /// `--allow-* root` settings allow such dependencies only.
    pub direct: bool,
    /// Yarn Berry's `checksum` (`10c0/<hex>`): a hash of the zip archive
    /// Yarn makes from the tarball, not the tarball's sha512, so it cannot
    /// be compared with the log's integrity.
    pub yarn_checksum: Option<String>,
}

/// Where a locked package comes from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// A registry: the version is strict semver and `resolved` is absent or
    /// an `https`/`http` URL of that name and version's registry tarball
    /// (`…/name/-/name-version.tgz`).
    Registry {
        /// The tarball URL, when written.
        resolved: Option<String>,
    },
    /// A symbolic link to a folder (`link: true`): npm workspaces and
    /// `file:` folder dependencies. It has no content of its own; the folder
    /// it points to is an entry of its own ([`Source::File`]).
    Link,
    /// Shipped inside the tarball of the package that bundles it
    /// (`inBundle: true`, or `bundled: true` in version 1).
    Bundled,
    /// A git repository: the `resolved` URL, or the version spec in
    /// version 1 (`github:user/repo#sha`, `git+https://…`).
    Git(String),
    /// A tarball on the local disk (`file:….tgz`), as written.
    File(String),
    /// A folder on the local disk: a `file:` folder spec, or a folder
    /// outside `node_modules` such as a workspace or another link target
    /// (its location).
    Directory(String),
    /// A tarball at a URL that is not the registry tarball of this name and
    /// version (or any other URL that is neither git nor `file:`).
    RemoteTarball(String),
}

/// Why a lockfile could not be found, read or understood.
#[derive(Debug, thiserror::Error)]
pub enum LockfileError {
    /// The lockfile does not exist.
    #[error("lockfile {} does not exist", path.display())]
    Missing {
        /// The path tried.
        path: PathBuf,
    },
    /// The lockfile exists but could not be read.
    #[error("cannot read lockfile {}: {source}", path.display())]
    Unreadable {
        /// The path tried.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A folder has no lockfile of any package manager.
    #[error(
        "no lockfile in {} (looked for npm-shrinkwrap.json, package-lock.json, pnpm-lock.yaml, \
         yarn.lock, bun.lock)",
        dir.display()
    )]
    NoLockfile {
        /// The folder searched.
        dir: PathBuf,
    },
    /// A folder has the lockfiles of two package managers.
    #[error(
        "{} has lockfiles of more than one package manager ({}); name the one your CI installs \
         from with --lockfile FILE",
        dir.display(),
        found.join(", ")
    )]
    Ambiguous {
        /// The folder searched.
        dir: PathBuf,
        /// The lockfiles found.
        found: Vec<String>,
    },
    /// Bun's binary lockfile, which gatelog does not read.
    #[error(
        "{} is Bun's binary lockfile, which gatelog cannot read: write the text lockfile \
         bun.lock with `bun install --save-text-lockfile` (the default since bun 1.2), \
         commit it, and delete bun.lockb",
        path.display()
    )]
    BinaryBun {
        /// The lockfile.
        path: PathBuf,
    },
    /// A YAML, JSONC or yarn.lock syntax error.
    #[error(
        "{} is not a valid {format} lockfile: {message} at line {line}, column {column}",
        path.display()
    )]
    Syntax {
        /// The lockfile.
        path: PathBuf,
        /// Its format (`pnpm-lock.yaml`, `yarn.lock`, `bun.lock`).
        format: &'static str,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong there.
        message: String,
    },
    /// A lockfile format version gatelog does not read.
    #[error("{}: {format} lockfileVersion {found} is not supported ({supported})", path.display())]
    UnsupportedFormat {
        /// The lockfile.
        path: PathBuf,
        /// The format.
        format: &'static str,
        /// The version found.
        found: String,
        /// The versions read.
        supported: &'static str,
    },
    /// The lockfile is larger than [`MAX_LOCKFILE_BYTES`].
    #[error(
        "lockfile {} is {size} bytes, more than the limit of {limit}",
        path.display()
    )]
    TooLarge {
        /// The lockfile.
        path: PathBuf,
        /// Its size in bytes (or the bytes read before giving up).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The lockfile is not JSON.
    #[error(
        "{} is not valid JSON: {message} at line {line}, column {column}",
        path.display()
    )]
    Json {
        /// The lockfile.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong there.
        message: String,
    },
    /// The lockfile is JSON but a field is missing or of the wrong type.
    #[error("{}: {field}: {message}", path.display())]
    Shape {
        /// The lockfile.
        path: PathBuf,
        /// The field, e.g. `packages["node_modules/a"].version`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The `lockfileVersion` is not 1, 2 or 3.
    #[error(
        "{}: lockfileVersion {found} is not supported (only 1, 2 and 3)",
        path.display()
    )]
    UnsupportedVersion {
        /// The lockfile.
        path: PathBuf,
        /// The version found.
        found: u64,
    },
    /// An `integrity` field holds a malformed sha512 value.
    #[error("{}: {field}: invalid sha512 integrity: {reason}", path.display())]
    InvalidIntegrity {
        /// The lockfile.
        path: PathBuf,
        /// The field, e.g. `packages["node_modules/a"].integrity`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The lockfile in `dir`: npm's (`npm-shrinkwrap.json` wins over
/// `package-lock.json`, as for npm), `pnpm-lock.yaml`, `yarn.lock`,
/// `bun.lock` or `bun.lockb` (`bun.lock` wins, as for bun). Lockfiles of two
/// package managers in one folder are refused: which one CI installs from
/// cannot be guessed.
pub fn find(dir: &Path) -> Result<PathBuf, LockfileError> {
    let mut found: Vec<(PathBuf, Format)> = Vec::new();
    for (name, format) in ALL_LOCKFILE_NAMES {
        let path = dir.join(name);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => {
                if !found.iter().any(|(_, f)| *f == format) {
                    found.push((path, format));
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(LockfileError::Unreadable { path, source }),
        }
    }
    match found.len() {
        0 => Err(LockfileError::NoLockfile {
            dir: dir.to_path_buf(),
        }),
        1 => Ok(found.remove(0).0),
        _ => Err(LockfileError::Ambiguous {
            dir: dir.to_path_buf(),
            found: found
                .iter()
                .filter_map(|(p, _)| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .collect(),
        }),
    }
}

/// The format of the lockfile `path` holding `bytes`: by its file name, else
/// by its first bytes (npm's JSON when nothing else matches).
pub fn detect(path: &Path, bytes: &[u8]) -> Format {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some((_, format)) = ALL_LOCKFILE_NAMES.iter().find(|(n, _)| *n == name) {
        return *format;
    }
    if name.ends_with(".json") {
        return Format::Npm;
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    let first = head
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    if bytes.starts_with(bun::BINARY_MAGIC) || head.contains("# yarn lockfile v1") {
        return if bytes.starts_with(bun::BINARY_MAGIC) {
            Format::Bun
        } else {
            Format::Yarn
        };
    }
    match first {
        Some(l) if l.starts_with("lockfileVersion:") => Format::Pnpm,
        Some(l) if l.starts_with("__metadata:") => Format::Yarn,
        Some(l) if !l.starts_with('{') => Format::Yarn,
        _ if head.contains("\"workspaces\"") && head.contains("\"configVersion\"") => Format::Bun,
        _ => Format::Npm,
    }
}

/// Reads and parses the lockfile at `path`.
pub fn load(path: &Path) -> Result<Lockfile, LockfileError> {
    let io_error = |source: io::Error| match source.kind() {
        io::ErrorKind::NotFound => LockfileError::Missing {
            path: path.to_path_buf(),
        },
        _ => LockfileError::Unreadable {
            path: path.to_path_buf(),
            source,
        },
    };
    let too_large = |size: u64| LockfileError::TooLarge {
        path: path.to_path_buf(),
        size,
        limit: MAX_LOCKFILE_BYTES,
    };
    let file = File::open(path).map_err(io_error)?;
    let len = file.metadata().map_err(io_error)?.len();
    if len > MAX_LOCKFILE_BYTES {
        return Err(too_large(len));
    }
    // The file may grow between the check and the read: read at most one
    // byte more than the limit.
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(MAX_LOCKFILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    parse(path, &bytes)
}

/// Parses lockfile text of the format [`detect`] finds; `path` is only
/// used for that, in the result and in errors.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Lockfile, LockfileError> {
    parse_as(detect(path, bytes), path, bytes)
}

/// Parses lockfile text of a known format.
pub fn parse_as(format: Format, path: &Path, bytes: &[u8]) -> Result<Lockfile, LockfileError> {
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if size > MAX_LOCKFILE_BYTES {
        return Err(LockfileError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit: MAX_LOCKFILE_BYTES,
        });
    }
    match format {
        Format::Npm => parse_npm(path, bytes),
        Format::Pnpm => pnpm::parse(path, bytes),
        Format::Yarn => yarn::parse(path, bytes),
        Format::Bun => bun::parse(path, bytes),
    }
}

/// npm's `package-lock.json` / `npm-shrinkwrap.json`.
fn parse_npm(path: &Path, bytes: &[u8]) -> Result<Lockfile, LockfileError> {
    // npm (through `json-parse-even-better-errors`) accepts a byte order mark.
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let doc: Value = serde_json::from_slice(text).map_err(|e| json_error(path, &e))?;
    let ctx = Ctx { path };
    let Value::Object(top) = &doc else {
        return Err(ctx.shape(
            "(top level)",
            format!("expected an object, found {}", kind(&doc)),
        ));
    };
    let lockfile_version = lockfile_version(&ctx, top)?;
    let mut packages = match (lockfile_version, top.get("packages")) {
        (1, _) => v1::parse(&ctx, top.get("dependencies"))?,
        (_, Some(packages)) => packages::parse(&ctx, packages)?,
        // A version 2 file without `packages` still has the v1 tree.
        (2, None) if top.contains_key("dependencies") => v1::parse(&ctx, top.get("dependencies"))?,
        (_, None) => return Err(ctx.shape("packages", "missing")),
    };
    if let Some(Value::Object(all)) = top.get("packages") {
        packages::mark_direct(all, &mut packages);
    }
    Ok(Lockfile {
        path: path.to_path_buf(),
        format: Format::Npm,
        lockfile_version,
        packages,
    })
}

/// The `lockfileVersion`: 1, 2 or 3.
fn lockfile_version(ctx: &Ctx, top: &Map<String, Value>) -> Result<u32, LockfileError> {
    let Some(value) = top.get("lockfileVersion") else {
        return Err(ctx.shape("lockfileVersion", "missing"));
    };
    let Some(found) = value.as_u64() else {
        let found = match value {
            Value::Number(n) => format!("the number {n}"),
            other => kind(other).to_owned(),
        };
        return Err(ctx.shape(
            "lockfileVersion",
            format!("expected a non-negative integer, found {found}"),
        ));
    };
    match u32::try_from(found) {
        Ok(version @ 1..=3) => Ok(version),
        _ => Err(LockfileError::UnsupportedVersion {
            path: ctx.path.to_path_buf(),
            found,
        }),
    }
}

/// A serde_json error as [`LockfileError::Json`].
fn json_error(path: &Path, e: &serde_json::Error) -> LockfileError {
    let (line, column) = (e.line(), e.column());
    // serde_json's message ends with its own " at line L column C".
    let text = e.to_string();
    let suffix = format!(" at line {line} column {column}");
    let message = text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
    LockfileError::Json {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

/// A syntax error at a byte offset of `text` as [`LockfileError::Syntax`].
pub(crate) fn syntax_at(
    path: &Path,
    format: &'static str,
    text: &str,
    offset: usize,
    message: impl Into<String>,
) -> LockfileError {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    LockfileError::Syntax {
        path: path.to_path_buf(),
        format,
        line,
        column,
        message: message.into(),
    }
}

/// What errors need to know about the file being parsed.
struct Ctx<'a> {
    path: &'a Path,
}

impl Ctx<'_> {
    fn shape(&self, field: impl Into<String>, message: impl Into<String>) -> LockfileError {
        LockfileError::Shape {
            path: self.path.to_path_buf(),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// One JSON object of the lockfile, named by its field path for errors.
struct Obj<'a> {
    ctx: &'a Ctx<'a>,
    map: &'a Map<String, Value>,
    at: String,
}

impl<'a> Obj<'a> {
    /// `value` as an object named `at`.
    fn new(ctx: &'a Ctx<'a>, value: &'a Value, at: String) -> Result<Obj<'a>, LockfileError> {
        match value {
            Value::Object(map) => Ok(Obj { ctx, map, at }),
            other => Err(ctx.shape(at, format!("expected an object, found {}", kind(other)))),
        }
    }

    fn field(&self, key: &str) -> String {
        format!("{}.{key}", self.at)
    }

    fn wrong(&self, key: &str, expected: &str, found: &Value) -> LockfileError {
        self.ctx.shape(
            self.field(key),
            format!("expected {expected}, found {}", kind(found)),
        )
    }

    /// An optional string field.
    fn string(&self, key: &str) -> Result<Option<&'a str>, LockfileError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong(key, "a string", other)),
        }
    }

    /// An optional boolean field, false when absent.
    fn flag(&self, key: &str) -> Result<bool, LockfileError> {
        match self.map.get(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.wrong(key, "a boolean", other)),
        }
    }

    /// The `integrity` field: the raw string and its sha512 digest.
    fn integrity(&self) -> Result<(Option<Integrity>, Option<String>), LockfileError> {
        let Some(raw) = self.string("integrity")? else {
            return Ok((None, None));
        };
        let digest = source::sha512(raw).map_err(|reason| LockfileError::InvalidIntegrity {
            path: self.ctx.path.to_path_buf(),
            field: self.field("integrity"),
            reason,
        })?;
        Ok((digest, Some(raw.to_owned())))
    }
}

/// `key` quoted for a field path: `packages["node_modules/a"]`.
fn quote(key: &str) -> String {
    format!("{key:?}")
}

/// The JSON type of `value`, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
