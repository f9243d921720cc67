//! Rules a typed event must also satisfy: length caps and character rules
//! of free-text fields, and rules that tie fields together. Values with
//! their own type ([`super::PackageName`], [`super::Integrity`], versions…)
//! are valid by construction and not checked again.

use super::types::{
    ApprovalContext, Approve, Device, DeviceRef, Publish, Publisher, PublisherKind, Stage,
    TrustedPublisher, Via,
};
use super::{Event, EventBody, EventError};

/// Longest npm user name (`maintainer`, `by`), in bytes.
pub const MAX_USER_NAME_LEN: usize = 214;

/// Longest identifier-like field (device IDs, OIDC issuers, repositories,
/// workflows, git refs), in bytes.
pub const MAX_ID_LEN: usize = 256;

/// Longest publisher `subject`, in bytes (OIDC subjects can be long).
pub const MAX_SUBJECT_LEN: usize = 512;

/// Longest device `label`, in bytes.
pub const MAX_LABEL_LEN: usize = 128;

/// Longest approval `user_agent`, in bytes.
pub const MAX_USER_AGENT_LEN: usize = 512;

/// Longest `dist_tag`, in bytes.
pub const MAX_DIST_TAG_LEN: usize = 128;

/// Longest `version`, in bytes.
pub const MAX_VERSION_LEN: usize = 256;

/// Most entries of `trusted_publishers`.
pub const MAX_TRUSTED_PUBLISHERS: usize = 16;

impl Event {
    /// Checks the rules not already guaranteed by the field types: every
    /// free-text field is non-empty, within its cap and free of control
    /// characters (identifiers also of whitespace); publisher fields match
    /// the publisher kind; only signing devices carry keys and signatures;
    /// a direct publish references no stage or approval. [`Event::parse`]
    /// and [`Event::to_json`] call this.
    pub fn validate(&self) -> Result<(), EventError> {
        match &self.body {
            EventBody::Stage(b) => stage(b),
            EventBody::Approve(b) => approve(b),
            EventBody::Reject(b) => {
                user_name("maintainer", &b.maintainer)?;
                device_ref(&b.device)
            }
            EventBody::Publish(b) => publish(b),
            EventBody::DeviceRegister(b) => {
                user_name("maintainer", &b.maintainer)?;
                device(&b.device, true)
            }
            EventBody::DeviceRevoke(b) => {
                user_name("maintainer", &b.maintainer)?;
                device(&b.device, false)
            }
            EventBody::MaintainerAdd(b) | EventBody::MaintainerRemove(b) => {
                user_name("maintainer", &b.maintainer)?;
                user_name("by", &b.by)
            }
            EventBody::PolicyChange(b) => {
                let count = b.trusted_publishers.len();
                if count > MAX_TRUSTED_PUBLISHERS {
                    return Err(EventError::TooMany {
                        field: "trusted_publishers".into(),
                        count,
                        max: MAX_TRUSTED_PUBLISHERS,
                    });
                }
                b.trusted_publishers
                    .iter()
                    .enumerate()
                    .try_for_each(trusted_publisher)
            }
            EventBody::Unpublish(b) | EventBody::Deprecate(b) => user_name("by", &b.by),
        }
    }
}

fn stage(b: &Stage) -> Result<(), EventError> {
    publisher(&b.publisher)?;
    b.dist_tag.as_deref().map_or(Ok(()), dist_tag)
}

fn approve(b: &Approve) -> Result<(), EventError> {
    user_name("maintainer", &b.maintainer)?;
    device_ref(&b.device)?;
    if b.device_signature.is_some() && !b.device.kind.signs() {
        return Err(EventError::Inconsistent {
            field: "device_signature".into(),
            reason: "totp and sms devices cannot sign",
        });
    }
    b.context.as_ref().map_or(Ok(()), context)
}

fn publish(b: &Publish) -> Result<(), EventError> {
    dist_tag(&b.dist_tag)?;
    if b.via == Via::Direct {
        for (field, present) in [
            ("stage", b.stage.is_some()),
            ("approve", b.approve.is_some()),
        ] {
            if present {
                return Err(EventError::Inconsistent {
                    field: field.into(),
                    reason: "a direct publish references no stage or approval",
                });
            }
        }
    }
    Ok(())
}

fn publisher(p: &Publisher) -> Result<(), EventError> {
    ident("publisher.subject", &p.subject, MAX_SUBJECT_LEN)?;
    if p.kind == PublisherKind::Oidc {
        let required = [
            ("publisher.issuer", p.issuer.is_some()),
            ("publisher.repository", p.repository.is_some()),
            ("publisher.workflow", p.workflow.is_some()),
        ];
        if let Some((field, _)) = required.into_iter().find(|(_, present)| !present) {
            return Err(EventError::Inconsistent {
                field: field.into(),
                reason: "required when kind is oidc",
            });
        }
    } else if p.issuer.is_some() {
        return Err(EventError::Inconsistent {
            field: "publisher.issuer".into(),
            reason: "only oidc publishers have an issuer",
        });
    }
    if let Some(issuer) = &p.issuer {
        https_url("publisher.issuer", issuer)?;
    }
    if let Some(repository) = &p.repository {
        ident("publisher.repository", repository, MAX_ID_LEN)?;
    }
    if let Some(workflow) = &p.workflow {
        ident("publisher.workflow", workflow, MAX_ID_LEN)?;
    }
    if let Some(git_ref) = &p.git_ref {
        ident("publisher.ref", git_ref, MAX_ID_LEN)?;
    }
    if let Some(commit) = &p.commit {
        let hex = commit
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !hex || !(commit.len() == 40 || commit.len() == 64) {
            return Err(EventError::Invalid {
                field: "publisher.commit".into(),
                reason: "expected a git commit ID of 40 or 64 lowercase hex digits".into(),
            });
        }
    }
    Ok(())
}

fn device_ref(d: &DeviceRef) -> Result<(), EventError> {
    ident("device.id", &d.id, MAX_ID_LEN)
}

/// `registering` demands a key for signing kinds; revocations may omit it.
fn device(d: &Device, registering: bool) -> Result<(), EventError> {
    ident("device.id", &d.id, MAX_ID_LEN)?;
    if let Some(label) = &d.label {
        text("device.label", label, MAX_LABEL_LEN)?;
    }
    match (d.kind.signs(), d.public_key.is_some()) {
        (true, false) if registering => Err(EventError::Inconsistent {
            field: "device.public_key".into(),
            reason: "required for webauthn and ed25519 devices",
        }),
        (false, true) => Err(EventError::Inconsistent {
            field: "device.public_key".into(),
            reason: "totp and sms devices have no key",
        }),
        _ => Ok(()),
    }
}

fn context(c: &ApprovalContext) -> Result<(), EventError> {
    if let Some(country) = &c.country
        && !(country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(EventError::Invalid {
            field: "context.country".into(),
            reason: format!(
                "expected an ISO 3166-1 alpha-2 code such as \"DE\", found {country:?}"
            ),
        });
    }
    match &c.user_agent {
        Some(user_agent) => text("context.user_agent", user_agent, MAX_USER_AGENT_LEN),
        None => Ok(()),
    }
}

fn trusted_publisher((i, t): (usize, &TrustedPublisher)) -> Result<(), EventError> {
    let field = |name: &str| format!("trusted_publishers[{i}].{name}");
    https_url(&field("issuer"), &t.issuer)?;
    ident(&field("repository"), &t.repository, MAX_ID_LEN)?;
    ident(&field("workflow"), &t.workflow, MAX_ID_LEN)
}

/// npm's dist-tag rules: URL-safe, and not something npm would read as a
/// version range (`1.x`, `2`), which npm refuses as a tag.
fn dist_tag(tag: &str) -> Result<(), EventError> {
    ident("dist_tag", tag, MAX_DIST_TAG_LEN)?;
    let url_safe = tag
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    let reason = if !url_safe {
        "only A-Z a-z 0-9 - . _ are allowed"
    } else if semver::VersionReq::parse(tag).is_ok() {
        "a tag must not be a version range"
    } else {
        return Ok(());
    };
    Err(EventError::Invalid {
        field: "dist_tag".into(),
        reason: reason.into(),
    })
}

fn user_name(field: &str, name: &str) -> Result<(), EventError> {
    ident(field, name, MAX_USER_NAME_LEN)
}

fn https_url(field: &str, url: &str) -> Result<(), EventError> {
    ident(field, url, MAX_ID_LEN)?;
    match url.strip_prefix("https://") {
        Some(rest) if !rest.is_empty() => Ok(()),
        _ => Err(EventError::Invalid {
            field: field.into(),
            reason: "expected an https:// URL".into(),
        }),
    }
}

/// Non-empty, at most `max` bytes, no whitespace or control characters.
fn ident(field: &str, value: &str, max: usize) -> Result<(), EventError> {
    length(field, value, max)?;
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(EventError::Invalid {
            field: field.into(),
            reason: "must not contain whitespace or control characters".into(),
        });
    }
    Ok(())
}

/// Non-empty, at most `max` bytes, no control characters, no whitespace at
/// either end.
fn text(field: &str, value: &str, max: usize) -> Result<(), EventError> {
    length(field, value, max)?;
    if value.chars().any(char::is_control) {
        return Err(EventError::Invalid {
            field: field.into(),
            reason: "must not contain control characters".into(),
        });
    }
    if value.trim() != value {
        return Err(EventError::Invalid {
            field: field.into(),
            reason: "must not start or end with whitespace".into(),
        });
    }
    Ok(())
}

fn length(field: &str, value: &str, max: usize) -> Result<(), EventError> {
    if value.is_empty() {
        return Err(EventError::Invalid {
            field: field.into(),
            reason: "must not be empty".into(),
        });
    }
    if value.len() > max {
        return Err(EventError::TooLong {
            field: field.into(),
            len: value.len(),
            max,
        });
    }
    Ok(())
}
