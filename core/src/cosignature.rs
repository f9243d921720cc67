//! Ed25519 checkpoint cosignatures per c2sp.org/tlog-cosignature
//! (`cosignature/v1`, signature type 0x04).
//!
//! A cosignature is a note signature whose bytes are an 8-byte big-endian
//! timestamp followed by an Ed25519 signature over
//! `cosignature/v1\ntime <timestamp>\n<checkpoint text>`. Witnesses use them
//! to state that they saw the log consistent up to that checkpoint. gatelog
//! verifies them now; producing them is the witness's job.

use ed25519_dalek::{Signature, Signer as _};

use crate::keys::{SignatureType, SignerKey, VerifierKey};
use crate::note::{NoteSignature, NoteVerifier};

/// The largest timestamp the spec allows (2^63 − 1).
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// The message a `cosignature/v1` signs.
pub fn signed_message(checkpoint_text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}")
}

/// A cosigner's public key (a [`VerifierKey`] of type 0x04).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier {
    key: VerifierKey,
}

impl CosignatureVerifier {
    /// Wraps a verifier key; it must be of the cosignature type.
    pub fn new(key: VerifierKey) -> Option<CosignatureVerifier> {
        (key.kind() == SignatureType::Cosignature).then_some(CosignatureVerifier { key })
    }

    /// The verifier key.
    pub fn key(&self) -> &VerifierKey {
        &self.key
    }

    /// The timestamp of a valid cosignature by this key over `text`, if any.
    pub fn verified_timestamp(&self, text: &str, signature: &[u8]) -> Option<u64> {
        if signature.len() != 8 + 64 {
            return None;
        }
        let (ts, sig) = signature.split_at(8);
        let timestamp = u64::from_be_bytes(ts.try_into().ok()?);
        if timestamp > MAX_TIMESTAMP {
            return None;
        }
        let sig = Signature::from_slice(sig).ok()?;
        let msg = signed_message(text, timestamp);
        crate::ed25519::verify_strict(self.key.key(), msg.as_bytes(), &sig).ok()?;
        Some(timestamp)
    }
}

impl NoteVerifier for CosignatureVerifier {
    fn name(&self) -> &str {
        self.key.name()
    }
    fn key_id(&self) -> u32 {
        self.key.id()
    }
    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        self.verified_timestamp(text, signature).is_some()
    }
}

/// Produces a cosignature line over checkpoint text (used by tests and by a
/// witness); `None` if the key is not a cosignature key or the time is out of range.
pub fn cosign(key: &SignerKey, checkpoint_text: &str, timestamp: u64) -> Option<NoteSignature> {
    if key.kind() != SignatureType::Cosignature || timestamp > MAX_TIMESTAMP {
        return None;
    }
    let sig = key
        .signing_key()
        .sign(signed_message(checkpoint_text, timestamp).as_bytes());
    let mut bytes = timestamp.to_be_bytes().to_vec();
    bytes.extend_from_slice(&sig.to_bytes());
    Some(NoteSignature {
        name: key.name().to_owned(),
        key_id: key.id(),
        signature: bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{Checkpoint, Origin};
    use crate::note;
    use crate::tree::TreeHead;

    /// The example of c2sp.org/tlog-cosignature: a checkpoint with the log's
    /// signature and one `cosignature/v1` line (the spec gives no key, so
    /// only the structure and the timestamp can be checked).
    #[test]
    fn the_spec_example_parses_as_a_timestamped_cosignature() {
        let example = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";
        let parsed = note::Note::parse(example.as_bytes()).unwrap();
        let line = &parsed.signatures[1];
        assert_eq!(line.name, "witness.example.com/w1");
        assert_eq!(line.signature.len(), 8 + 64);
        let timestamp = u64::from_be_bytes(line.signature[..8].try_into().unwrap());
        assert_eq!(timestamp, 1_679_315_147);
        // A key of that name but not the spec's does not verify it.
        let other = SignerKey::from_seed(
            "witness.example.com/w1",
            SignatureType::Cosignature,
            &[3; 32],
        )
        .unwrap();
        let verifier = CosignatureVerifier::new(other.verifier()).unwrap();
        assert_eq!(
            verifier.verified_timestamp(&parsed.text, &line.signature),
            None
        );
    }

    #[test]
    fn cosignature_round_trip_and_tamper() {
        let log = SignerKey::from_seed("log.example", SignatureType::Ed25519, &[1; 32]).unwrap();
        let witness =
            SignerKey::from_seed("witness.example/w1", SignatureType::Cosignature, &[2; 32])
                .unwrap();
        let cp = Checkpoint::new(Origin::new("log.example").unwrap(), TreeHead::empty());
        let mut signed = cp.sign(&log).unwrap();
        let line = cosign(&witness, &signed.text, 1_679_315_147).unwrap();
        signed.signatures.push(line.clone());
        let verifier = CosignatureVerifier::new(witness.verifier()).unwrap();
        assert_eq!(
            verifier.verified_timestamp(&signed.text, &line.signature),
            Some(1_679_315_147)
        );
        let opened = note::open(&signed.to_bytes(), &[&verifier]).unwrap();
        assert_eq!(opened.verified, vec![1]);

        // A different timestamp, text or key type fails.
        let mut wrong_time = line.signature.clone();
        wrong_time[7] ^= 1;
        assert_eq!(verifier.verified_timestamp(&signed.text, &wrong_time), None);
        assert_eq!(
            verifier.verified_timestamp("other\n", &line.signature),
            None
        );
        assert!(CosignatureVerifier::new(log.verifier()).is_none());
        assert!(cosign(&log, &signed.text, 1).is_none());
        // The key ID differs from a plain Ed25519 key with the same name and seed.
        let same_seed =
            SignerKey::from_seed("witness.example/w1", SignatureType::Ed25519, &[2; 32]).unwrap();
        assert_ne!(same_seed.id(), witness.id());
    }
}
