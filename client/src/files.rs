//! Reading files the user names, with a size cap: a path to `/dev/zero`,
//! a FIFO or a huge file gets an error instead of filling memory.

use std::io::{self, Read as _};
use std::path::Path;

/// Largest small input file (keys, policies, events, checkpoint notes).
pub const MAX_SMALL_FILE: u64 = 1 << 20;

/// Reads `path` whole if it holds at most `limit` bytes.
pub fn read_limited(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let too_large = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than the limit of {limit} bytes"),
        )
    };
    // Regular files say their size; devices and pipes are read up to the limit.
    if file.metadata()?.len() > limit {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// [`read_limited`] as UTF-8 text.
pub fn read_text_limited(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read_limited(path, limit)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endless_and_oversized_files_are_refused() {
        let e = read_limited(Path::new("/dev/zero"), 1024).unwrap_err();
        assert!(
            e.to_string().contains("larger than the limit of 1024"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let sparse = dir.path().join("sparse");
        std::fs::File::create(&sparse)
            .unwrap()
            .set_len(8 << 30)
            .unwrap();
        assert!(read_limited(&sparse, 1024).is_err());
        std::fs::write(dir.path().join("small"), b"ok").unwrap();
        assert_eq!(read_limited(&dir.path().join("small"), 2).unwrap(), b"ok");
        assert!(read_text_limited(Path::new("/dev/zero"), 10).is_err());
    }
}
