//! File-by-file comparison of two packages: what was added, removed or
//! changed, with a unified diff of text files.

use std::time::Duration;

use serde::Serialize;
use similar::TextDiff;

use super::tarball::Files;

/// Text files larger than this are compared, not diffed.
const MAX_DIFFED: usize = 1 << 20;
/// A diff that takes longer than this is cut to a coarser one.
const DIFF_TIMEOUT: Duration = Duration::from_secs(5);

/// How a file differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Only in the new package.
    Added,
    /// Only in the old package.
    Removed,
    /// In both, with other content or mode.
    Changed,
}

impl Change {
    /// Its JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Changed => "changed",
        }
    }
}

/// One file that differs.
#[derive(Clone, Debug, Serialize)]
pub struct FileChange {
    /// Its path in the package.
    pub path: String,
    /// How.
    pub change: Change,
    /// Whether it is executable in the new package (`false` when removed).
    pub executable: bool,
    /// Whether it was executable in the old package (`false` when added).
    pub was_executable: bool,
    /// A unified diff, for text files (absent for binary or large files
    /// and for removals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// `bytes` as text, if it is UTF-8 without NUL.
pub fn text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes)
        .ok()
        .filter(|t| !t.contains('\0'))
}

/// A unified diff from `old` to `new` of file `path`, if both are text
/// and small enough.
pub fn unified(path: &str, old: &[u8], new: &[u8], labels: (&str, &str)) -> Option<String> {
    if old.len() > MAX_DIFFED || new.len() > MAX_DIFFED {
        return None;
    }
    let (old, new) = (text(old)?, text(new)?);
    let diff = TextDiff::configure()
        .timeout(DIFF_TIMEOUT)
        .diff_lines(old, new);
    Some(
        diff.unified_diff()
            .context_radius(3)
            .header(
                &format!("{}/{path}", labels.0),
                &format!("{}/{path}", labels.1),
            )
            .to_string(),
    )
}

/// The files that differ from `old` to `new`, by path.
pub fn compare(old: &Files, new: &Files) -> Vec<FileChange> {
    let mut out = Vec::new();
    for (path, file) in new {
        match old.get(path) {
            None => out.push(FileChange {
                path: path.clone(),
                change: Change::Added,
                executable: file.executable,
                was_executable: false,
                diff: unified(path, b"", &file.bytes, ("a", "b")),
            }),
            Some(before) if before != file => out.push(FileChange {
                path: path.clone(),
                change: Change::Changed,
                executable: file.executable,
                was_executable: before.executable,
                diff: unified(path, &before.bytes, &file.bytes, ("a", "b")),
            }),
            Some(_) => {}
        }
    }
    for (path, before) in old {
        if !new.contains_key(path) {
            out.push(FileChange {
                path: path.clone(),
                change: Change::Removed,
                executable: false,
                was_executable: before.executable,
                diff: None,
            });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::tarball::File;

    fn files(list: &[(&str, &str, bool)]) -> Files {
        list.iter()
            .map(|(p, c, x)| {
                (
                    p.to_string(),
                    File {
                        bytes: c.as_bytes().to_vec(),
                        executable: *x,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn added_removed_changed_with_diffs() {
        let old = files(&[("a.js", "one\ntwo\n", false), ("gone.js", "x", false)]);
        let new = files(&[("a.js", "one\nthree\n", false), ("new.sh", "echo\n", true)]);
        let changes = compare(&old, &new);
        let kinds: Vec<_> = changes
            .iter()
            .map(|c| (c.path.as_str(), c.change))
            .collect();
        assert_eq!(
            kinds,
            [
                ("a.js", Change::Changed),
                ("gone.js", Change::Removed),
                ("new.sh", Change::Added)
            ]
        );
        let diff = changes[0].diff.as_deref().unwrap();
        assert!(diff.contains("--- a/a.js\n+++ b/a.js\n"), "{diff}");
        assert!(diff.contains("-two\n+three\n"), "{diff}");
        assert!(changes[2].executable);
        assert!(compare(&new, &new).is_empty());
    }

    #[test]
    fn binary_files_are_not_diffed() {
        let old = files(&[("b.bin", "a\0b", false)]);
        let new = files(&[("b.bin", "a\0c", false)]);
        assert_eq!(compare(&old, &new)[0].diff, None);
    }
}
