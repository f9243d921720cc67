//! The wire format of c2sp.org/tlog-witness `add-checkpoint`: the request a
//! log sends a witness, and the cosignature lines the witness answers.
//!
//! In scope: parsing and writing the request body (an `old <size>` line, at
//! most [`MAX_PROOF_LINES`] base64 consistency-proof hashes, an empty line,
//! then the checkpoint note) and the answer (one or more note signature
//! lines). Strict: sizes in canonical decimal, canonical base64, every line
//! ending in a newline. Out of scope: verifying the checkpoint or the proof
//! (the witness does that), HTTP.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::hash::Hash;
use crate::note::{MAX_NOTE_SIZE, NoteSignature};

/// Most consistency-proof lines a request may carry (the spec's limit).
pub const MAX_PROOF_LINES: usize = 63;

/// Largest request body: the proof lines and the largest note.
pub const MAX_REQUEST_SIZE: usize = 16 + MAX_PROOF_LINES * 45 + MAX_NOTE_SIZE;

/// The `Content-Type` of a 409 answer, which holds the witness's size.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// Why a request or answer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessWireError {
    /// Larger than [`MAX_REQUEST_SIZE`].
    #[error("request is {0} bytes, more than the limit of {MAX_REQUEST_SIZE}")]
    TooLarge(usize),
    /// The first line is not `old <size>`.
    #[error("the first line must be `old <size>` in canonical decimal")]
    BadOldLine,
    /// A proof line is not a canonical base64 SHA-256 hash.
    #[error("consistency proof line {0} is not a base64 SHA-256 hash")]
    BadProofLine(usize),
    /// More than [`MAX_PROOF_LINES`] proof lines.
    #[error("more than {MAX_PROOF_LINES} consistency proof lines")]
    TooManyProofLines,
    /// No empty line before the checkpoint.
    #[error("no empty line before the checkpoint")]
    NoCheckpoint,
    /// The answer holds no valid signature line.
    #[error("answer line {0} is not a note signature line")]
    BadSignatureLine(usize),
}

/// An `add-checkpoint` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the witness last cosigned, as the log
    /// believes it.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, as sent.
    pub checkpoint: Vec<u8>,
}

/// A canonical ASCII decimal: no sign, no leading zero (except `0`).
pub fn parse_size(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

impl AddCheckpoint {
    /// Parses a request body.
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, WitnessWireError> {
        if body.len() > MAX_REQUEST_SIZE {
            return Err(WitnessWireError::TooLarge(body.len()));
        }
        let mut rest = body;
        let mut line = || -> Option<&[u8]> {
            let end = rest.iter().position(|&b| b == b'\n')?;
            let (l, r) = rest.split_at(end);
            rest = &r[1..];
            Some(l)
        };
        let old = line()
            .and_then(|l| std::str::from_utf8(l).ok())
            .and_then(|l| l.strip_prefix("old "))
            .and_then(parse_size)
            .ok_or(WitnessWireError::BadOldLine)?;
        let mut proof = Vec::new();
        loop {
            let Some(l) = line() else {
                return Err(WitnessWireError::NoCheckpoint);
            };
            if l.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(WitnessWireError::TooManyProofLines);
            }
            proof.push(decode_hash(l).ok_or(WitnessWireError::BadProofLine(proof.len() + 1))?);
        }
        Ok(AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: rest.to_vec(),
        })
    }

    /// The request body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("old {}\n", self.old_size).into_bytes();
        for h in &self.proof {
            out.extend_from_slice(STANDARD.encode(h.as_bytes()).as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.checkpoint);
        out
    }
}

fn decode_hash(line: &[u8]) -> Option<Hash> {
    Hash::from_slice(&STANDARD.decode(line).ok()?)
}

/// Parses the answer to a successful `add-checkpoint`: one or more note
/// signature lines, each ending in a newline.
pub fn parse_cosignatures(body: &[u8]) -> Result<Vec<NoteSignature>, WitnessWireError> {
    let text = std::str::from_utf8(body).map_err(|_| WitnessWireError::BadSignatureLine(1))?;
    if text.is_empty() || !text.ends_with('\n') || text.len() > MAX_NOTE_SIZE {
        return Err(WitnessWireError::BadSignatureLine(1));
    }
    text.lines()
        .enumerate()
        .map(|(i, l)| NoteSignature::from_line(l).ok_or(WitnessWireError::BadSignatureLine(i + 1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

    #[test]
    fn the_spec_example_parses_and_round_trips() {
        let req = AddCheckpoint::parse(SPEC.as_bytes()).unwrap();
        assert_eq!(req.old_size, 20852014);
        assert_eq!(req.proof.len(), 4);
        assert!(
            req.checkpoint
                .starts_with(b"example.com/behind-the-sofa\n20852163\n")
        );
        assert_eq!(req.to_bytes(), SPEC.as_bytes());
    }

    #[test]
    fn malformed_requests_are_refused() {
        let note = "\nexample.com/x\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        for (body, want) in [
            (format!("old 01{note}"), WitnessWireError::BadOldLine),
            (format!("old -1{note}"), WitnessWireError::BadOldLine),
            (format!("old 1 {note}"), WitnessWireError::BadOldLine),
            (format!("new 1{note}"), WitnessWireError::BadOldLine),
            (
                "old 1\nAAAA\n".to_owned(),
                WitnessWireError::BadProofLine(1),
            ),
            ("old 1\n".to_owned(), WitnessWireError::NoCheckpoint),
        ] {
            assert_eq!(AddCheckpoint::parse(body.as_bytes()), Err(want), "{body:?}");
        }
        let line = format!("{}\n", STANDARD.encode([7u8; 32]));
        let body = format!("old 1\n{}\nx\n", line.repeat(64));
        assert_eq!(
            AddCheckpoint::parse(body.as_bytes()),
            Err(WitnessWireError::TooManyProofLines)
        );
        assert!(
            AddCheckpoint::parse(format!("old 1\n{}\nx\n", line.repeat(63)).as_bytes()).is_ok()
        );
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("00"), None);
        assert_eq!(parse_size("18446744073709551616"), None);
    }

    #[test]
    fn answers_are_signature_lines() {
        let ok = "\u{2014} witness.example/w1 CMp+6LWBU0anHGH5aNDTJkH/gj79sG+T6+iP2ThYN5krrDJbR1HDnucjL39QsZTSvVjyQLrdk3DXDqI5G2HgLatVs0pWh6Up69HVOw==\n";
        let sigs = parse_cosignatures(ok.as_bytes()).unwrap();
        assert_eq!(sigs[0].name, "witness.example/w1");
        assert!(parse_cosignatures(b"").is_err());
        assert!(parse_cosignatures(b"hello\n").is_err());
        assert!(parse_cosignatures(ok.trim_end().as_bytes()).is_err());
    }
}
