//! The files a local checkout would publish, as npm itself lists them
//! (`npm pack --dry-run --json`), read from disk for comparison with the
//! staged tarball.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use super::compare::unified;
use super::findings::Finding;
use super::tarball::{File, Files, MAX_ENTRIES, MAX_TARBALL};

/// The source side of a review.
#[derive(Clone, Debug, Serialize)]
pub struct SourceReport {
    /// The checkout.
    pub dir: PathBuf,
    /// How many files npm would pack there.
    pub files: usize,
    /// Files in the tarball that the source would not pack.
    pub extra: Vec<String>,
    /// Files whose content or mode differs, with a diff for text.
    pub differs: Vec<SourceDiff>,
    /// Files the source would pack that the tarball lacks.
    pub missing: Vec<String>,
}

/// One file that differs between source and tarball.
#[derive(Clone, Debug, Serialize)]
pub struct SourceDiff {
    /// Its path.
    pub path: String,
    /// Source to tarball, for text files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// The files npm would pack in `dir`, read from disk. Scripts are not run
/// (`--ignore-scripts`): reviewing must not execute the package.
pub fn packed_files(npm: &Path, dir: &Path) -> Result<Files, String> {
    let out = Command::new(npm)
        .args(["pack", "--dry-run", "--json", "--ignore-scripts"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {} in {}: {e}", npm.display(), dir.display()))?;
    if !out.status.success() {
        return Err(format!(
            "`npm pack --dry-run` in {} failed ({}): {}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let listing: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("`npm pack --dry-run --json` printed no JSON: {e}"))?;
    let entries = listing[0]["files"]
        .as_array()
        .ok_or("`npm pack --dry-run --json` listed no files")?;
    if entries.len() > MAX_ENTRIES {
        return Err(format!("the source packs more than {MAX_ENTRIES} files"));
    }
    let mut files = Files::new();
    let mut total = 0usize;
    for e in entries {
        let path = e["path"].as_str().ok_or("a packed file without a path")?;
        if path.starts_with('/') || path.split(['/', '\\']).any(|p| p == "..") {
            return Err(format!("npm listed {path:?}, outside the checkout"));
        }
        let on_disk = dir.join(path);
        let bytes = crate::files::read_limited(&on_disk, MAX_TARBALL as u64)
            .map_err(|e| format!("{}: {e}", on_disk.display()))?;
        total += bytes.len();
        if total > MAX_TARBALL * 4 {
            return Err("the source's packed files are too large to compare".into());
        }
        let executable = executable(&on_disk, e["mode"].as_u64());
        files.insert(path.to_owned(), File { bytes, executable });
    }
    Ok(files)
}

/// npm reports each file's mode; the file system is the fallback.
fn executable(path: &Path, mode: Option<u64>) -> bool {
    if let Some(mode) = mode {
        return mode & 0o111 != 0;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Compares the staged tarball with the source's files, content by
/// content (the execute bit is npm's to set for binaries, so it is not
/// compared); returns the report and its findings.
pub fn compare(dir: &Path, source: &Files, staged: &Files) -> (SourceReport, Vec<Finding>) {
    let mut report = SourceReport {
        dir: dir.to_owned(),
        files: source.len(),
        extra: Vec::new(),
        differs: Vec::new(),
        missing: Vec::new(),
    };
    let mut findings = Vec::new();
    for (path, file) in staged {
        match source.get(path) {
            None => {
                findings.push(Finding::flag(
                    "source-extra",
                    format!("{path} is in the tarball but not in the source"),
                    Some(path),
                ));
                report.extra.push(path.clone());
            }
            Some(s) if s.bytes != file.bytes => {
                findings.push(Finding::flag(
                    "source-differs",
                    format!("{path} differs from the source"),
                    Some(path),
                ));
                report.differs.push(SourceDiff {
                    path: path.clone(),
                    diff: unified(path, &s.bytes, &file.bytes, ("source", "tarball")),
                });
            }
            Some(_) => {}
        }
    }
    for path in source.keys() {
        if !staged.contains_key(path) {
            findings.push(Finding::note(
                "source-missing",
                format!("{path} is in the source but not in the tarball"),
                Some(path),
            ));
            report.missing.push(path.clone());
        }
    }
    (report, findings)
}
