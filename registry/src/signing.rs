//! npm registry signatures: the registry's ECDSA P-256 key, served at
//! `GET /-/npm/v1/keys`, and `dist.signatures` on every published version,
//! as `npm audit signatures` checks them (npm's
//! `lib/utils/verify-signatures.js` fetches the keys; pacote's
//! `lib/registry.js` verifies `<name>@<version>:<integrity>` with SHA-256
//! against the key whose `keyid` the signature names).

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The key type and scheme npm expects for registry keys.
const KEY_TYPE: &str = "ecdsa-sha2-nistp256";

/// The registry's signing key and its public forms.
pub struct RegistrySigner {
    key: SigningKey,
    keyid: String,
    spki: String,
}

impl RegistrySigner {
    /// A signer over `key`.
    pub fn new(key: SigningKey) -> RegistrySigner {
        let der = key
            .verifying_key()
            .to_public_key_der()
            .expect("a P-256 public key encodes");
        let keyid = format!("SHA256:{}", STANDARD.encode(Sha256::digest(der.as_bytes())));
        RegistrySigner {
            key,
            keyid,
            spki: STANDARD.encode(der.as_bytes()),
        }
    }

    /// Loads the PKCS#8 PEM key at `path`; when `create` is set and the
    /// file is missing, makes a new key there (mode 0600). Returns whether
    /// it was created.
    pub fn load_or_create(path: &Path, create: bool) -> Result<(RegistrySigner, bool), String> {
        match std::fs::read_to_string(path) {
            Ok(pem) => {
                let key = SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
                    format!("{} is not a PKCS#8 P-256 private key: {e}", path.display())
                })?;
                Ok((RegistrySigner::new(key), false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let key = new_key();
                write_private(path, &key)?;
                Ok((RegistrySigner::new(key), true))
            }
            Err(e) => Err(format!("reading the signing key {}: {e}", path.display())),
        }
    }

    /// `SHA256:<base64 of the SHA-256 of the public key's SPKI DER>`.
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// The body of `GET /-/npm/v1/keys`.
    pub fn keys_json(&self) -> Value {
        json!({"keys": [{
            "expires": null,
            "keyid": self.keyid,
            "keytype": KEY_TYPE,
            "scheme": KEY_TYPE,
            "key": self.spki,
        }]})
    }

    /// One entry of `dist.signatures`: base64 DER ECDSA-P256-SHA256 over
    /// `<name>@<version>:<integrity>`.
    pub fn sign(&self, name: &str, version: &str, integrity: &str) -> Value {
        let message = format!("{name}@{version}:{integrity}");
        let sig: DerSignature = self.key.sign(message.as_bytes());
        json!({"keyid": self.keyid, "sig": STANDARD.encode(sig.as_bytes())})
    }
}

pub(crate) fn new_key() -> SigningKey {
    loop {
        // A random 32-byte string is a valid scalar except with
        // negligible probability (zero or not below the group order).
        if let Ok(key) = SigningKey::from_slice(&crate::auth::random_bytes::<32>()) {
            return key;
        }
    }
}

fn write_private(path: &Path, key: &SigningKey) -> Result<(), String> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| format!("encoding the signing key: {e}"))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("creating {}: {e}", path.display()))?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier as _;
    use p256::ecdsa::{Signature, VerifyingKey};
    use p256::pkcs8::DecodePublicKey as _;

    #[test]
    fn signatures_verify_over_name_version_integrity_with_the_served_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing-key.pem");
        let (signer, created) = RegistrySigner::load_or_create(&path, true).unwrap();
        assert!(created);
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let (again, created) = RegistrySigner::load_or_create(&path, true).unwrap();
        assert!(!created);
        assert_eq!(again.keyid(), signer.keyid());

        let keys = signer.keys_json();
        let key = &keys["keys"][0];
        assert_eq!(key["keytype"], KEY_TYPE);
        assert!(key["expires"].is_null());
        let der = STANDARD.decode(key["key"].as_str().unwrap()).unwrap();
        let want = format!("SHA256:{}", STANDARD.encode(Sha256::digest(&der)));
        assert_eq!(key["keyid"], want.as_str());
        let public = VerifyingKey::from_public_key_der(&der).unwrap();

        let entry = signer.sign("@acme/widget", "1.0.0", "sha512-abc");
        assert_eq!(entry["keyid"], want.as_str());
        let sig = STANDARD.decode(entry["sig"].as_str().unwrap()).unwrap();
        let sig = Signature::from_der(&sig).unwrap();
        assert!(
            public
                .verify(b"@acme/widget@1.0.0:sha512-abc", &sig)
                .is_ok()
        );
        assert!(
            public
                .verify(b"@acme/widget@1.0.1:sha512-abc", &sig)
                .is_err()
        );
    }

    #[test]
    fn a_missing_explicit_key_or_a_bad_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        assert!(RegistrySigner::load_or_create(&missing, false).is_err());
        assert!(!missing.exists());
        let bad = dir.path().join("bad.pem");
        std::fs::write(&bad, "not a key").unwrap();
        let err = RegistrySigner::load_or_create(&bad, true).err().unwrap();
        assert!(err.contains("not a PKCS#8"), "{err}");
    }
}
