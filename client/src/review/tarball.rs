//! An npm tarball (a gzip-compressed tar) read into memory, within limits.
//!
//! A tarball under review is untrusted: it may be a decompression bomb,
//! hold millions of entries, name paths outside the package (`..`, `/…`)
//! or links. Each of those is refused with an error saying which, and
//! nothing is written to disk. As npm does, the first path component
//! (`package/`) is dropped.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Largest tarball read (compressed), in bytes.
pub const MAX_TARBALL: usize = 128 << 20;
/// Largest total of the uncompressed tar stream (headers and files), in bytes.
pub const MAX_UNPACKED: u64 = 512 << 20;
/// Most entries (files and folders) in one tarball.
pub const MAX_ENTRIES: usize = 20_000;

/// One file of a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    /// Its content.
    pub bytes: Vec<u8>,
    /// Whether any execute bit is set.
    pub executable: bool,
}

/// The files of a package by path (`/`-separated, without `package/`).
pub type Files = BTreeMap<String, File>;

/// Why a tarball was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TarballError {
    /// Not gzip, not tar, or cut short.
    #[error("malformed tarball: {0}")]
    Malformed(String),
    /// The uncompressed stream exceeds [`MAX_UNPACKED`].
    #[error("the tarball unpacks to more than {MAX_UNPACKED} bytes")]
    TooLarge,
    /// More than [`MAX_ENTRIES`] entries.
    #[error("the tarball has more than {MAX_ENTRIES} entries")]
    TooManyEntries,
    /// A path that leaves the package or cannot be read.
    #[error("tarball entry {path:?}: {why}")]
    BadPath {
        /// The path as written in the tarball.
        path: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A link, device or other entry that is neither a file nor a folder.
    #[error("tarball entry {path:?} is a {kind}, not a file or folder")]
    BadKind {
        /// The path.
        path: String,
        /// The entry type.
        kind: String,
    },
    /// Two entries for one path (the second would hide the first).
    #[error("tarball entry {0:?} appears twice")]
    Duplicate(String),
}

/// A reader that fails once more than `left` bytes went through it, and
/// says so in `exceeded` (the tar reader wraps the error it sees).
struct Capped<R> {
    inner: R,
    left: u64,
    exceeded: Arc<AtomicBool>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            self.exceeded.store(true, Ordering::Relaxed);
            return Err(io::Error::other("size limit exceeded"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// The package path of a tar path: the first component dropped, `.` and
/// empty components skipped; `None` for the top folder itself.
fn package_path(raw: &[u8]) -> Result<Option<String>, TarballError> {
    let text = std::str::from_utf8(raw).map_err(|_| TarballError::BadPath {
        path: String::from_utf8_lossy(raw).into_owned(),
        why: "the path is not UTF-8",
    })?;
    let bad = |why| TarballError::BadPath {
        path: text.to_owned(),
        why,
    };
    if text.starts_with('/') || text.starts_with('\\') || text.get(1..2) == Some(":") {
        return Err(bad("an absolute path"));
    }
    if text.contains('\\') || text.contains('\0') {
        return Err(bad("a backslash or NUL in the path"));
    }
    let parts: Vec<&str> = text
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(bad("the path leaves the package (`..`)"));
    }
    Ok(match parts.split_first() {
        Some((_, rest)) if !rest.is_empty() => Some(rest.join("/")),
        _ => None,
    })
}

/// Reads the files of a `.tgz` (at most [`MAX_TARBALL`] bytes).
pub fn read(tgz: &[u8]) -> Result<Files, TarballError> {
    if tgz.len() > MAX_TARBALL {
        return Err(TarballError::Malformed(format!(
            "{} bytes, more than the {MAX_TARBALL} read",
            tgz.len()
        )));
    }
    if !tgz.starts_with(&[0x1f, 0x8b]) {
        return Err(TarballError::Malformed("not gzip-compressed".into()));
    }
    read_stream(flate2::read::GzDecoder::new(tgz))
}

/// Reads the files of an uncompressed tar (the fuzzer's way past gzip).
pub fn read_tar(tar: &[u8]) -> Result<Files, TarballError> {
    read_stream(tar)
}

fn read_stream(tar: impl Read) -> Result<Files, TarballError> {
    let exceeded = Arc::new(AtomicBool::new(false));
    let stream = Capped {
        inner: tar,
        left: MAX_UNPACKED,
        exceeded: exceeded.clone(),
    };
    let malformed = |e: io::Error| {
        if exceeded.load(Ordering::Relaxed) {
            TarballError::TooLarge
        } else {
            TarballError::Malformed(e.to_string())
        }
    };
    let mut archive = tar::Archive::new(stream);
    let mut files = Files::new();
    let mut count = 0usize;
    for entry in archive.entries().map_err(malformed)? {
        let mut entry = entry.map_err(malformed)?;
        count += 1;
        if count > MAX_ENTRIES {
            return Err(TarballError::TooManyEntries);
        }
        let raw = entry.path_bytes().into_owned();
        let kind = entry.header().entry_type();
        let path = package_path(&raw)?;
        if kind.is_dir() {
            continue;
        }
        if !(kind.is_file() || kind.is_contiguous()) {
            return Err(TarballError::BadKind {
                path: String::from_utf8_lossy(&raw).into_owned(),
                kind: format!("{kind:?}").to_lowercase(),
            });
        }
        let Some(path) = path else {
            return Err(TarballError::BadPath {
                path: String::from_utf8_lossy(&raw).into_owned(),
                why: "a file outside the package folder",
            });
        };
        if entry.size() > MAX_UNPACKED {
            return Err(TarballError::TooLarge);
        }
        let executable = entry.header().mode().map_err(malformed)? & 0o111 != 0;
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut bytes).map_err(malformed)?;
        if files
            .insert(path.clone(), File { bytes, executable })
            .is_some()
        {
            return Err(TarballError::Duplicate(path));
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    /// A `.tgz` of `(path, content, mode, type)` entries, paths written
    /// raw (the tar builder would refuse the bad ones).
    fn tgz(entries: &[(&str, &[u8], u32, tar::EntryType)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, content, mode, kind) in entries {
            let mut header = tar::Header::new_gnu();
            let name = &mut header.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_size(content.len() as u64);
            header.set_mode(*mode);
            header.set_entry_type(*kind);
            header.set_cksum();
            builder.append(&header, *content).unwrap();
        }
        gz(&builder.into_inner().unwrap())
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    const FILE: tar::EntryType = tar::EntryType::Regular;

    #[test]
    fn reads_files_without_the_package_folder() {
        let files = read(&tgz(&[
            ("package/", b"", 0o755, tar::EntryType::Directory),
            ("package/package.json", b"{}", 0o644, FILE),
            ("package/bin/cli.js", b"#!/usr/bin/env node", 0o755, FILE),
        ]))
        .unwrap();
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            ["bin/cli.js", "package.json"]
        );
        assert!(files["bin/cli.js"].executable);
        assert!(!files["package.json"].executable);
        assert_eq!(files["package.json"].bytes, b"{}");
    }

    #[test]
    fn refuses_paths_that_leave_the_package() {
        for path in [
            "package/../../etc/passwd",
            "/etc/passwd",
            "../x",
            "package\\..\\x",
        ] {
            let err = read(&tgz(&[(path, b"x", 0o644, FILE)])).unwrap_err();
            assert!(matches!(err, TarballError::BadPath { .. }), "{path}: {err}");
        }
        let err = read(&tgz(&[("top.js", b"x", 0o644, FILE)])).unwrap_err();
        assert!(matches!(err, TarballError::BadPath { .. }), "{err}");
    }

    #[test]
    fn refuses_links_duplicates_and_garbage() {
        let err = read(&tgz(&[("package/l", b"", 0o777, tar::EntryType::Symlink)])).unwrap_err();
        assert!(matches!(err, TarballError::BadKind { .. }), "{err}");
        let twice = [
            ("package/a", &b"1"[..], 0o644, FILE),
            ("package/./a", &b"2"[..], 0o644, FILE),
        ];
        assert_eq!(
            read(&tgz(&twice)).unwrap_err(),
            TarballError::Duplicate("a".into())
        );
        assert!(matches!(
            read(b"not a tarball").unwrap_err(),
            TarballError::Malformed(_)
        ));
        // gzip of something that is not tar, and a tarball cut short.
        assert!(matches!(
            read(&gz(&[7u8; 700])).unwrap_err(),
            TarballError::Malformed(_)
        ));
        let whole = tgz(&[("package/a", &[b'a'; 5000], 0o644, FILE)]);
        assert!(read(&whole[..whole.len() / 2]).is_err());
    }

    #[test]
    fn refuses_too_many_entries_and_bombs() {
        let many: Vec<(String, &[u8], u32, tar::EntryType)> = (0..=MAX_ENTRIES)
            .map(|i| (format!("package/{i}"), &b""[..], 0o644, FILE))
            .collect();
        let refs: Vec<_> = many
            .iter()
            .map(|(p, c, m, k)| (p.as_str(), *c, *m, *k))
            .collect();
        assert_eq!(read(&tgz(&refs)).unwrap_err(), TarballError::TooManyEntries);
        // A header that declares more than the limit.
        let mut header = tar::Header::new_gnu();
        header.set_path("package/big").unwrap();
        header.set_size(MAX_UNPACKED + 1);
        header.set_cksum();
        let mut raw = header.as_bytes().to_vec();
        raw.extend_from_slice(&[0u8; 1024]);
        assert_eq!(read(&gz(&raw)).unwrap_err(), TarballError::TooLarge);
    }
}
