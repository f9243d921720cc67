//! The client's memory of each log: the last checkpoint it verified, so the
//! next run can prove the log only grew (fork detection, as the Go checksum
//! database client does). One file per log origin in the state folder.
//!
//! Updates are compare-and-swap: the new checkpoint is written to a new
//! temporary file in the state folder (a random name, created exclusively
//! with mode 0600 by `tempfile`, so no file or symlink planted there is ever
//! opened), synced, and renamed over the old one (the rename replaces a
//! symlink at the final path instead of following it) only if the file
//! still holds the checkpoint this run started from; a concurrent run that
//! moved it on makes this one re-check instead of overwriting.

use std::ffi::OsString;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use gatelog_core::{SignedCheckpoint, VerifierKey, checkpoint};

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// File system failure.
    #[error("state {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The stored checkpoint no longer verifies with the log key.
    #[error("state {path}: the remembered checkpoint does not verify with this log key: {why}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// Another run updated the state meanwhile.
    #[error("state {0} changed while this run was checking; run again")]
    Conflict(PathBuf),
    /// No state folder was given and none can be derived.
    #[error(
        "no state folder: HOME and XDG_CACHE_HOME are unset (or not absolute paths); pass \
         --state-dir DIR or set GATELOG_STATE_DIR (or --no-state to verify without fork \
         detection across runs)"
    )]
    NoDefault,
}

/// The state folder.
#[derive(Clone, Debug)]
pub struct StateDir {
    dir: PathBuf,
}

/// The default state folder: `$XDG_CACHE_HOME/gatelog` or
/// `$HOME/.cache/gatelog`; an error when neither is set to an absolute path
/// (never a folder relative to wherever the command runs).
pub fn default_dir() -> Result<PathBuf, StateError> {
    default_dir_from(std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME"))
}

/// [`default_dir`] from the values of `XDG_CACHE_HOME` and `HOME`. Relative
/// values are ignored, as the XDG base directory specification says.
pub fn default_dir_from(
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf, StateError> {
    let absolute = |v: Option<OsString>| v.map(PathBuf::from).filter(|p| p.is_absolute());
    if let Some(x) = absolute(xdg_cache_home) {
        return Ok(x.join("gatelog"));
    }
    match absolute(home) {
        Some(h) => Ok(h.join(".cache").join("gatelog")),
        None => Err(StateError::NoDefault),
    }
}

fn file_name(origin: &str) -> String {
    // Origins are URL-like; keep them readable but safe as file names.
    let safe: String = origin
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{safe}-{}.checkpoint",
        &gatelog_core::Hash::sha256(origin.as_bytes()).to_hex()[..8]
    )
}

impl StateDir {
    /// Uses `dir` (created on first write).
    pub fn new(dir: &Path) -> StateDir {
        StateDir {
            dir: dir.to_owned(),
        }
    }

    fn path(&self, key: &VerifierKey) -> PathBuf {
        self.dir.join(file_name(key.name()))
    }

    /// The last verified checkpoint of the log with `key`, if any.
    pub fn load(
        &self,
        key: &VerifierKey,
    ) -> Result<Option<(SignedCheckpoint, Vec<u8>)>, StateError> {
        let path = self.path(key);
        let bytes = match crate::files::read_limited(&path, crate::files::MAX_SMALL_FILE) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StateError::Io { path, source }),
        };
        let cp = checkpoint::open(&bytes, key).map_err(|e| StateError::Invalid {
            path: path.clone(),
            why: e.to_string(),
        })?;
        Ok(Some((cp, bytes)))
    }

    /// Replaces `expected` (the bytes `load` returned, or `None`) by `new`.
    pub fn store(
        &self,
        key: &VerifierKey,
        expected: Option<&[u8]>,
        new: &SignedCheckpoint,
    ) -> Result<(), StateError> {
        let path = self.path(key);
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| StateError::Io { path, source }
        };
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let current = match crate::files::read_limited(&path, crate::files::MAX_SMALL_FILE) {
            Ok(b) => Some(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(StateError::Io { path, source }),
        };
        if current.as_deref() != expected {
            return Err(StateError::Conflict(path));
        }
        // A fresh, exclusively created file with a random name: nothing
        // planted in the folder is opened or followed. It is removed if
        // anything fails before the rename.
        let mut tmp = tempfile::Builder::new()
            .prefix(".gatelog-state-")
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(io(&self.dir))?;
        tmp.write_all(&new.to_bytes()).map_err(io(tmp.path()))?;
        tmp.as_file().sync_all().map_err(io(tmp.path()))?;
        tmp.persist(&path).map_err(|e| StateError::Io {
            path: path.clone(),
            source: e.error,
        })?;
        // Make the rename itself durable.
        if let Ok(dir) = fs::File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatelog_core::keys::{SignatureType, SignerKey};
    use gatelog_core::{Checkpoint, Origin, TreeHead};

    fn signed(key: &SignerKey, size: u64) -> SignedCheckpoint {
        let mut head = TreeHead::empty();
        head.size.0 = size;
        let cp = Checkpoint::new(Origin::new(key.name()).unwrap(), head);
        SignedCheckpoint {
            note: cp.sign(key).unwrap(),
            checkpoint: cp,
        }
    }

    #[test]
    fn compare_and_swap() {
        let dir = tempfile::tempdir().unwrap();
        let key = SignerKey::from_seed("log.example/a", SignatureType::Ed25519, &[1; 32]).unwrap();
        let state = StateDir::new(&dir.path().join("state"));
        assert!(state.load(&key.verifier()).unwrap().is_none());
        let a = signed(&key, 0);
        state.store(&key.verifier(), None, &a).unwrap();
        let (loaded, bytes) = state.load(&key.verifier()).unwrap().unwrap();
        assert_eq!(loaded, a);
        // A writer that started from nothing loses against the one that stored `a`.
        assert!(matches!(
            state.store(&key.verifier(), None, &signed(&key, 0)),
            Err(StateError::Conflict(_))
        ));
        state
            .store(&key.verifier(), Some(&bytes), &signed(&key, 0))
            .unwrap();
        // Nothing but the state file is left in the folder.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("state"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        // Another key for the same origin cannot read it.
        let other =
            SignerKey::from_seed("log.example/a", SignatureType::Ed25519, &[2; 32]).unwrap();
        assert!(matches!(
            state.load(&other.verifier()),
            Err(StateError::Invalid { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn planted_symlinks_are_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let key = SignerKey::from_seed("log.example/a", SignatureType::Ed25519, &[1; 32]).unwrap();
        let folder = dir.path().join("state");
        std::fs::create_dir(&folder).unwrap();
        let state = StateDir::new(&folder);
        let final_path = state.path(&key.verifier());
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        // The temporary name an earlier version used, and the final name.
        let old_tmp = final_path.with_extension(format!("tmp{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &old_tmp).unwrap();
        state
            .store(&key.verifier(), None, &signed(&key, 0))
            .unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(std::fs::symlink_metadata(&final_path).unwrap().is_file());
        // A symlink at the final path is replaced, not written through.
        let bytes = std::fs::read(&final_path).unwrap();
        std::fs::remove_file(&final_path).unwrap();
        std::os::unix::fs::symlink(&victim, &final_path).unwrap();
        let err = state.store(&key.verifier(), Some(&bytes), &signed(&key, 0));
        // The symlink's target is not the expected checkpoint: a conflict,
        // and nothing is written anywhere.
        assert!(matches!(err, Err(StateError::Conflict(_))), "{err:?}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        std::fs::write(&victim, &bytes).unwrap();
        state
            .store(&key.verifier(), Some(&bytes), &signed(&key, 0))
            .unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), bytes, "target untouched");
        assert!(std::fs::symlink_metadata(&final_path).unwrap().is_file());
    }

    #[test]
    fn the_default_folder_needs_an_absolute_home() {
        let os = |s: &str| Some(OsString::from(s));
        assert_eq!(
            default_dir_from(os("/x/cache"), os("/home/a")).unwrap(),
            PathBuf::from("/x/cache/gatelog")
        );
        assert_eq!(
            default_dir_from(None, os("/home/a")).unwrap(),
            PathBuf::from("/home/a/.cache/gatelog")
        );
        assert_eq!(
            default_dir_from(os("relative"), os("/home/a")).unwrap(),
            PathBuf::from("/home/a/.cache/gatelog")
        );
        for (xdg, home) in [(None, None), (os(""), os("")), (os("rel"), os("also-rel"))] {
            let err = default_dir_from(xdg, home).unwrap_err();
            assert!(matches!(err, StateError::NoDefault));
            assert!(err.to_string().contains("--state-dir"), "{err}");
        }
    }
}
