//! The gatelog event schema (docs/formats.md, "Events"): what registries sign and
//! the log records, its strict parsing and validation, the references
//! between events, and the device-bound approval statement.
//!
//! An event is a flat JSON object: the common fields `type`, `package`,
//! `registry`, `time`, then the fields of its type. In Rust it is an
//! [`Event`] holding the common fields and an [`EventBody`] to match on:
//!
//! ```
//! # use gatelog_core::event::{Event, EventBody};
//! # fn show(event: &Event) {
//! match &event.body {
//!     EventBody::Publish(publish) => println!("{}@{} published", event.package, publish.version),
//!     EventBody::Approve(approve) => println!("approved by {}", approve.maintainer),
//!     _ => {}
//! }
//! # }
//! ```
//!
//! [`Event::parse`] is the one way in from bytes: a size cap, strict JSON
//! (no duplicate or unknown keys, no `null` for absent values, exact types),
//! typed values that cannot hold invalid data ([`PackageName`],
//! [`Integrity`], [`Registry`], [`Timestamp`], SemVer versions, Ed25519 keys
//! and signatures) and finally [`Event::validate`] for length caps and rules
//! that span fields. [`Event::to_json`] validates before serializing, so an
//! invalid event is never signed.
//!
//! Out of scope: whether a release is acceptable (policy lives in the
//! monitor and client), and the signature of the submitter ([`crate::dsse`]).

mod approval;
mod error;
mod read;
mod types;
mod validate;
mod values;

#[cfg(test)]
mod tests;

use ed25519_dalek::SigningKey;
use semver::Version;
use serde::Serialize;

pub use approval::{
    APPROVAL_STATEMENT_PREFIX, approval_statement, sign_approval, verify_device_signature,
};
pub use error::EventError;
pub use types::{
    ApprovalContext, Approve, Device, DeviceChange, DeviceKind, DeviceRef, MaintainerChange,
    PolicyChange, Publish, Publisher, PublisherKind, Reject, Stage, StagedPublishing,
    TrustedPublisher, TrustedPublisherMode, VersionChange, Via,
};
pub use validate::{
    MAX_DIST_TAG_LEN, MAX_ID_LEN, MAX_LABEL_LEN, MAX_SUBJECT_LEN, MAX_TRUSTED_PUBLISHERS,
    MAX_USER_AGENT_LEN, MAX_USER_NAME_LEN, MAX_VERSION_LEN,
};
pub use values::{
    Integrity, MAX_PACKAGE_NAME_LEN, MAX_REGISTRY_LEN, PackageName, Registry, Timestamp,
};

use crate::dsse::{self, EVENT_PAYLOAD_TYPE, Envelope};
use crate::tree::LeafIndex;
use types::string_enum;

/// Largest serialized event (the DSSE payload), in bytes.
pub const MAX_EVENT_SIZE: usize = 16 * 1024;

// A maximal event, base64-encoded in an envelope, must fit the envelope cap.
const _: () = assert!(MAX_EVENT_SIZE.div_ceil(3) * 4 + 4096 <= dsse::MAX_ENVELOPE_SIZE);

string_enum! {
    /// The `type` of an event.
    pub enum EventType {
        /// A tarball entered the staging queue.
        Stage = "stage",
        /// A maintainer approved a staged version.
        Approve = "approve",
        /// A staged version was discarded.
        Reject = "reject",
        /// A version became installable.
        Publish = "publish",
        /// A 2FA device was added to an account.
        DeviceRegister = "device-register",
        /// A 2FA device was removed from an account.
        DeviceRevoke = "device-revoke",
        /// A maintainer was added to the package.
        MaintainerAdd = "maintainer-add",
        /// A maintainer was removed from the package.
        MaintainerRemove = "maintainer-remove",
        /// The package's publishing rules changed.
        PolicyChange = "policy-change",
        /// A version was unpublished.
        Unpublish = "unpublish",
        /// A version was deprecated.
        Deprecate = "deprecate",
    }
}

string_enum! {
    /// A field of an event that holds the leaf index of another event.
    pub enum RefField {
        /// `stage` (in `approve`, `reject`, `publish`): a `stage` event.
        Stage = "stage",
        /// `approve` (in `publish`): an `approve` event.
        Approve = "approve",
    }
}

/// What happened, with the fields of that type of event.
///
/// Serializes as the body's fields only, without `type`; serialize the
/// [`Event`] for the complete document.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[serde(untagged)]
pub enum EventBody {
    /// `stage`.
    Stage(Stage),
    /// `approve`.
    Approve(Approve),
    /// `reject`.
    Reject(Reject),
    /// `publish`.
    Publish(Publish),
    /// `device-register`.
    DeviceRegister(DeviceChange),
    /// `device-revoke`.
    DeviceRevoke(DeviceChange),
    /// `maintainer-add`.
    MaintainerAdd(MaintainerChange),
    /// `maintainer-remove`.
    MaintainerRemove(MaintainerChange),
    /// `policy-change`.
    PolicyChange(PolicyChange),
    /// `unpublish`.
    Unpublish(VersionChange),
    /// `deprecate`.
    Deprecate(VersionChange),
}

impl EventBody {
    /// The `type` of this body.
    pub fn event_type(&self) -> EventType {
        match self {
            EventBody::Stage(_) => EventType::Stage,
            EventBody::Approve(_) => EventType::Approve,
            EventBody::Reject(_) => EventType::Reject,
            EventBody::Publish(_) => EventType::Publish,
            EventBody::DeviceRegister(_) => EventType::DeviceRegister,
            EventBody::DeviceRevoke(_) => EventType::DeviceRevoke,
            EventBody::MaintainerAdd(_) => EventType::MaintainerAdd,
            EventBody::MaintainerRemove(_) => EventType::MaintainerRemove,
            EventBody::PolicyChange(_) => EventType::PolicyChange,
            EventBody::Unpublish(_) => EventType::Unpublish,
            EventBody::Deprecate(_) => EventType::Deprecate,
        }
    }
}

/// A gatelog event: the fields every event has, and its body.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Event {
    /// The package concerned.
    pub package: PackageName,
    /// Origin of the registry the package lives in.
    pub registry: Registry,
    /// When it happened, by the registry's clock.
    pub time: Timestamp,
    /// What happened.
    pub body: EventBody,
}

impl Event {
    /// Parses and validates an event payload (at most [`MAX_EVENT_SIZE`]
    /// bytes of JSON).
    pub fn parse(bytes: &[u8]) -> Result<Event, EventError> {
        if bytes.len() > MAX_EVENT_SIZE {
            return Err(EventError::TooLarge {
                size: bytes.len(),
                max: MAX_EVENT_SIZE,
            });
        }
        let event = read::event(&crate::json::parse_value(bytes)?)?;
        event.validate()?;
        Ok(event)
    }

    /// Parses the payload of an envelope after checking its `payloadType`.
    /// The envelope's signature is not checked here: see
    /// [`Envelope::verify`].
    pub fn from_envelope(envelope: &Envelope) -> Result<Event, EventError> {
        if envelope.payload_type != EVENT_PAYLOAD_TYPE {
            return Err(EventError::WrongPayloadType {
                found: envelope.payload_type.clone(),
            });
        }
        Event::parse(&envelope.payload)
    }

    /// Validates, then serializes: compact JSON with `type`, `package`,
    /// `registry`, `time` first, then the body's fields in declaration
    /// order, absent optional fields left out. The bytes that get signed are
    /// authoritative; this is merely one way to produce them.
    pub fn to_json(&self) -> Result<Vec<u8>, EventError> {
        self.validate()?;
        let bytes = serde_json::to_vec(self).map_err(|e| EventError::Serialize(e.to_string()))?;
        if bytes.len() > MAX_EVENT_SIZE {
            return Err(EventError::TooLarge {
                size: bytes.len(),
                max: MAX_EVENT_SIZE,
            });
        }
        Ok(bytes)
    }

    /// Serializes ([`Event::to_json`]) and signs as a submitter.
    pub fn sign(&self, key: &SigningKey) -> Result<Envelope, EventError> {
        Ok(dsse::sign(EVENT_PAYLOAD_TYPE, &self.to_json()?, key))
    }

    /// The `type` of the event.
    pub fn event_type(&self) -> EventType {
        self.body.event_type()
    }

    /// The version concerned, for types that name one.
    pub fn version(&self) -> Option<&Version> {
        match &self.body {
            EventBody::Stage(b) => Some(&b.version),
            EventBody::Approve(b) => Some(&b.version),
            EventBody::Reject(b) => Some(&b.version),
            EventBody::Publish(b) => Some(&b.version),
            EventBody::Unpublish(b) | EventBody::Deprecate(b) => Some(&b.version),
            EventBody::DeviceRegister(_)
            | EventBody::DeviceRevoke(_)
            | EventBody::MaintainerAdd(_)
            | EventBody::MaintainerRemove(_)
            | EventBody::PolicyChange(_) => None,
        }
    }

    /// The tarball digest, for types that carry one.
    pub fn integrity(&self) -> Option<&Integrity> {
        match &self.body {
            EventBody::Stage(b) => Some(&b.integrity),
            EventBody::Approve(b) => Some(&b.integrity),
            EventBody::Publish(b) => Some(&b.integrity),
            _ => None,
        }
    }

    /// The leaf indexes this event references, with the field holding each.
    pub fn references(&self) -> Vec<(RefField, LeafIndex)> {
        match &self.body {
            EventBody::Approve(b) => vec![(RefField::Stage, b.stage)],
            EventBody::Reject(b) => vec![(RefField::Stage, b.stage)],
            EventBody::Publish(b) => [
                b.stage.map(|i| (RefField::Stage, i)),
                b.approve.map(|i| (RefField::Approve, i)),
            ]
            .into_iter()
            .flatten()
            .collect(),
            _ => Vec::new(),
        }
    }

    /// Checks that `referenced`, the event at the leaf index in `field`, is
    /// of the right type (`stage` → a stage, `approve` → an approval) and is
    /// about the same registry, package and version, with the same
    /// integrity when both carry one. The log runs this on submission; it
    /// says nothing about whether a publish needed an approval.
    pub fn check_reference(&self, field: RefField, referenced: &Event) -> Result<(), EventError> {
        let name = field.as_str();
        if !self.references().iter().any(|(f, _)| *f == field) {
            return Err(EventError::NoSuchReference { field: name });
        }
        let expected = match field {
            RefField::Stage => EventType::Stage,
            RefField::Approve => EventType::Approve,
        };
        if referenced.event_type() != expected {
            return Err(EventError::WrongReferenceType {
                field: name,
                expected,
                found: referenced.event_type(),
            });
        }
        let mismatch = |what, expected: &dyn std::fmt::Display, found: &dyn std::fmt::Display| {
            Err(EventError::ReferenceMismatch {
                field: name,
                what,
                expected: expected.to_string(),
                found: found.to_string(),
            })
        };
        if self.registry != referenced.registry {
            return mismatch("registry", &self.registry, &referenced.registry);
        }
        if self.package != referenced.package {
            return mismatch("package", &self.package, &referenced.package);
        }
        if let (Some(ours), Some(theirs)) = (self.version(), referenced.version())
            && ours != theirs
        {
            return mismatch("version", ours, theirs);
        }
        if let (Some(ours), Some(theirs)) = (self.integrity(), referenced.integrity())
            && ours != theirs
        {
            return mismatch("integrity", ours, theirs);
        }
        Ok(())
    }
}

/// The JSON layout of an event: common fields first, then the body's.
#[derive(Serialize)]
struct Wire<'a> {
    #[serde(rename = "type")]
    event_type: EventType,
    package: &'a PackageName,
    registry: &'a Registry,
    time: &'a Timestamp,
    #[serde(flatten)]
    body: &'a EventBody,
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            event_type: self.event_type(),
            package: &self.package,
            registry: &self.registry,
            time: &self.time,
            body: &self.body,
        }
        .serialize(s)
    }
}

/// Deserializing applies every rule of [`Event::parse`] except the size
/// limit, which needs the raw bytes.
impl<'de> serde::Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Event, D::Error> {
        let value = crate::json::deserialize_value(d)?;
        let event = read::event(&value).map_err(serde::de::Error::custom)?;
        event.validate().map_err(serde::de::Error::custom)?;
        Ok(event)
    }
}
