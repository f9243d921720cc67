//! `gatelog keygen`: new Ed25519 keys in the c2sp.org/signed-note text forms.
//!
//! One format serves every role: the log's checkpoint key, a registry's
//! event-signing key (its DSSE key ID is derived from the public key), a
//! maintainer's signing device, and a witness's cosigning key (type 0x04).

use gatelog_core::keys::{KeyError, SignatureType, SignerKey};

/// What the key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyRole {
    /// A log's checkpoint-signing key (name = the log's origin).
    Log,
    /// A registry's key for signing events (DSSE).
    Registry,
    /// A maintainer's signing device for approvals.
    Device,
    /// A witness's cosigning key (c2sp.org/tlog-cosignature).
    Witness,
}

/// Why no key was made.
#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    /// The name is not a valid key name.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The OS gave no randomness.
    #[error("cannot get randomness: {0}")]
    Random(String),
}

/// Makes a new key from OS randomness.
pub fn generate(name: &str, role: KeyRole) -> Result<SignerKey, KeygenError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| KeygenError::Random(e.to_string()))?;
    let kind = match role {
        KeyRole::Witness => SignatureType::Cosignature,
        _ => SignatureType::Ed25519,
    };
    Ok(SignerKey::from_seed(name, kind, &seed)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fresh_and_round_trip() {
        let a = generate("registry.example", KeyRole::Registry).unwrap();
        let b = generate("registry.example", KeyRole::Registry).unwrap();
        assert_ne!(a.verifier(), b.verifier());
        assert_eq!(
            SignerKey::parse(&a.to_private_text()).unwrap().verifier(),
            a.verifier()
        );
        let w = generate("witness.example", KeyRole::Witness).unwrap();
        assert_eq!(w.kind(), SignatureType::Cosignature);
        assert!(generate("bad name", KeyRole::Log).is_err());
    }
}
