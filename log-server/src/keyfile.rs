//! The log's signing key: read from the `GATELOG_LOG_KEY` environment
//! variable or from `<data>/log.key`; created there with mode 0600 on first
//! start.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use gatelog_core::keys::{KeyError, SignatureType, SignerKey};

/// Environment variable that may hold the private key text.
pub const KEY_ENV: &str = "GATELOG_LOG_KEY";
/// File name of the key inside the data folder.
pub const KEY_FILE: &str = "log.key";

/// Why the key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Reading or writing the key file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The key text is malformed.
    #[error("log key from {from}: {source}")]
    Parse {
        /// Where the text came from.
        from: String,
        /// Why it was refused.
        source: KeyError,
    },
    /// The key's name is not the log's origin.
    #[error("log key is named {key:?} but the log's origin is {origin:?}")]
    NameMismatch {
        /// Key name.
        key: String,
        /// Configured origin.
        origin: String,
    },
    /// The folder holds a log but its key is gone.
    #[error(
        "{0} is missing but the data folder already holds a log; restore the key \
         (or set GATELOG_LOG_KEY) instead of letting a new key sign for this log"
    )]
    Missing(PathBuf),
    /// No randomness for a new key.
    #[error("cannot get randomness for a new key: {0}")]
    Random(String),
}

/// Where the key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The environment variable.
    Environment,
    /// An existing key file.
    File,
    /// A key file created now.
    Created,
}

/// Loads the log key for `origin`, creating one if there is none and
/// `may_create` (false when the folder already holds a log: a missing key
/// then is an error, never a reason to sign with a new one).
pub fn load_or_create(
    data: &Path,
    origin: &str,
    may_create: bool,
) -> Result<(SignerKey, KeySource), KeyFileError> {
    let path = data.join(KEY_FILE);
    let (key, source) = match load(data)? {
        Some(found) => found,
        None if may_create => (create(&path, origin)?, KeySource::Created),
        None => return Err(KeyFileError::Missing(path)),
    };
    if key.name() != origin {
        return Err(KeyFileError::NameMismatch {
            key: key.name().into(),
            origin: origin.into(),
        });
    }
    Ok((key, source))
}

/// Loads the existing log key, from the environment variable or
/// `<data>/log.key`; `None` when there is neither. Never creates one.
pub fn load(data: &Path) -> Result<Option<(SignerKey, KeySource)>, KeyFileError> {
    if let Ok(text) = std::env::var(KEY_ENV) {
        let key = SignerKey::parse(&text).map_err(|source| KeyFileError::Parse {
            from: KEY_ENV.into(),
            source,
        })?;
        return Ok(Some((key, KeySource::Environment)));
    }
    let path = data.join(KEY_FILE);
    match crate::config::read_small_text(&path) {
        Ok(text) => {
            let key = SignerKey::parse(&text).map_err(|source| KeyFileError::Parse {
                from: path.display().to_string(),
                source,
            })?;
            Ok(Some((key, KeySource::File)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(KeyFileError::Io { path, source }),
    }
}

fn create(path: &Path, origin: &str) -> Result<SignerKey, KeyFileError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| KeyFileError::Random(e.to_string()))?;
    let key = SignerKey::from_seed(origin, SignatureType::Ed25519, &seed).map_err(|source| {
        KeyFileError::Parse {
            from: "--origin".into(),
            source,
        }
    })?;
    let io = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    // create_new: never overwrite a key that appeared meanwhile.
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(format!("{}\n", key.to_private_text()).as_bytes())
        .map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn creates_a_private_key_once_and_reloads_it() {
        let dir = tempfile::tempdir().unwrap();
        let (a, src) = load_or_create(dir.path(), "test.example/log", true).unwrap();
        assert_eq!(src, KeySource::Created);
        let mode = fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let (b, src) = load_or_create(dir.path(), "test.example/log", true).unwrap();
        assert_eq!(src, KeySource::File);
        assert_eq!(a.verifier(), b.verifier());
        assert!(matches!(
            load_or_create(dir.path(), "other.example/log", true),
            Err(KeyFileError::NameMismatch { .. })
        ));
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            load_or_create(empty.path(), "test.example/log", false),
            Err(KeyFileError::Missing(_))
        ));
        assert!(!empty.path().join(KEY_FILE).exists());
        fs::write(dir.path().join(KEY_FILE), "garbage").unwrap();
        assert!(matches!(
            load_or_create(dir.path(), "test.example/log", true),
            Err(KeyFileError::Parse { .. })
        ));
    }
}
