//! The client's memory of each log: the last checkpoint it verified, so the
//! next run can prove the log only grew (fork detection, as the Go checksum
//! database client does). One file per log origin in the state folder.
//!
//! Updates are compare-and-swap: the new checkpoint is written to a temporary
//! file and renamed over the old one only if the file still holds the
//! checkpoint this run started from; a concurrent run that moved it on
//! makes this one re-check instead of overwriting.

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
}

/// The state folder.
#[derive(Clone, Debug)]
pub struct StateDir {
    dir: PathBuf,
}

/// The default state folder: `$XDG_CACHE_HOME/gatelog` or `~/.cache/gatelog`.
pub fn default_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("gatelog");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".cache").join("gatelog"),
        None => PathBuf::from(".gatelog-state"),
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
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut f = fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&new.to_bytes()).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        fs::rename(&tmp, &path).map_err(io(&path))?;
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
        // Another key for the same origin cannot read it.
        let other =
            SignerKey::from_seed("log.example/a", SignatureType::Ed25519, &[2; 32]).unwrap();
        assert!(matches!(
            state.load(&other.verifier()),
            Err(StateError::Invalid { .. })
        ));
    }
}
