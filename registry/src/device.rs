//! Device-bound approvals: a maintainer's Ed25519 signing device (enrolled
//! with `admin device-add`) signs the approval statement of
//! `gatelog_core::event::approval_statement`; the registry checks the
//! signature before anything is logged, and logs the device's key
//! (`device-register`) and the signature (`approve`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::VerifyingKey;
use gatelog_core::Hash;
use gatelog_core::event::{Integrity, PackageName, approval_statement, verify_device_signature};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::store::{StageItem, User};

/// Header naming the signing device of an approval.
pub const DEVICE_ID_HEADER: &str = "gatelog-device-id";
/// Header carrying its signature (base64 of 64 bytes).
pub const DEVICE_SIGNATURE_HEADER: &str = "gatelog-device-signature";

/// An Ed25519 signing device of a user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningDevice {
    /// Its id (unique per user).
    pub id: String,
    /// The Ed25519 public key, base64 of 32 bytes.
    pub public_key: String,
    /// A name for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A device signature sent with an approval.
#[derive(Clone, Debug)]
pub struct DeviceApproval {
    /// The device's id.
    pub id: String,
    /// The signature bytes.
    pub signature: Vec<u8>,
}

impl DeviceApproval {
    /// Reads the two headers: both or neither.
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Result<Option<Self>, ApiError> {
        let get = |name| headers.get(name).and_then(|v| v.to_str().ok());
        match (get(DEVICE_ID_HEADER), get(DEVICE_SIGNATURE_HEADER)) {
            (None, None) => Ok(None),
            (Some(id), Some(sig)) => {
                let signature = STANDARD.decode(sig.trim()).map_err(|_| {
                    ApiError::bad_request(format!("{DEVICE_SIGNATURE_HEADER} is not base64"))
                })?;
                Ok(Some(DeviceApproval {
                    id: id.trim().to_owned(),
                    signature,
                }))
            }
            _ => Err(ApiError::bad_request(format!(
                "send both {DEVICE_ID_HEADER} and {DEVICE_SIGNATURE_HEADER}, or neither"
            ))),
        }
    }
}

/// The device of `user` named by `approval`, once its signature over the
/// approval statement of `item` verifies; else `401` and nothing changes.
pub fn check(
    user: &User,
    item: &StageItem,
    approval: &DeviceApproval,
) -> Result<SigningDevice, ApiError> {
    let device = user
        .signing_devices
        .iter()
        .find(|d| d.id == approval.id)
        .ok_or_else(|| {
            ApiError::unauthorized(format!(
                "{} has no signing device {:?}; enrol it with `gatelog-registry admin device-add`",
                user.name, approval.id
            ))
        })?;
    let key = public_key(&device.public_key)
        .ok_or_else(|| ApiError::unauthorized("the enrolled device key is malformed"))?;
    let bad = |what: &str| ApiError::bad_request(format!("stage item {}: {what}", item.id));
    let statement = approval_statement(
        &PackageName::parse(&item.package).map_err(|_| bad("package name"))?,
        &semver::Version::parse(&item.version).map_err(|_| bad("version"))?,
        &Integrity::parse(&item.integrity).map_err(|_| bad("integrity"))?,
        &Hash::from_hex(&item.stage.ack.leaf_hash).ok_or_else(|| bad("stage leaf hash"))?,
    );
    verify_device_signature(&key, &statement, &approval.signature).map_err(|_| {
        ApiError::unauthorized(format!(
            "the signature of device {:?} does not verify over this release's approval statement",
            approval.id
        ))
    })?;
    Ok(device.clone())
}

/// An Ed25519 public key from base64 of 32 bytes.
pub fn public_key(b64: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = STANDARD.decode(b64).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}
