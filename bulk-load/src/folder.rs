//! The data folder: refusing one that already holds something, and
//! measuring what a load left on disk.

use std::path::Path;

use crate::BulkLoadError;

/// Ok when `data` does not exist or is an empty folder.
pub fn ensure_empty(data: &Path) -> Result<(), BulkLoadError> {
    let io = |e| BulkLoadError::Io(data.display().to_string(), e);
    match std::fs::read_dir(data) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(BulkLoadError::NotEmpty(data.display().to_string())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(e)),
    }
}

/// Bytes of every file under `path`.
pub fn bytes_on_disk(path: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            bytes_on_disk(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_missing_or_empty_folders_pass() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ensure_empty(dir.path()).is_ok());
        assert!(ensure_empty(&dir.path().join("new")).is_ok());
        std::fs::write(dir.path().join("log.key"), b"x").unwrap();
        let err = ensure_empty(dir.path()).unwrap_err();
        assert!(matches!(err, BulkLoadError::NotEmpty(_)), "{err}");
        assert_eq!(bytes_on_disk(dir.path()).unwrap(), 1);
    }
}
