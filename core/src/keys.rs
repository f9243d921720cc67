//! Ed25519 keys in the text forms of c2sp.org/signed-note.
//!
//! - verifier key (vkey): `<name>+<hex key ID>+base64(type ‖ public key)`
//! - signer key: `PRIVATE+KEY+<name>+<hex key ID>+base64(type ‖ seed)`
//!
//! Key IDs are `SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]` read big-endian.
//! Type `0x01` is a plain Ed25519 note signature (log checkpoints); type
//! `0x04` is an Ed25519 `cosignature/v1` (c2sp.org/tlog-cosignature).
//! Key generation takes a seed from the caller: this crate has no randomness.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// The signature type byte of c2sp.org/signed-note.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SignatureType {
    /// `0x01`: Ed25519 over the note text.
    Ed25519,
    /// `0x04`: timestamped Ed25519 checkpoint cosignature.
    Cosignature,
}

impl SignatureType {
    /// The identifier byte.
    pub fn byte(self) -> u8 {
        match self {
            SignatureType::Ed25519 => 0x01,
            SignatureType::Cosignature => 0x04,
        }
    }

    fn from_byte(b: u8) -> Option<SignatureType> {
        match b {
            0x01 => Some(SignatureType::Ed25519),
            0x04 => Some(SignatureType::Cosignature),
            _ => None,
        }
    }
}

/// Why a key text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text does not have the `name+hex+base64` shape.
    #[error("malformed key: {0}")]
    Malformed(&'static str),
    /// The key name is empty or contains spaces, `+` or control characters.
    #[error("invalid key name {0:?}: must be non-empty, without spaces, '+' or control characters")]
    BadName(String),
    /// The type byte is not one gatelog supports.
    #[error("unsupported signature type 0x{0:02x}")]
    UnsupportedType(u8),
    /// The key bytes are not a valid Ed25519 key.
    #[error("invalid Ed25519 key material")]
    BadKey,
    /// The key ID in the text does not match the one derived from name and key.
    #[error("key ID {stated:08x} does not match the derived key ID {derived:08x}")]
    KeyIdMismatch {
        /// ID written in the text.
        stated: u32,
        /// ID computed from name and key.
        derived: u32,
    },
}

/// Checks a key name per c2sp.org/signed-note: non-empty, no Unicode spaces,
/// no `+`, and (as for all note text) no control characters.
pub fn check_key_name(name: &str) -> Result<(), KeyError> {
    if name.is_empty()
        || name.len() > 256
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(KeyError::BadName(name.chars().take(80).collect()));
    }
    Ok(())
}

/// `SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]`, big-endian.
pub fn key_id(name: &str, kind: SignatureType, public_key: &VerifyingKey) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0A, kind.byte()]);
    h.update(public_key.as_bytes());
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Splits `name+hex8+base64` and checks the name and key ID shape.
fn split_key_text(text: &str) -> Result<(&str, u32, SignatureType, Vec<u8>), KeyError> {
    let mut parts = text.splitn(3, '+');
    let name = parts.next().ok_or(KeyError::Malformed("missing name"))?;
    let id_hex = parts.next().ok_or(KeyError::Malformed("missing key ID"))?;
    let key_b64 = parts
        .next()
        .ok_or(KeyError::Malformed("missing key material"))?;
    check_key_name(name)?;
    if id_hex.len() != 8
        || !id_hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(KeyError::Malformed("key ID must be 8 lowercase hex digits"));
    }
    let stated = u32::from_str_radix(id_hex, 16).map_err(|_| KeyError::Malformed("key ID"))?;
    let raw = STANDARD
        .decode(key_b64)
        .map_err(|_| KeyError::Malformed("key material is not base64"))?;
    let (&type_byte, material) = raw
        .split_first()
        .ok_or(KeyError::Malformed("empty key material"))?;
    let kind = SignatureType::from_byte(type_byte).ok_or(KeyError::UnsupportedType(type_byte))?;
    Ok((name, stated, kind, material.to_vec()))
}

/// A public key able to verify note signatures, with its name and key ID.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    kind: SignatureType,
    key: VerifyingKey,
    id: u32,
}

impl VerifierKey {
    /// A verifier for `key` under `name`.
    pub fn new(
        name: &str,
        kind: SignatureType,
        key: VerifyingKey,
    ) -> Result<VerifierKey, KeyError> {
        check_key_name(name)?;
        let id = key_id(name, kind, &key);
        Ok(VerifierKey {
            name: name.to_owned(),
            kind,
            key,
            id,
        })
    }

    /// Parses the vkey text form, checking that the stated key ID matches.
    pub fn parse(text: &str) -> Result<VerifierKey, KeyError> {
        let (name, stated, kind, material) = split_key_text(text.trim())?;
        let bytes: [u8; 32] = material.try_into().map_err(|_| KeyError::BadKey)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::BadKey)?;
        let vk = VerifierKey::new(name, kind, key)?;
        if vk.id != stated {
            return Err(KeyError::KeyIdMismatch {
                stated,
                derived: vk.id,
            });
        }
        Ok(vk)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The key ID.
    pub fn id(&self) -> u32 {
        self.id
    }
    /// The signature type.
    pub fn kind(&self) -> SignatureType {
        self.kind
    }
    /// The Ed25519 public key.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = vec![self.kind.byte()];
        material.extend_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.id,
            STANDARD.encode(material)
        )
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

/// A private Ed25519 key with its name. `Debug` never shows the secret and
/// the key is zeroized on drop (ed25519-dalek's `zeroize` feature).
#[derive(Clone)]
pub struct SignerKey {
    name: String,
    kind: SignatureType,
    key: SigningKey,
    id: u32,
}

impl SignerKey {
    /// A signer from a 32-byte seed (the caller supplies the randomness).
    pub fn from_seed(
        name: &str,
        kind: SignatureType,
        seed: &[u8; 32],
    ) -> Result<SignerKey, KeyError> {
        check_key_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let id = key_id(name, kind, &key.verifying_key());
        Ok(SignerKey {
            name: name.to_owned(),
            kind,
            key,
            id,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex>+base64(type ‖ seed)`.
    pub fn parse(text: &str) -> Result<SignerKey, KeyError> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(KeyError::Malformed("private keys start with PRIVATE+KEY+"))?;
        let (name, stated, kind, material) = split_key_text(rest)?;
        let seed: [u8; 32] = material.try_into().map_err(|_| KeyError::BadKey)?;
        let sk = SignerKey::from_seed(name, kind, &seed)?;
        if sk.id != stated {
            return Err(KeyError::KeyIdMismatch {
                stated,
                derived: sk.id,
            });
        }
        Ok(sk)
    }

    /// The private key text form. Handle with care: it is the secret.
    pub fn to_private_text(&self) -> String {
        let mut material = vec![self.kind.byte()];
        material.extend_from_slice(&self.key.to_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            STANDARD.encode(material)
        )
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            kind: self.kind,
            key: self.key.verifying_key(),
            id: self.id,
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The key ID.
    pub fn id(&self) -> u32 {
        self.id
    }
    /// The signature type.
    pub fn kind(&self) -> SignatureType {
        self.kind
    }
    /// The Ed25519 signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SignerKey({}+{:08x}, secret redacted)",
            self.name, self.id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The documented example key of the Go sumdb note package.
    const GO_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

    #[test]
    fn known_key_pair_parses_and_matches() {
        let sk = SignerKey::parse(GO_SKEY).unwrap();
        assert_eq!(sk.verifier().to_string(), GO_VKEY);
        assert_eq!(VerifierKey::parse(GO_VKEY).unwrap(), sk.verifier());
        assert_eq!(sk.to_private_text(), GO_SKEY);
        assert!(!format!("{sk:?}").contains("AYEK"));
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in [
            "",
            "PeterNeumann",
            "PeterNeumann+c74f20a3",
            "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
            "PeterNeumann+c74f20a3+AhpdxkHFDw4TEHoMMW84SqoEH7FZJqqvyLDE4izWy10TW",
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",
            "PeterNeumann+c74f20a3+!!!",
            "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        ] {
            assert!(VerifierKey::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(SignerKey::parse(GO_VKEY).is_err());
    }
}
