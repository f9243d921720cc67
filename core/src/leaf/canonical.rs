//! The fast path of [`Leaf::parse`]: reads a leaf that is already in its
//! one canonical encoding by walking the bytes once, without building a
//! JSON tree and serializing it again to compare.
//!
//! It accepts a subset of what the full parser accepts (strings holding an
//! escape are left to the full parser) and gives the same [`Leaf`] for
//! every byte string it accepts; anything else goes to the full parser,
//! which also names what is wrong. The tests of `leaf.rs` prove both
//! properties on generated and mutated leaves.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{LEAF_VERSION, Leaf};
use crate::dsse::{Envelope, MAX_KEYID_LEN, MAX_PAYLOAD_TYPE_LEN, MAX_SIGNATURES, Signature};
use crate::tree::LeafIndex;

/// Everything before `logged_at`'s value.
const HEAD: &[u8] = br#"{"v":1,"logged_at":"#;
const _: () = assert!(LEAF_VERSION == 1, "HEAD spells the leaf version");

/// A position in the leaf bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// Consumes `literal` if the bytes continue with it.
    fn literal(&mut self, literal: &[u8]) -> Option<()> {
        let rest = self.bytes.get(self.at..)?;
        rest.starts_with(literal).then(|| self.at += literal.len())
    }

    /// A non-negative integer as `u64`'s `Display` writes it: digits, no
    /// leading zero, no overflow.
    fn number(&mut self) -> Option<u64> {
        let start = self.at;
        let mut value: u64 = 0;
        while let Some(digit) = self.bytes.get(self.at).filter(|b| b.is_ascii_digit()) {
            value = value
                .checked_mul(10)?
                .checked_add(u64::from(digit - b'0'))?;
            self.at += 1;
        }
        let digits = self.at - start;
        let leading_zero = digits > 1 && self.bytes[start] == b'0';
        (digits > 0 && !leading_zero).then_some(value)
    }

    /// The rest of a string literal whose opening quote was consumed,
    /// provided its encoding holds no escape: then the bytes are the text
    /// and the canonical writer writes them unchanged (it escapes only
    /// `"`, `\` and control characters). Consumes the closing quote.
    fn plain_str(&mut self) -> Option<&'a str> {
        let start = self.at;
        loop {
            match *self.bytes.get(self.at)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
        let text = std::str::from_utf8(&self.bytes[start..self.at]).ok()?;
        self.at += 1;
        Some(text)
    }

    /// A string of canonical standard base64 (strict padding, no trailing
    /// bits), decoded: such a string is the only encoding of its bytes.
    fn base64(&mut self) -> Option<Vec<u8>> {
        STANDARD.decode(self.plain_str()?).ok()
    }

    /// A string of at most `max` bytes.
    fn bounded(&mut self, max: usize) -> Option<String> {
        self.plain_str()
            .filter(|text| text.len() <= max)
            .map(str::to_owned)
    }
}

/// The leaf `bytes` hold, if they are canonical and need no unescaping;
/// `None` leaves the decision to the full parser.
pub(super) fn parse(bytes: &[u8]) -> Option<Leaf> {
    let mut c = Cursor { bytes, at: 0 };
    c.literal(HEAD)?;
    let logged_at = c.number()?;
    c.literal(br#","prev":"#)?;
    let prev = match c.literal(b"null") {
        Some(()) => None,
        None => Some(LeafIndex(c.number()?)),
    };
    c.literal(br#","envelope":{"payload":""#)?;
    let payload = c.base64().filter(|p| !p.is_empty())?;
    c.literal(br#","payloadType":""#)?;
    let payload_type = c.bounded(MAX_PAYLOAD_TYPE_LEN)?;
    c.literal(br#","signatures":["#)?;
    let mut signatures = Vec::with_capacity(1);
    loop {
        c.literal(br#"{"keyid":""#)?;
        let keyid = c.bounded(MAX_KEYID_LEN)?;
        c.literal(br#","sig":""#)?;
        let sig = c.base64()?;
        c.literal(b"}")?;
        signatures.push(Signature { keyid, sig });
        if c.literal(b",").is_none() || signatures.len() == MAX_SIGNATURES {
            break;
        }
    }
    c.literal(b"]}}")?;
    if c.at != bytes.len() {
        return None;
    }
    Some(Leaf {
        bytes: bytes.to_vec(),
        logged_at,
        prev,
        envelope: Envelope {
            payload,
            payload_type,
            signatures,
        },
    })
}
