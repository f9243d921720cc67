//! Signed notes per c2sp.org/signed-note.
//!
//! A note is UTF-8 text ending in a newline, a blank line, then one or more
//! signature lines `— <key name> base64(key ID ‖ signature)`. Parsing checks
//! only the structure; [`open`] verifies signatures against trusted keys:
//! unknown signatures are ignored, a known key whose signature fails rejects
//! the whole note, and at least one known key must have signed.
//!
//! ```
//! use gatelog_core::keys::{SignatureType, SignerKey};
//! use gatelog_core::note::{self, NoteError, NoteVerifier};
//!
//! let alice = SignerKey::from_seed("alice.example", SignatureType::Ed25519, &[1; 32]).unwrap();
//! let bob = SignerKey::from_seed("bob.example", SignatureType::Ed25519, &[2; 32]).unwrap();
//! let signed = note::sign("hello, transparency\n", &[&alice]).unwrap().to_bytes();
//!
//! // Alice's key opens it; a note nobody trusted signed is refused.
//! let opened = note::open(&signed, &[&alice.verifier() as &dyn NoteVerifier]).unwrap();
//! assert_eq!(opened.note.text, "hello, transparency\n");
//! assert_eq!(
//!     note::open(&signed, &[&bob.verifier() as &dyn NoteVerifier]),
//!     Err(NoteError::UnverifiedNote)
//! );
//! // One changed byte of the text fails the trusted signature.
//! let tampered = String::from_utf8(signed).unwrap().replace("hello", "jello");
//! assert!(matches!(
//!     note::open(tampered.as_bytes(), &[&alice.verifier() as &dyn NoteVerifier]),
//!     Err(NoteError::InvalidSignature { .. })
//! ));
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _};

use crate::keys::{SignatureType, SignerKey, VerifierKey, check_key_name};

/// Largest note accepted, signatures included. Room for well over the 16
/// signatures the spec requires, even at post-quantum sizes.
pub const MAX_NOTE_SIZE: usize = 256 * 1024;
/// Most signature lines accepted in one note (the spec requires ≥ 16).
pub const MAX_SIGNATURES: usize = 100;

const SIG_PREFIX: &str = "\u{2014} ";

/// Why a note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// Larger than [`MAX_NOTE_SIZE`].
    #[error("note is {0} bytes, more than the limit of {MAX_NOTE_SIZE}")]
    TooLarge(usize),
    /// Not valid UTF-8.
    #[error("note is not valid UTF-8")]
    NotUtf8,
    /// Contains an ASCII control character other than newline.
    #[error("note contains control character 0x{0:02x}")]
    ControlCharacter(u8),
    /// No blank line separates the text from the signatures.
    #[error("note has no blank line before its signatures")]
    MissingSeparator,
    /// There are no signature lines.
    #[error("note has no signatures")]
    NoSignatures,
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A signature line is not `— <name> <base64>`.
    #[error("malformed signature line {line}: {why}")]
    MalformedSignature {
        /// 1-based number of the signature line.
        line: usize,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The text to sign is not acceptable note text.
    #[error("note text must be non-empty, end with a newline and have no control characters")]
    BadText,
    /// A trusted key's signature did not verify.
    #[error("signature by {name}+{id:08x} does not verify")]
    InvalidSignature {
        /// Key name.
        name: String,
        /// Key ID.
        id: u32,
    },
    /// None of the trusted keys signed the note.
    #[error("note is not signed by any trusted key")]
    UnverifiedNote,
}

/// One signature line.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key ID (first 4 bytes of the decoded signature).
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// Parses one signature line (`— <name> <base64>`, without its newline).
    pub fn from_line(line: &str) -> Option<NoteSignature> {
        parse_signature_line(1, line).ok()
    }

    /// The signature line, with its trailing newline.
    pub fn to_line(&self) -> String {
        let mut raw = self.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, STANDARD.encode(raw))
    }
}

/// A parsed, not yet verified, note.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Note {
    /// The signed text, including its final newline.
    pub text: String,
    /// Signature lines in order.
    pub signatures: Vec<NoteSignature>,
}

fn check_text_chars(text: &str) -> Result<(), NoteError> {
    match text
        .bytes()
        .find(|&b| (b < 0x20 && b != b'\n') || b == 0x7f)
    {
        Some(b) => Err(NoteError::ControlCharacter(b)),
        None => Ok(()),
    }
}

impl Note {
    /// Parses the structure of a signed note without verifying anything.
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        if bytes.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge(bytes.len()));
        }
        let all = std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
        check_text_chars(all)?;
        // The text is separated from the signatures by the last blank line.
        let split = all.rfind("\n\n").ok_or(NoteError::MissingSeparator)?;
        let (text, sigs) = (&all[..split + 1], &all[split + 2..]);
        if sigs.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        if !sigs.ends_with('\n') {
            return Err(NoteError::MalformedSignature {
                line: 0,
                why: "does not end with a newline",
            });
        }
        let mut signatures = Vec::new();
        for (i, line) in sigs[..sigs.len() - 1].split('\n').enumerate() {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            signatures.push(parse_signature_line(i + 1, line)?);
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note in its wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.to_line());
        }
        out.into_bytes()
    }
}

fn parse_signature_line(line: usize, text: &str) -> Result<NoteSignature, NoteError> {
    let bad = |why| NoteError::MalformedSignature { line, why };
    let rest = text
        .strip_prefix(SIG_PREFIX)
        .ok_or(bad("does not start with an em dash and a space"))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or(bad("missing space between key name and signature"))?;
    check_key_name(name).map_err(|_| bad("invalid key name"))?;
    let raw = STANDARD
        .decode(b64)
        .map_err(|_| bad("signature is not base64"))?;
    if raw.len() < 5 {
        return Err(bad("signature shorter than a key ID"));
    }
    let key_id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id,
        signature: raw[4..].to_vec(),
    })
}

/// Checks that `text` is acceptable note text.
pub fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() || !text.ends_with('\n') || text.len() > MAX_NOTE_SIZE / 2 {
        return Err(NoteError::BadText);
    }
    check_text_chars(text).map_err(|_| NoteError::BadText)
}

/// Signs `text` with a plain Ed25519 note signature (type 0x01).
pub fn sign_line(text: &str, signer: &SignerKey) -> Result<NoteSignature, NoteError> {
    check_text(text)?;
    debug_assert_eq!(signer.kind(), SignatureType::Ed25519);
    let sig = signer.signing_key().sign(text.as_bytes());
    Ok(NoteSignature {
        name: signer.name().to_owned(),
        key_id: signer.id(),
        signature: sig.to_bytes().to_vec(),
    })
}

/// Signs `text` with each signer and returns the whole note.
pub fn sign(text: &str, signers: &[&SignerKey]) -> Result<Note, NoteError> {
    let signatures = signers
        .iter()
        .map(|s| sign_line(text, s))
        .collect::<Result<_, _>>()?;
    Ok(Note {
        text: text.to_owned(),
        signatures,
    })
}

/// A key a note may be verified with: plain Ed25519, or a cosigner whose
/// signatures are checked by [`crate::cosignature`].
pub trait NoteVerifier {
    /// The key name.
    fn name(&self) -> &str;
    /// The key ID.
    fn key_id(&self) -> u32;
    /// Whether `signature` is valid over `text` for this key.
    fn verify(&self, text: &str, signature: &[u8]) -> bool;
}

impl NoteVerifier for VerifierKey {
    fn name(&self) -> &str {
        VerifierKey::name(self)
    }
    fn key_id(&self) -> u32 {
        self.id()
    }
    fn verify(&self, text: &str, signature: &[u8]) -> bool {
        if self.kind() != SignatureType::Ed25519 {
            return false;
        }
        let Ok(sig) = Signature::from_slice(signature) else {
            return false;
        };
        crate::ed25519::verify_strict(self.key(), text.as_bytes(), &sig).is_ok()
    }
}

/// A note whose signatures were checked, and which trusted keys signed it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct VerifiedNote {
    /// The note.
    pub note: Note,
    /// Indexes into `note.signatures` that a trusted key verified.
    pub verified: Vec<usize>,
}

/// Parses `bytes` and verifies it against `trusted` per c2sp.org/signed-note.
pub fn open(bytes: &[u8], trusted: &[&dyn NoteVerifier]) -> Result<VerifiedNote, NoteError> {
    let note = Note::parse(bytes)?;
    let mut verified = Vec::new();
    for (i, sig) in note.signatures.iter().enumerate() {
        // A signature counts only if both name and key ID match a trusted key.
        let Some(key) = trusted
            .iter()
            .find(|k| k.name() == sig.name && k.key_id() == sig.key_id)
        else {
            continue;
        };
        if !key.verify(&note.text, &sig.signature) {
            return Err(NoteError::InvalidSignature {
                name: sig.name.clone(),
                id: sig.key_id,
            });
        }
        verified.push(i);
    }
    if verified.is_empty() {
        return Err(NoteError::UnverifiedNote);
    }
    Ok(VerifiedNote { note, verified })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    // The signed form of GO_TEXT published with the Go sumdb note package.
    const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    #[test]
    fn signing_reproduces_the_go_note_byte_for_byte() {
        let sk = SignerKey::parse(GO_SKEY).unwrap();
        let note = sign(GO_TEXT, &[&sk]).unwrap();
        assert_eq!(String::from_utf8(note.to_bytes()).unwrap(), GO_NOTE);
        let vk = sk.verifier();
        let opened = open(GO_NOTE.as_bytes(), &[&vk]).unwrap();
        assert_eq!(opened.note.text, GO_TEXT);
    }

    #[test]
    fn the_signed_note_spec_example_verifies() {
        let vk = VerifierKey::parse(SPEC_VKEY).unwrap();
        let opened = open(SPEC_NOTE.as_bytes(), &[&vk]).unwrap();
        assert_eq!(opened.note.text, "This is an example message.\n");
        assert_eq!(opened.verified, vec![0]);
    }

    #[test]
    fn unknown_signatures_are_ignored_but_one_trusted_is_required() {
        let vk = VerifierKey::parse(SPEC_VKEY).unwrap();
        let go = SignerKey::parse(GO_SKEY).unwrap();
        let mut note = Note::parse(SPEC_NOTE.as_bytes()).unwrap();
        note.signatures
            .insert(0, sign_line(&note.text, &go).unwrap());
        assert_eq!(open(&note.to_bytes(), &[&vk]).unwrap().verified, vec![1]);
        assert_eq!(
            open(SPEC_NOTE.as_bytes(), &[&go.verifier()]),
            Err(NoteError::UnverifiedNote)
        );
    }

    #[test]
    fn a_failing_trusted_signature_rejects_the_note() {
        let vk = VerifierKey::parse(SPEC_VKEY).unwrap();
        let tampered = SPEC_NOTE.replace("example message", "example massage");
        assert!(matches!(
            open(tampered.as_bytes(), &[&vk]),
            Err(NoteError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn sixteen_signatures_are_accepted() {
        let go = SignerKey::parse(GO_SKEY).unwrap();
        let others: Vec<SignerKey> = (0..16u8)
            .map(|i| {
                SignerKey::from_seed(&format!("w{i}.example"), SignatureType::Ed25519, &[i; 32])
                    .unwrap()
            })
            .collect();
        let mut signers: Vec<&SignerKey> = others.iter().collect();
        signers.push(&go);
        let note = sign(GO_TEXT, &signers).unwrap();
        assert_eq!(note.signatures.len(), 17);
        assert!(open(&note.to_bytes(), &[&go.verifier()]).is_ok());
    }

    #[test]
    fn malformed_notes_are_refused() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"no separator\n\xe2\x80\x94 a AAAAAAA=\n" as &[u8],
                "separator",
            ),
            (b"text\n\n", "no signatures"),
            (b"text\n\n- a AAAAAAA=\n", "dash"),
            (b"text\n\n\xe2\x80\x94 a AAAAAAA=", "newline"),
            (b"text\n\n\xe2\x80\x94 a !!!\n", "base64"),
            (b"text\n\n\xe2\x80\x94 a AAAA\n", "short"),
            (b"text\n\n\xe2\x80\x94 a+b AAAAAAA=\n", "name"),
            (b"te\x01xt\n\n\xe2\x80\x94 a AAAAAAA=\n", "control"),
            (b"te\rxt\n\n\xe2\x80\x94 a AAAAAAA=\n", "carriage return"),
            (b"\xff\xfe\n\n\xe2\x80\x94 a AAAAAAA=\n", "utf8"),
            (
                b"text\n\n\xe2\x80\x94 a AAAAAAA=\n\n",
                "empty signature line",
            ),
        ];
        for (bytes, what) in cases {
            assert!(Note::parse(bytes).is_err(), "{what}: accepted");
        }
        let big = vec![b'a'; MAX_NOTE_SIZE + 1];
        assert_eq!(
            Note::parse(&big),
            Err(NoteError::TooLarge(MAX_NOTE_SIZE + 1))
        );
        let many = format!(
            "t\n\n{}",
            "\u{2014} a AAAAAAA=\n".repeat(MAX_SIGNATURES + 1)
        );
        assert_eq!(
            Note::parse(many.as_bytes()),
            Err(NoteError::TooManySignatures)
        );
        assert!(check_text("no newline").is_err());
        assert!(check_text("").is_err());
    }

    #[test]
    fn text_may_contain_blank_lines() {
        let go = SignerKey::parse(GO_SKEY).unwrap();
        let text = "a\n\nb\n";
        let note = sign(text, &[&go]).unwrap();
        let opened = open(&note.to_bytes(), &[&go.verifier()]).unwrap();
        assert_eq!(opened.note.text, text);
    }
}
