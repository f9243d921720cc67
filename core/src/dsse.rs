//! DSSE v1 envelopes (github.com/secure-systems-lab/dsse, `protocol.md` and
//! `envelope.md`) signed with Ed25519 by submitters (registries).
//!
//! In scope: the JSON envelope with strict parsing and one canonical
//! serialization, the pre-authentication encoding ([`pae`]), signing, and
//! verification against a [`Keyring`] of allowed submitter keys. Out of
//! scope: what the payload means (see [`crate::event`]) and where keys come
//! from.
//!
//! Two deliberate narrowings of DSSE: base64 must use the standard alphabet
//! with canonical padding (DSSE also allows URL-safe), so that an envelope
//! has exactly one serialization; and only Ed25519 signatures are verified.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::json::{self, JsonError, Object, Path};

/// The `payloadType` of a gatelog event.
pub const EVENT_PAYLOAD_TYPE: &str = "application/vnd.gatelog.event.v1+json";

/// Largest envelope [`Envelope::from_json`] accepts, in bytes. Chosen so
/// that any accepted envelope fits in a leaf (see [`crate::leaf`]).
pub const MAX_ENVELOPE_SIZE: usize = 63 * 1024;

/// Most signatures one envelope may carry.
pub const MAX_SIGNATURES: usize = 4;

/// Longest `keyid` accepted, in bytes.
pub const MAX_KEYID_LEN: usize = 256;

/// Longest `payloadType` accepted, in bytes.
pub const MAX_PAYLOAD_TYPE_LEN: usize = 256;

/// Why an envelope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsseError {
    /// The serialized envelope exceeds [`MAX_ENVELOPE_SIZE`].
    #[error("envelope is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size received.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Malformed JSON, duplicate or unknown keys, missing or mistyped fields.
    #[error("envelope: {0}")]
    Json(#[from] JsonError),
    /// A field that should hold standard, padded base64 does not.
    #[error("field `{field}`: not canonical standard base64")]
    InvalidBase64 {
        /// Path of the field.
        field: String,
    },
    /// The payload decodes to zero bytes.
    #[error("field `{field}`: the payload is empty")]
    EmptyPayload {
        /// Path of the field.
        field: String,
    },
    /// `signatures` is empty.
    #[error("field `{field}`: the envelope has no signatures")]
    NoSignatures {
        /// Path of the field.
        field: String,
    },
    /// More than [`MAX_SIGNATURES`] signatures.
    #[error("field `{field}`: {count} signatures, more than the limit of {max}")]
    TooManySignatures {
        /// Path of the field.
        field: String,
        /// Signatures received.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A string field exceeds its length limit.
    #[error("field `{field}`: {len} bytes, more than the limit of {max}")]
    TooLong {
        /// Path of the field.
        field: String,
        /// Length received.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The payload is not of the type the caller expects.
    #[error("field `payloadType`: expected {expected:?}, found {found:?}")]
    WrongPayloadType {
        /// The type the caller wanted.
        expected: String,
        /// The type in the envelope.
        found: String,
    },
    /// No signature carries the key ID of an allowed key: the submitter is
    /// not known to this log (the server answers 401).
    #[error("no signature by an allowed key")]
    UnknownSigner,
    /// A signature names an allowed key but does not verify: a known
    /// submitter's signature is wrong or the envelope was altered (403).
    #[error("signature by key {keyid} does not verify")]
    BadSignature {
        /// Key ID of the failing signature.
        keyid: String,
    },
}

/// One signature of an envelope.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Signature {
    /// Unauthenticated hint naming the key; gatelog uses [`key_id`].
    pub keyid: String,
    /// The raw signature bytes (base64 in JSON).
    pub sig: Vec<u8>,
}

/// A DSSE envelope: a payload, its type, and signatures over [`pae`] of both.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Envelope {
    /// The signed bytes (base64 in JSON).
    pub payload: Vec<u8>,
    /// Media type of the payload (JSON `payloadType`).
    pub payload_type: String,
    /// Signatures; verification needs one by an allowed key.
    pub signatures: Vec<Signature>,
}

/// The DSSE v1 pre-authentication encoding, the bytes that are actually
/// signed: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, with the
/// lengths in bytes written as ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let head = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    );
    let mut out = Vec::with_capacity(head.len() + payload.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// The key ID gatelog gives an Ed25519 submitter key: lowercase hex of
/// `SHA-256(0x01 ‖ public key)`. This is gatelog's own convention (DSSE
/// leaves key IDs to the application); the `0x01` byte is the Ed25519
/// signature-type byte of c2sp.org/signed-note, so a different key type
/// could never share an ID.
pub fn key_id(key: &VerifyingKey) -> String {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(key.as_bytes());
    hex::encode(h.finalize())
}

/// Signs `payload` as a one-signature envelope whose `keyid` is [`key_id`].
/// Limits are not checked here: they apply when an envelope is parsed.
pub fn sign(payload_type: &str, payload: &[u8], key: &SigningKey) -> Envelope {
    let signature = key.sign(&pae(payload_type, payload));
    Envelope {
        payload: payload.to_vec(),
        payload_type: payload_type.to_owned(),
        signatures: vec![Signature {
            keyid: key_id(&key.verifying_key()),
            sig: signature.to_bytes().to_vec(),
        }],
    }
}

/// The submitter keys a log accepts, indexed by their [`key_id`]. Meant for a
/// handful of keys: lookups are a linear scan.
#[derive(Clone, Debug, Default)]
pub struct Keyring {
    keys: Vec<(String, VerifyingKey)>,
}

impl Keyring {
    /// A keyring holding `keys` (duplicates are kept once).
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>) -> Keyring {
        keys.into_iter().collect()
    }

    /// The key whose [`key_id`] is `keyid`.
    pub fn get(&self, keyid: &str) -> Option<&VerifyingKey> {
        self.keys
            .iter()
            .find(|(id, _)| id == keyid)
            .map(|(_, key)| key)
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the keyring holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl FromIterator<VerifyingKey> for Keyring {
    fn from_iter<I: IntoIterator<Item = VerifyingKey>>(iter: I) -> Keyring {
        let mut ring = Keyring::default();
        for key in iter {
            let id = key_id(&key);
            if ring.get(&id).is_none() {
                ring.keys.push((id, key));
            }
        }
        ring
    }
}

const ENVELOPE_FIELDS: &[&str] = &["payload", "payloadType", "signatures"];
const SIGNATURE_FIELDS: &[&str] = &["keyid", "sig"];

impl Envelope {
    /// Parses an envelope from JSON, strictly: at most [`MAX_ENVELOPE_SIZE`]
    /// bytes, no duplicate or unknown keys, canonical standard base64, a
    /// non-empty payload, 1 to [`MAX_SIGNATURES`] signatures, and bounded
    /// `keyid` and `payloadType`. Signatures are not verified here.
    pub fn from_json(bytes: &[u8]) -> Result<Envelope, DsseError> {
        if bytes.len() > MAX_ENVELOPE_SIZE {
            return Err(DsseError::TooLarge {
                size: bytes.len(),
                max: MAX_ENVELOPE_SIZE,
            });
        }
        Envelope::read(&json::parse_value(bytes)?, Path::Root)
    }

    /// Reads an envelope from an already parsed value at `path` (the leaf
    /// parser embeds envelopes).
    pub(crate) fn read(value: &Value, path: Path<'_>) -> Result<Envelope, DsseError> {
        let obj = Object::new(value, path)?;
        obj.only(ENVELOPE_FIELDS)?;
        let payload = decode_base64(&obj, "payload")?;
        if payload.is_empty() {
            return Err(DsseError::EmptyPayload {
                field: obj.field("payload"),
            });
        }
        let payload_type = bounded(&obj, "payloadType", MAX_PAYLOAD_TYPE_LEN)?;
        let items = obj.array("signatures")?;
        if items.is_empty() {
            return Err(DsseError::NoSignatures {
                field: obj.field("signatures"),
            });
        }
        if items.len() > MAX_SIGNATURES {
            return Err(DsseError::TooManySignatures {
                field: obj.field("signatures"),
                count: items.len(),
                max: MAX_SIGNATURES,
            });
        }
        let list_path = obj.path().key("signatures");
        let mut signatures = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let sig = Object::new(item, Path::Index(&list_path, i))?;
            sig.only(SIGNATURE_FIELDS)?;
            signatures.push(Signature {
                keyid: bounded(&sig, "keyid", MAX_KEYID_LEN)?,
                sig: decode_base64(&sig, "sig")?,
            });
        }
        Ok(Envelope {
            payload,
            payload_type,
            signatures,
        })
    }

    /// The canonical JSON form: keys in the order `payload`, `payloadType`,
    /// `signatures` (each `keyid`, `sig`), no whitespace, standard padded
    /// base64, strings escaped as serde_json does.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = String::with_capacity(self.payload.len() * 4 / 3 + 200);
        out.push_str("{\"payload\":\"");
        STANDARD.encode_string(&self.payload, &mut out);
        out.push_str("\",\"payloadType\":");
        json::write_str(&mut out, &self.payload_type);
        out.push_str(",\"signatures\":[");
        for (i, signature) in self.signatures.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"keyid\":");
            json::write_str(&mut out, &signature.keyid);
            out.push_str(",\"sig\":\"");
            STANDARD.encode_string(&signature.sig, &mut out);
            out.push_str("\"}");
        }
        out.push_str("]}");
        out.into_bytes()
    }

    /// Checks that the payload is of type `expected`.
    pub fn check_payload_type(&self, expected: &str) -> Result<(), DsseError> {
        if self.payload_type == expected {
            Ok(())
        } else {
            Err(DsseError::WrongPayloadType {
                expected: expected.to_owned(),
                found: self.payload_type.clone(),
            })
        }
    }

    /// The identity of the envelope's content: SHA-256 of [`pae`] of its
    /// payload type and payload. Signatures are not part of it, so the same
    /// event signed again, or with extra signatures, has the same identity
    /// (the log answers such a resubmission with the entry it already has).
    pub fn content_digest(&self) -> crate::Hash {
        crate::Hash::sha256(&pae(&self.payload_type, &self.payload))
    }

    /// [`Envelope::verify`], and the envelope that keeps only what was
    /// verified: one signature per allowed key that signed, in the order
    /// received. Signatures by keys outside `keyring` and repeats of a
    /// key's signature are dropped, so nobody can add bytes of their own to
    /// an envelope the log stores.
    pub fn verified<'k>(
        &self,
        keyring: &'k Keyring,
    ) -> Result<(Envelope, &'k VerifyingKey), DsseError> {
        let signer = self.verify(keyring)?;
        let mut signatures: Vec<Signature> = Vec::with_capacity(1);
        for signature in &self.signatures {
            if keyring.get(&signature.keyid).is_some()
                && !signatures.iter().any(|s| s.keyid == signature.keyid)
            {
                signatures.push(signature.clone());
            }
        }
        let envelope = Envelope {
            payload: self.payload.clone(),
            payload_type: self.payload_type.clone(),
            signatures,
        };
        Ok((envelope, signer))
    }

    /// Verifies the envelope against the allowed submitter keys and returns
    /// the key that signed it.
    ///
    /// A signature counts only if its `keyid` names a key of `keyring` and
    /// it passes [`crate::ed25519::verify_strict`] over [`pae`]. Any
    /// signature that names an allowed key but fails is
    /// [`DsseError::BadSignature`], even if another one verifies: a known
    /// key never signs garbage. Signatures naming no allowed key are
    /// ignored; if nothing is left, the result is
    /// [`DsseError::UnknownSigner`].
    pub fn verify<'k>(&self, keyring: &'k Keyring) -> Result<&'k VerifyingKey, DsseError> {
        let message = pae(&self.payload_type, &self.payload);
        let mut signer = None;
        for signature in &self.signatures {
            let Some(key) = keyring.get(&signature.keyid) else {
                continue;
            };
            let valid = ed25519_dalek::Signature::from_slice(&signature.sig)
                .and_then(|sig| crate::ed25519::verify_strict(key, &message, &sig));
            if valid.is_err() {
                return Err(DsseError::BadSignature {
                    keyid: signature.keyid.clone(),
                });
            }
            signer.get_or_insert(key);
        }
        signer.ok_or(DsseError::UnknownSigner)
    }
}

/// A required string of at most `max` bytes.
fn bounded(obj: &Object<'_, '_>, key: &str, max: usize) -> Result<String, DsseError> {
    let text = obj.str(key)?;
    if text.len() > max {
        return Err(DsseError::TooLong {
            field: obj.field(key),
            len: text.len(),
            max,
        });
    }
    Ok(text.to_owned())
}

/// A required string of canonical standard base64.
fn decode_base64(obj: &Object<'_, '_>, key: &str) -> Result<Vec<u8>, DsseError> {
    STANDARD
        .decode(obj.str(key)?)
        .map_err(|_| DsseError::InvalidBase64 {
            field: obj.field(key),
        })
}

impl serde::Serialize for Envelope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("Envelope", 3)?;
        st.serialize_field("payload", &STANDARD.encode(&self.payload))?;
        st.serialize_field("payloadType", &self.payload_type)?;
        st.serialize_field("signatures", &self.signatures)?;
        st.end()
    }
}

impl serde::Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("Signature", 2)?;
        st.serialize_field("keyid", &self.keyid)?;
        st.serialize_field("sig", &STANDARD.encode(&self.sig))?;
        st.end()
    }
}

/// Deserializing applies the rules of [`Envelope::from_json`] except the
/// size limit, which needs the raw bytes.
impl<'de> serde::Deserialize<'de> for Envelope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Envelope, D::Error> {
        let value = json::deserialize_value(d)?;
        Envelope::read(&value, Path::Root).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
