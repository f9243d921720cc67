//! Checkpoints per c2sp.org/tlog-checkpoint: a signed note whose text is the
//! log's origin, the tree size in decimal, the base64 root hash and optional
//! extension lines.
//!
//! A log signs its tree head; a client opens the note with the log's key
//! and gets the head back only if the signature and the origin check out:
//!
//! ```
//! use gatelog_core::checkpoint::{self, Checkpoint, Origin};
//! use gatelog_core::{Hash, SignatureType, SignerKey, TreeHead, TreeSize};
//!
//! let log_key = SignerKey::from_seed("example.com/log", SignatureType::Ed25519, &[7; 32])?;
//! let head = TreeHead { size: TreeSize(3), root: Hash([1; 32]) };
//! let note = Checkpoint::new(Origin::new("example.com/log")?, head).sign(&log_key)?;
//!
//! let opened = checkpoint::open(&note.to_bytes(), &log_key.verifier())?;
//! assert_eq!(opened.head(), head);
//!
//! // Another key, or one changed byte, and nothing is returned.
//! let other = SignerKey::from_seed("example.com/log", SignatureType::Ed25519, &[8; 32])?;
//! assert!(checkpoint::open(&note.to_bytes(), &other.verifier()).is_err());
//! let mut bytes = note.to_bytes();
//! bytes[16] ^= 1;
//! assert!(checkpoint::open(&bytes, &log_key.verifier()).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::hash::Hash;
use crate::keys::{SignerKey, VerifierKey};
use crate::note::{self, Note, NoteError, NoteVerifier};
use crate::tree::{TreeHead, TreeSize};

/// Longest origin line accepted.
pub const MAX_ORIGIN_LEN: usize = 256;
/// Most extension lines accepted.
pub const MAX_EXTENSIONS: usize = 16;

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The signed note around it is bad.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The origin line is empty, too long or has spaces, `+` or controls.
    #[error("invalid origin {0:?}")]
    BadOrigin(String),
    /// The text has fewer than three lines.
    #[error("checkpoint text needs origin, size and root lines")]
    MissingLines,
    /// The size line is not canonical decimal.
    #[error("tree size {0:?} is not a decimal number without leading zeros")]
    BadSize(String),
    /// The root line is not base64 of 32 bytes.
    #[error("root hash {0:?} is not base64 of 32 bytes")]
    BadRoot(String),
    /// An extension line is empty, or there are too many.
    #[error("extension lines must be non-empty and at most {MAX_EXTENSIONS}")]
    BadExtension,
    /// The checkpoint is from another log than expected.
    #[error("checkpoint origin {got:?} is not the expected {expected:?}")]
    WrongOrigin {
        /// Origin expected by the caller.
        expected: String,
        /// Origin in the checkpoint.
        got: String,
    },
}

/// A log identity: the first line of every checkpoint it signs.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Origin(String);

impl Origin {
    /// Validates an origin: non-empty, at most [`MAX_ORIGIN_LEN`] bytes, no
    /// Unicode spaces, no `+`, no control characters (so it can also be the
    /// log's key name, as the spec recommends).
    pub fn new(origin: &str) -> Result<Origin, CheckpointError> {
        if origin.is_empty()
            || origin.len() > MAX_ORIGIN_LEN
            || origin
                .chars()
                .any(|c| c.is_whitespace() || c == '+' || c.is_control())
        {
            return Err(CheckpointError::BadOrigin(
                origin.chars().take(80).collect(),
            ));
        }
        Ok(Origin(origin.to_owned()))
    }

    /// The origin string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The body of a checkpoint.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Checkpoint {
    /// Which log.
    pub origin: Origin,
    /// Tree size and root.
    pub head: TreeHead,
    /// Opaque extension lines (gatelog writes none).
    pub extensions: Vec<String>,
}

fn parse_size(line: &str) -> Result<TreeSize, CheckpointError> {
    let canonical = !line.is_empty()
        && line.len() <= 20
        && line.bytes().all(|b| b.is_ascii_digit())
        && (line == "0" || !line.starts_with('0'));
    match line.parse::<u64>() {
        Ok(n) if canonical => Ok(TreeSize(n)),
        _ => Err(CheckpointError::BadSize(line.chars().take(40).collect())),
    }
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: Origin, head: TreeHead) -> Checkpoint {
        Checkpoint {
            origin,
            head,
            extensions: Vec::new(),
        }
    }

    /// The note text: origin, size, root, extensions, each ending in newline.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.head.size,
            self.head.root.to_base64()
        );
        for ext in &self.extensions {
            text.push_str(ext);
            text.push('\n');
        }
        text
    }

    /// Parses checkpoint text (the note text, without signatures).
    pub fn parse_text(text: &str) -> Result<Checkpoint, CheckpointError> {
        note::check_text(text).map_err(CheckpointError::Note)?;
        let mut lines = text[..text.len() - 1].split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::MissingLines);
        };
        let origin = Origin::new(origin)?;
        let size = parse_size(size)?;
        let root = Hash::from_base64(root)
            .ok_or_else(|| CheckpointError::BadRoot(root.chars().take(60).collect()))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.len() > MAX_EXTENSIONS || extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::BadExtension);
        }
        Ok(Checkpoint {
            origin,
            head: TreeHead { size, root },
            extensions,
        })
    }

    /// Signs the checkpoint with the log's key and returns the signed note.
    pub fn sign(&self, log_key: &SignerKey) -> Result<Note, CheckpointError> {
        Ok(note::sign(&self.to_text(), &[log_key])?)
    }
}

/// A checkpoint whose log signature was verified, with the note it came in
/// (kept byte for byte so it can be shown as evidence or passed on).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedCheckpoint {
    /// The parsed body.
    pub checkpoint: Checkpoint,
    /// The whole note, signatures included.
    pub note: Note,
}

impl SignedCheckpoint {
    /// Tree head shortcut.
    pub fn head(&self) -> TreeHead {
        self.checkpoint.head
    }

    /// The note bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.note.to_bytes()
    }
}

/// Verifies a signed checkpoint from the log whose key is `log_key`: the note
/// must carry a valid signature of that key, and the origin line must equal
/// the key name (gatelog names its log key after its origin). Other
/// signatures (cosigners, rotated keys) are ignored.
pub fn open(bytes: &[u8], log_key: &VerifierKey) -> Result<SignedCheckpoint, CheckpointError> {
    let verified = note::open(bytes, &[log_key as &dyn NoteVerifier])?;
    let checkpoint = Checkpoint::parse_text(&verified.note.text)?;
    if checkpoint.origin.as_str() != log_key.name() {
        return Err(CheckpointError::WrongOrigin {
            expected: log_key.name().to_owned(),
            got: checkpoint.origin.as_str().to_owned(),
        });
    }
    Ok(SignedCheckpoint {
        checkpoint,
        note: verified.note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SignatureType;

    fn key() -> SignerKey {
        SignerKey::from_seed("gatelog.localhost/log", SignatureType::Ed25519, &[7; 32]).unwrap()
    }

    #[test]
    fn spec_example_text_parses_and_round_trips() {
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let cp = Checkpoint::parse_text(text).unwrap();
        assert_eq!(cp.origin.as_str(), "example.com/behind-the-sofa");
        assert_eq!(cp.head.size, TreeSize(20852163));
        assert_eq!(cp.to_text(), text);
    }

    #[test]
    fn sign_then_open_round_trips() {
        let k = key();
        let mut cp = Checkpoint::new(Origin::new(k.name()).unwrap(), TreeHead::empty());
        cp.extensions.push("ext line".into());
        let note = cp.sign(&k).unwrap();
        let signed = open(&note.to_bytes(), &k.verifier()).unwrap();
        assert_eq!(signed.checkpoint, cp);
        assert_eq!(signed.to_bytes(), note.to_bytes());
    }

    #[test]
    fn wrong_key_or_origin_is_refused() {
        let k = key();
        let other =
            SignerKey::from_seed("other.example/log", SignatureType::Ed25519, &[8; 32]).unwrap();
        let cp = Checkpoint::new(Origin::new("other.example/log").unwrap(), TreeHead::empty());
        let by_other = cp.sign(&other).unwrap().to_bytes();
        assert_eq!(
            open(&by_other, &k.verifier()),
            Err(CheckpointError::Note(NoteError::UnverifiedNote))
        );
        // Right key, but a checkpoint that claims another origin.
        let mislabelled = cp.sign(&k).unwrap().to_bytes();
        assert!(matches!(
            open(&mislabelled, &k.verifier()),
            Err(CheckpointError::WrongOrigin { .. })
        ));
    }

    #[test]
    fn malformed_texts_are_refused() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        for text in [
            "o\n1\n".to_string(),
            format!("o\n01\n{root}\n"),
            format!("o\n-1\n{root}\n"),
            format!("o\n+1\n{root}\n"),
            format!("o\n18446744073709551616\n{root}\n"),
            format!("o\n 1\n{root}\n"),
            "o\n1\nAAAA\n".to_string(),
            format!("\n1\n{root}\n"),
            format!("a b\n1\n{root}\n"),
            format!("a+b\n1\n{root}\n"),
            format!("o\n1\n{root}\n\n"),
            format!("o\n1\n{root}"),
        ] {
            assert!(Checkpoint::parse_text(&text).is_err(), "{text:?} accepted");
        }
        assert!(Checkpoint::parse_text(&format!("o\n0\n{root}\n")).is_ok());
    }
}
