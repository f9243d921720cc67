//! Why an event was refused. Every message names the field concerned.

use super::EventType;
use crate::json::JsonError;

/// Why an event was refused or a check on it failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The serialized event exceeds [`super::MAX_EVENT_SIZE`].
    #[error("event is {size} bytes, more than the limit of {max}")]
    TooLarge {
        /// Size of the event.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Malformed JSON, duplicate or unknown keys, missing or mistyped fields.
    #[error("event: {0}")]
    Json(#[from] JsonError),
    /// The envelope does not carry a gatelog event.
    #[error("field `payloadType`: expected {expected:?}, found {found:?}", expected = crate::dsse::EVENT_PAYLOAD_TYPE)]
    WrongPayloadType {
        /// The payload type found.
        found: String,
    },
    /// `type` names no event type.
    #[error("field `type`: unknown event type {found:?}")]
    UnknownType {
        /// The value found.
        found: String,
    },
    /// `package` is not a valid npm package name.
    #[error("field `package`: invalid npm package name {name:?}: {reason}")]
    InvalidPackageName {
        /// The name found.
        name: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// `version` is not strict SemVer 2.0.
    #[error("field `version`: {value:?} is not a SemVer 2.0 version: {reason}")]
    InvalidVersion {
        /// The value found.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `integrity` is not a single `sha512-` SRI value of 64 bytes.
    #[error("field `integrity`: {reason}")]
    InvalidIntegrity {
        /// What is wrong with it.
        reason: String,
    },
    /// `registry` is not an `https://` or `http://` origin.
    #[error("field `registry`: {value:?} {reason}")]
    InvalidRegistry {
        /// The value found.
        value: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// `time` is not an RFC 3339 timestamp.
    #[error("field `time`: {value:?} is not an RFC 3339 timestamp: {reason}")]
    InvalidTime {
        /// The value found.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A string exceeds the length limit of its field.
    #[error("field `{field}`: {len} bytes, more than the limit of {max}")]
    TooLong {
        /// Path of the field.
        field: String,
        /// Length found.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A list exceeds the length limit of its field.
    #[error("field `{field}`: {count} entries, more than the limit of {max}")]
    TooMany {
        /// Path of the field.
        field: String,
        /// Entries found.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Bytes that are not canonical base64 of the right length, or not a
    /// valid Ed25519 public key.
    #[error("field `{field}`: {reason}")]
    InvalidEncoding {
        /// Path of the field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A value breaks the rule of its field (an unknown enum spelling, an
    /// empty string, control characters, a malformed commit or country…).
    #[error("field `{field}`: {reason}")]
    Invalid {
        /// Path of the field.
        field: String,
        /// The rule it breaks.
        reason: String,
    },
    /// A field contradicts another one, e.g. a public key on an SMS device.
    #[error("field `{field}`: {reason}")]
    Inconsistent {
        /// Path of the field.
        field: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// The device signature does not verify over the approval statement.
    #[error("field `device_signature`: does not verify over the approval statement")]
    BadDeviceSignature,
    /// An approval was to be checked but carries no device signature.
    #[error("field `device_signature`: absent")]
    MissingDeviceSignature,
    /// A reference points to an event of the wrong type.
    #[error("field `{field}`: must reference a `{expected}` event, found `{found}`")]
    WrongReferenceType {
        /// The reference (`stage` or `approve`).
        field: &'static str,
        /// The type it must point to.
        expected: EventType,
        /// The type it points to.
        found: EventType,
    },
    /// A reference points to an event about something else.
    #[error("field `{field}`: references an event with {what} {found}, expected {expected}")]
    ReferenceMismatch {
        /// The reference (`stage` or `approve`).
        field: &'static str,
        /// What differs: `registry`, `package`, `version` or `integrity`.
        what: &'static str,
        /// The value in the referencing event.
        expected: String,
        /// The value in the referenced event.
        found: String,
    },
    /// [`super::Event::check_reference`] was asked about a reference this
    /// event does not have.
    #[error("field `{field}`: this event has no such reference")]
    NoSuchReference {
        /// The reference asked about.
        field: &'static str,
    },
    /// serde_json failed to serialize: cannot happen for the types of this
    /// module (their serializers are infallible); kept so no panic path
    /// exists.
    #[error("event could not be serialized: {0}")]
    Serialize(String),
}
