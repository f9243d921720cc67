//! JSON value → typed [`Event`]: the shape of each event type, and the
//! conversion of strings into the typed values. Length caps and rules that
//! span fields are checked afterwards by [`Event::validate`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, VerifyingKey};
use semver::Version;
use serde_json::Value;

use super::types::{
    ApprovalContext, Approve, Device, DeviceChange, DeviceRef, MaintainerChange, PolicyChange,
    Publish, Publisher, Reject, Stage, StringEnum, TrustedPublisher, VersionChange,
};
use super::validate::MAX_VERSION_LEN;
use super::{Event, EventBody, EventError, EventType, Integrity, PackageName, Registry, Timestamp};
use crate::hash::Hash;
use crate::json::{Object, Path};
use crate::tree::LeafIndex;

/// The keys each event type may have, the common ones first.
fn allowed_fields(event_type: EventType) -> &'static [&'static str] {
    match event_type {
        EventType::Stage => &[
            "type",
            "package",
            "registry",
            "time",
            "version",
            "integrity",
            "publisher",
            "provenance",
            "dist_tag",
        ],
        EventType::Approve => &[
            "type",
            "package",
            "registry",
            "time",
            "version",
            "integrity",
            "stage",
            "maintainer",
            "device",
            "device_signature",
            "context",
        ],
        EventType::Reject => &[
            "type",
            "package",
            "registry",
            "time",
            "version",
            "stage",
            "maintainer",
            "device",
        ],
        EventType::Publish => &[
            "type",
            "package",
            "registry",
            "time",
            "version",
            "integrity",
            "dist_tag",
            "stage",
            "approve",
            "via",
        ],
        EventType::DeviceRegister | EventType::DeviceRevoke => &[
            "type",
            "package",
            "registry",
            "time",
            "maintainer",
            "device",
        ],
        EventType::MaintainerAdd | EventType::MaintainerRemove => {
            &["type", "package", "registry", "time", "maintainer", "by"]
        }
        EventType::PolicyChange => &[
            "type",
            "package",
            "registry",
            "time",
            "staged_publishing",
            "trusted_publishers",
        ],
        EventType::Unpublish | EventType::Deprecate => {
            &["type", "package", "registry", "time", "version", "by"]
        }
    }
}

/// Reads an event from a parsed JSON document.
pub(super) fn event(value: &Value) -> Result<Event, EventError> {
    let o = Object::new(value, Path::Root)?;
    let name = o.str("type")?;
    let event_type =
        EventType::from_name(name).ok_or_else(|| EventError::UnknownType { found: name.into() })?;
    o.only(allowed_fields(event_type))?;
    let package = PackageName::parse(o.str("package")?)?;
    let registry = Registry::parse(o.str("registry")?)?;
    let time = Timestamp::parse(o.str("time")?)?;
    let body = match event_type {
        EventType::Stage => EventBody::Stage(stage(&o)?),
        EventType::Approve => EventBody::Approve(approve(&o)?),
        EventType::Reject => EventBody::Reject(reject(&o)?),
        EventType::Publish => EventBody::Publish(publish(&o)?),
        EventType::DeviceRegister => EventBody::DeviceRegister(device_change(&o)?),
        EventType::DeviceRevoke => EventBody::DeviceRevoke(device_change(&o)?),
        EventType::MaintainerAdd => EventBody::MaintainerAdd(maintainer_change(&o)?),
        EventType::MaintainerRemove => EventBody::MaintainerRemove(maintainer_change(&o)?),
        EventType::PolicyChange => EventBody::PolicyChange(policy_change(&o)?),
        EventType::Unpublish => EventBody::Unpublish(version_change(&o)?),
        EventType::Deprecate => EventBody::Deprecate(version_change(&o)?),
    };
    Ok(Event {
        package,
        registry,
        time,
        body,
    })
}

fn stage(o: &Object<'_, '_>) -> Result<Stage, EventError> {
    Ok(Stage {
        version: version(o)?,
        integrity: Integrity::parse(o.str("integrity")?)?,
        publisher: publisher(&o.object("publisher")?)?,
        provenance: o
            .opt_str("provenance")?
            .map(|text| sha256_hex(o, "provenance", text))
            .transpose()?,
        dist_tag: opt_text(o, "dist_tag")?,
    })
}

fn approve(o: &Object<'_, '_>) -> Result<Approve, EventError> {
    Ok(Approve {
        version: version(o)?,
        integrity: Integrity::parse(o.str("integrity")?)?,
        stage: LeafIndex(o.u64("stage")?),
        maintainer: text(o, "maintainer")?,
        device: device_ref(&o.object("device")?)?,
        device_signature: match o.opt_str("device_signature")? {
            Some(encoded) => Some(Signature::from_bytes(&bytes(
                o,
                "device_signature",
                encoded,
            )?)),
            None => None,
        },
        context: o.opt_object("context")?.map(|c| context(&c)).transpose()?,
    })
}

fn reject(o: &Object<'_, '_>) -> Result<Reject, EventError> {
    Ok(Reject {
        version: version(o)?,
        stage: LeafIndex(o.u64("stage")?),
        maintainer: text(o, "maintainer")?,
        device: device_ref(&o.object("device")?)?,
    })
}

fn publish(o: &Object<'_, '_>) -> Result<Publish, EventError> {
    Ok(Publish {
        version: version(o)?,
        integrity: Integrity::parse(o.str("integrity")?)?,
        dist_tag: text(o, "dist_tag")?,
        stage: o.opt_u64("stage")?.map(LeafIndex),
        approve: o.opt_u64("approve")?.map(LeafIndex),
        via: choice(o, "via")?,
    })
}

fn device_change(o: &Object<'_, '_>) -> Result<DeviceChange, EventError> {
    Ok(DeviceChange {
        maintainer: text(o, "maintainer")?,
        device: device(&o.object("device")?)?,
    })
}

fn maintainer_change(o: &Object<'_, '_>) -> Result<MaintainerChange, EventError> {
    Ok(MaintainerChange {
        maintainer: text(o, "maintainer")?,
        by: text(o, "by")?,
    })
}

fn policy_change(o: &Object<'_, '_>) -> Result<PolicyChange, EventError> {
    let list_path = o.path().key("trusted_publishers");
    let trusted_publishers = o
        .array("trusted_publishers")?
        .iter()
        .enumerate()
        .map(|(i, item)| trusted_publisher(&Object::new(item, Path::Index(&list_path, i))?))
        .collect::<Result<_, _>>()?;
    Ok(PolicyChange {
        staged_publishing: choice(o, "staged_publishing")?,
        trusted_publishers,
    })
}

fn version_change(o: &Object<'_, '_>) -> Result<VersionChange, EventError> {
    Ok(VersionChange {
        version: version(o)?,
        by: text(o, "by")?,
    })
}

fn publisher(o: &Object<'_, '_>) -> Result<Publisher, EventError> {
    o.only(&[
        "kind",
        "issuer",
        "subject",
        "repository",
        "workflow",
        "ref",
        "commit",
    ])?;
    Ok(Publisher {
        kind: choice(o, "kind")?,
        issuer: opt_text(o, "issuer")?,
        subject: text(o, "subject")?,
        repository: opt_text(o, "repository")?,
        workflow: opt_text(o, "workflow")?,
        git_ref: opt_text(o, "ref")?,
        commit: opt_text(o, "commit")?,
    })
}

fn device_ref(o: &Object<'_, '_>) -> Result<DeviceRef, EventError> {
    o.only(&["id", "kind"])?;
    Ok(DeviceRef {
        id: text(o, "id")?,
        kind: choice(o, "kind")?,
    })
}

fn device(o: &Object<'_, '_>) -> Result<Device, EventError> {
    o.only(&["id", "kind", "public_key", "label"])?;
    let public_key = match o.opt_str("public_key")? {
        Some(encoded) => Some(
            VerifyingKey::from_bytes(&bytes(o, "public_key", encoded)?).map_err(|_| {
                EventError::InvalidEncoding {
                    field: o.field("public_key"),
                    reason: "not a valid Ed25519 public key".into(),
                }
            })?,
        ),
        None => None,
    };
    Ok(Device {
        id: text(o, "id")?,
        kind: choice(o, "kind")?,
        public_key,
        label: opt_text(o, "label")?,
    })
}

fn context(o: &Object<'_, '_>) -> Result<ApprovalContext, EventError> {
    o.only(&["asn", "country", "user_agent"])?;
    let asn = match o.opt_u64("asn")? {
        Some(n) => Some(u32::try_from(n).map_err(|_| EventError::Invalid {
            field: o.field("asn"),
            reason: format!("{n} is not a 32-bit AS number"),
        })?),
        None => None,
    };
    Ok(ApprovalContext {
        asn,
        country: opt_text(o, "country")?,
        user_agent: opt_text(o, "user_agent")?,
    })
}

fn trusted_publisher(o: &Object<'_, '_>) -> Result<TrustedPublisher, EventError> {
    o.only(&["issuer", "repository", "workflow", "mode"])?;
    Ok(TrustedPublisher {
        issuer: text(o, "issuer")?,
        repository: text(o, "repository")?,
        workflow: text(o, "workflow")?,
        mode: choice(o, "mode")?,
    })
}

/// `version`, as strict SemVer 2.0.
fn version(o: &Object<'_, '_>) -> Result<Version, EventError> {
    let text = o.str("version")?;
    if text.len() > MAX_VERSION_LEN {
        return Err(EventError::TooLong {
            field: o.field("version"),
            len: text.len(),
            max: MAX_VERSION_LEN,
        });
    }
    Version::parse(text).map_err(|e| EventError::InvalidVersion {
        value: text.into(),
        reason: e.to_string(),
    })
}

/// A required string; its content is checked by validation.
fn text(o: &Object<'_, '_>, key: &str) -> Result<String, EventError> {
    Ok(o.str(key)?.to_owned())
}

/// An optional string; its content is checked by validation.
fn opt_text(o: &Object<'_, '_>, key: &str) -> Result<Option<String>, EventError> {
    Ok(o.opt_str(key)?.map(str::to_owned))
}

/// One of the spellings of a [`StringEnum`].
fn choice<T: StringEnum>(o: &Object<'_, '_>, key: &str) -> Result<T, EventError> {
    let found = o.str(key)?;
    T::from_name(found).ok_or_else(|| {
        let names: Vec<&str> = T::ALL.iter().map(|v| v.as_str()).collect();
        EventError::Invalid {
            field: o.field(key),
            reason: format!("expected one of {}, found {found:?}", names.join(", ")),
        }
    })
}

/// Canonical standard base64 of exactly `N` bytes.
fn bytes<const N: usize>(
    o: &Object<'_, '_>,
    key: &str,
    encoded: &str,
) -> Result<[u8; N], EventError> {
    let invalid = |reason: String| EventError::InvalidEncoding {
        field: o.field(key),
        reason,
    };
    let decoded = STANDARD
        .decode(encoded)
        .map_err(|_| invalid("not canonical standard base64".into()))?;
    <[u8; N]>::try_from(decoded.as_slice())
        .map_err(|_| invalid(format!("base64 of {} bytes, expected {N}", decoded.len())))
}

/// A SHA-256 digest as 64 lowercase hex digits.
fn sha256_hex(o: &Object<'_, '_>, key: &str, text: &str) -> Result<Hash, EventError> {
    let lowercase = text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    Hash::from_hex(text)
        .filter(|_| lowercase)
        .ok_or_else(|| EventError::Invalid {
            field: o.field(key),
            reason: "expected a SHA-256 digest as 64 lowercase hex digits".into(),
        })
}
