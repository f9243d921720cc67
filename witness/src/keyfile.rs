//! The witness's cosigning key: `<data>/witness.key`, created with mode
//! 0600 on first start (or given in `GATELOG_WITNESS_KEY`).

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use gatelog_core::keys::{SignatureType, SignerKey};

/// Environment variable that may hold the private key text.
pub const KEY_ENV: &str = "GATELOG_WITNESS_KEY";
/// File name of the key inside the data folder.
pub const KEY_FILE: &str = "witness.key";

/// Loads the key named `name`, creating it in `data` if there is none.
/// Returns the key and whether it was created.
pub fn load_or_create(data: &Path, name: &str) -> Result<(SignerKey, bool), String> {
    let parse = |text: &str, from: &str| {
        let key = SignerKey::parse(text).map_err(|e| format!("witness key from {from}: {e}"))?;
        if key.kind() != SignatureType::Cosignature {
            return Err(format!("witness key from {from} is not a cosignature key"));
        }
        if key.name() != name {
            return Err(format!(
                "witness key from {from} is named {:?}, not {name:?}",
                key.name()
            ));
        }
        Ok(key)
    };
    if let Ok(text) = std::env::var(KEY_ENV) {
        return Ok((parse(&text, KEY_ENV)?, false));
    }
    let path = data.join(KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => return Ok((parse(&text, &path.display().to_string())?, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", path.display())),
    }
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| format!("no randomness for a new key: {e}"))?;
    let key = SignerKey::from_seed(name, SignatureType::Cosignature, &seed)
        .map_err(|e| format!("witness name {name:?}: {e}"))?;
    std::fs::create_dir_all(data).map_err(|e| format!("{}: {e}", data.display()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(key.to_private_text().as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((key, true))
}
