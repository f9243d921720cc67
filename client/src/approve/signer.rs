//! The device that signs an approval statement. Today a file key
//! (Ed25519, `gatelog keygen --role device`); a hardware key implements
//! the same trait.

use std::path::Path;

use gatelog_core::{SignatureType, SignerKey};

use crate::files::{MAX_SMALL_FILE, read_text_limited};

/// A maintainer's signing device.
pub trait DeviceSigner {
    /// The device id the registry knows it by (`admin device-add`).
    fn device_id(&self) -> &str;
    /// The Ed25519 signature of `statement`.
    fn sign(&self, statement: &str) -> Result<[u8; 64], String>;
}

/// An Ed25519 key in a file (`PRIVATE+KEY+<name>+…`); its name is the
/// device id.
pub struct FileKey(SignerKey);

impl FileKey {
    /// Reads the key file at `path`.
    pub fn load(path: &Path) -> Result<FileKey, String> {
        let text = read_text_limited(path, MAX_SMALL_FILE)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let key = SignerKey::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if key.kind() != SignatureType::Ed25519 {
            return Err(format!("{}: not an Ed25519 device key", path.display()));
        }
        Ok(FileKey(key))
    }
}

impl DeviceSigner for FileKey {
    fn device_id(&self) -> &str {
        self.0.name()
    }

    fn sign(&self, statement: &str) -> Result<[u8; 64], String> {
        Ok(gatelog_core::event::sign_approval(self.0.signing_key(), statement).to_bytes())
    }
}
