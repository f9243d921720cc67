//! The rules shared by all lockfile versions: where a package comes from,
//! its name, its sha512 digest.

use gatelog_core::event::{EventError, Integrity};

use super::Source;

/// At most the first 64 characters of `text`, for messages.
fn short(text: &str) -> &str {
    text.char_indices()
        .nth(64)
        .map_or(text, |(end, _)| &text[..end])
}

/// Where a package with this (real) name, version and `resolved` comes
/// from, once links, bundled packages and local folders are set aside. The
/// error is a message about the entry as a whole.
pub(super) fn classify(
    name: &str,
    version: Option<&str>,
    resolved: Option<&str>,
) -> Result<Source, String> {
    if let Some(resolved) = resolved {
        return Ok(from_url(name, version, resolved));
    }
    match version {
        Some(version) if is_semver(version) => Ok(Source::Registry { resolved: None }),
        // Version 1 writes the spec of non-registry packages as the version.
        Some(spec) if is_git(spec) || is_url(spec) || spec.starts_with("file:") => {
            Ok(from_url(name, None, spec))
        }
        Some(version) => Err(format!(
            "version {:?} is not semver and there is no `resolved`",
            short(version)
        )),
        None => Err("has no version, no `resolved` and no `link`".to_owned()),
    }
}

/// The source of a package fetched from `url` (a `resolved` field or a
/// version 1 spec).
fn from_url(name: &str, version: Option<&str>, url: &str) -> Source {
    if is_git(url) {
        Source::Git(url.to_owned())
    } else if url.starts_with("file:") {
        local(url)
    } else if is_http(url) {
        match version {
            Some(v) if is_semver(v) && is_registry_tarball(url, name, v) => Source::Registry {
                resolved: Some(url.to_owned()),
            },
            _ => Source::RemoteTarball(url.to_owned()),
        }
    } else if is_url(url) {
        Source::RemoteTarball(url.to_owned())
    } else {
        // A bare path: npm writes those for folders.
        local(url)
    }
}

/// A local path or `file:` spec: a tarball when it ends as one (npm's
/// npm-package-arg rule: `.tgz`, `.tar.gz`, `.tar`), else a folder.
pub(super) fn local(spec: &str) -> Source {
    let path = spec.split(['#', '?']).next().unwrap_or(spec);
    let lower = path.to_ascii_lowercase();
    if [".tgz", ".tar.gz", ".tar"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        Source::File(spec.to_owned())
    } else {
        Source::Directory(spec.to_owned())
    }
}

/// Tarball URLs of git hosts' archives (what pnpm and Yarn classic write
/// for `github:` and other hosted-git dependencies).
pub(super) fn is_hosted_git_archive(url: &str) -> bool {
    url.starts_with("https://codeload.github.com/")
        || (url.starts_with("https://gitlab.com/") && url.contains("/-/archive/"))
        || (url.starts_with("https://bitbucket.org/") && url.contains("/get/"))
}

/// A package's source from a URL or spec as any lockfile writes it.
pub(super) fn from_spec(name: &str, version: Option<&str>, url: &str) -> Source {
    if is_hosted_git_archive(url) {
        return Source::Git(url.to_owned());
    }
    from_url(name, version, url)
}

/// Splits `name@rest` where the name may be scoped (`@scope/name@rest`).
pub(super) fn split_name(spec: &str) -> Option<(&str, &str)> {
    let from = usize::from(spec.starts_with('@'));
    let at = spec.get(from..)?.find('@')? + from;
    let (name, rest) = (&spec[..at], &spec[at + 1..]);
    (!name.is_empty() && name != "@").then_some((name, rest))
}

/// Whether a spec names a git repository.
pub(super) fn is_git_spec(spec: &str) -> bool {
    is_git(spec)
}

/// Strict semver (`1.2.3`, `1.0.0-rc.1`), not a range or a tag.
pub(super) fn is_semver(version: &str) -> bool {
    semver::Version::parse(version).is_ok()
}

fn is_http(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// Git URLs and the hosted-git shortcuts npm writes.
fn is_git(spec: &str) -> bool {
    [
        "git+",
        "git://",
        "git@",
        "github:",
        "gitlab:",
        "bitbucket:",
        "gist:",
    ]
    .iter()
    .any(|prefix| spec.starts_with(prefix))
}

/// Starts with a URL scheme of two or more characters (so not a Windows
/// drive letter).
fn is_url(spec: &str) -> bool {
    let Some((scheme, _)) = spec.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    scheme.len() >= 2
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// `url` is the registry tarball of `name`@`version`:
/// `http(s)://host/…/name/-/basename-version.tgz`, where a scoped name may
/// be written `@scope%2fname`. Query and fragment are ignored.
pub(super) fn is_registry_tarball(url: &str, name: &str, version: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let Some((host, path)) = rest.split_once('/') else {
        return false;
    };
    if host.is_empty() || name.is_empty() {
        return false;
    }
    let basename = name.rsplit('/').next().unwrap_or(name);
    let Some(dir) = path.strip_suffix(&format!("/-/{basename}-{version}.tgz")) else {
        return false;
    };
    let dir = format!("/{dir}");
    if dir.ends_with(&format!("/{name}")) {
        return true;
    }
    match name.split_once('/') {
        Some((scope, bare)) if scope.starts_with('@') => {
            let lower = dir.to_ascii_lowercase();
            lower.ends_with(&format!("/{scope}%2f{bare}").to_ascii_lowercase())
        }
        _ => false,
    }
}

/// Where a location is, for its name.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Place<'a> {
    /// Under `node_modules`: the package name after the last one.
    NodeModules(&'a str),
    /// A folder outside `node_modules`; its last path segment, if any.
    Folder(Option<&'a str>),
}

/// The package name that a version 2/3 location implies, or why there is
/// none.
pub(super) fn place(location: &str) -> Result<Place<'_>, String> {
    let segments: Vec<&str> = location.split('/').collect();
    let Some(last) = segments.iter().rposition(|s| *s == "node_modules") else {
        let folder = segments
            .iter()
            .rev()
            .find(|s| !matches!(**s, "" | "." | ".."))
            .copied();
        return Ok(Place::Folder(folder));
    };
    let start: usize = segments[..=last].iter().map(|s| s.len() + 1).sum();
    let after = location.get(start..).unwrap_or_default();
    let valid = |s: &str| !matches!(s, "" | "." | ".." | "node_modules") && !s.starts_with('@');
    match &segments[last + 1..] {
        [bare] if valid(bare) => Ok(Place::NodeModules(after)),
        [scope, bare] if scope.len() > 1 && scope.starts_with('@') && valid(bare) => {
            Ok(Place::NodeModules(after))
        }
        _ => Err("does not end in a package name after `node_modules/`".to_owned()),
    }
}

/// A version 1 alias `npm:real@version` (or `npm:@scope/real@version`) as
/// (real name, version).
pub(super) fn alias(spec: &str) -> Option<(&str, &str)> {
    let target = spec.strip_prefix("npm:")?;
    let at = target.rfind('@').filter(|at| *at > 0)?;
    let (name, version) = (&target[..at], &target[at + 1..]);
    (!version.is_empty()).then_some((name, version))
}

/// The sha512 digest in an SRI string that may list several hashes
/// (`sha1-… sha512-…`), each maybe with `?options`. `None` if it has no
/// sha512 entry; an error if one is malformed or two disagree.
pub(super) fn sha512(sri: &str) -> Result<Option<Integrity>, String> {
    let mut found: Option<Integrity> = None;
    for entry in sri.split_ascii_whitespace() {
        if !entry.starts_with("sha512-") {
            continue;
        }
        let hash = entry.split('?').next().unwrap_or(entry);
        let digest = Integrity::parse(hash).map_err(|e| match e {
            EventError::InvalidIntegrity { reason } => reason,
            other => other.to_string(),
        })?;
        match found {
            Some(earlier) if earlier != digest => {
                return Err("holds two different sha512 digests".to_owned());
            }
            _ => found = Some(digest),
        }
    }
    Ok(found)
}
