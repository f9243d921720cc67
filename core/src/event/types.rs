//! The event bodies and their nested objects, one struct per JSON object.
//! Optional fields are omitted from JSON when absent (never `null`).

use ed25519_dalek::{Signature, VerifyingKey};
use semver::Version;
use serde::Serialize;

use super::values::Integrity;
use crate::hash::Hash;
use crate::tree::LeafIndex;

/// Defines a fieldless enum spelled as fixed strings in JSON, with one
/// table of spellings for parsing, printing and serializing.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        pub enum $name { $( $(#[$vmeta])* $variant, )+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The JSON spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }

            /// The value spelled `text`, if any.
            pub fn from_name(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::event::types::StringEnum for $name {
            const ALL: &'static [$name] = $name::ALL;

            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }

            fn from_name(text: &str) -> Option<$name> {
                $name::from_name(text)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

/// What [`string_enum!`] defines, for readers generic over the enum.
pub(crate) trait StringEnum: Copy + 'static {
    /// Every value.
    const ALL: &'static [Self];
    /// The JSON spelling.
    fn as_str(self) -> &'static str;
    /// The value spelled `text`, if any.
    fn from_name(text: &str) -> Option<Self>;
}

string_enum! {
    /// How the publishing identity authenticated to the registry.
    pub enum PublisherKind {
        /// A CI job's OIDC token (trusted publishing): `issuer`,
        /// `repository` and `workflow` are required.
        Oidc = "oidc",
        /// A long-lived access token: `subject` names the token or its owner.
        Token = "token",
        /// An interactive user session: `subject` is the npm user.
        User = "user",
    }
}

string_enum! {
    /// The kind of a maintainer's second factor.
    pub enum DeviceKind {
        /// A WebAuthn authenticator (passkey, security key); signs.
        Webauthn = "webauthn",
        /// A raw Ed25519 key; signs.
        Ed25519 = "ed25519",
        /// A time-based one-time password; cannot sign.
        Totp = "totp",
        /// A code sent by SMS; cannot sign.
        Sms = "sms",
    }
}

impl DeviceKind {
    /// Whether devices of this kind hold a key and sign approval statements.
    pub fn signs(self) -> bool {
        matches!(self, DeviceKind::Webauthn | DeviceKind::Ed25519)
    }
}

string_enum! {
    /// How a version became installable.
    pub enum Via {
        /// Through the staging queue (normally after an approval).
        Staged = "staged",
        /// Published directly, bypassing staging.
        Direct = "direct",
    }
}

string_enum! {
    /// Whether a package demands staged publishing.
    pub enum StagedPublishing {
        /// Every version must go through staging and approval.
        Required = "required",
        /// Direct publishes are allowed.
        Optional = "optional",
    }
}

string_enum! {
    /// What a trusted publisher may do.
    pub enum TrustedPublisherMode {
        /// It may only stage; a maintainer must approve.
        StageOnly = "stage-only",
        /// It may publish directly.
        Publish = "publish",
    }
}

/// Who staged a version.
///
/// `subject` is always required (the OIDC `sub` claim, the token's ID or
/// owner, or the user name). For [`PublisherKind::Oidc`], `issuer` (an
/// `https://` URL), `repository` and `workflow` are required as well,
/// because policies and monitors match trusted publishers on them; `ref`
/// and `commit` stay optional. For `token` and `user`, `issuer` must be
/// absent (nobody vouched for the identity) and the other fields are
/// optional, unverified claims.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Publisher {
    /// How the identity was authenticated.
    pub kind: PublisherKind,
    /// OIDC issuer URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The identity itself.
    pub subject: String,
    /// Source repository, e.g. `octo/widget`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// CI workflow, e.g. `.github/workflows/release.yml`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// Git ref built, e.g. `refs/tags/v1.2.3` (JSON `ref`).
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// Git commit built: 40 or 64 lowercase hex digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// A device as named by an approval or rejection: the key, if any, is the
/// one its `device-register` event logged, never one carried here.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct DeviceRef {
    /// Registry-assigned device ID, unique per maintainer.
    pub id: String,
    /// Kind of second factor.
    pub kind: DeviceKind,
}

/// A device as registered or revoked.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Device {
    /// Registry-assigned device ID, unique per maintainer.
    pub id: String,
    /// Kind of second factor.
    pub kind: DeviceKind,
    /// The Ed25519 key of a signing device (base64 of 32 bytes in JSON).
    /// Required in `device-register` for signing kinds, optional in
    /// `device-revoke`, and never allowed for `totp` or `sms`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser::opt_public_key"
    )]
    pub public_key: Option<VerifyingKey>,
    /// A name the maintainer chose, e.g. "YubiKey 5C".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// Where an approval came from, as the registry saw it.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize)]
pub struct ApprovalContext {
    /// Autonomous system number of the client address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// ISO 3166-1 alpha-2 country code, upper case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The client's User-Agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// A CI identity allowed to stage or publish a package.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct TrustedPublisher {
    /// OIDC issuer URL (`https://`).
    pub issuer: String,
    /// Source repository.
    pub repository: String,
    /// CI workflow.
    pub workflow: String,
    /// What it may do.
    pub mode: TrustedPublisherMode,
}

/// `stage`: a tarball entered the staging queue.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Stage {
    /// The version staged.
    #[serde(serialize_with = "ser::display")]
    pub version: Version,
    /// Digest of the tarball.
    pub integrity: Integrity,
    /// Who staged it.
    pub publisher: Publisher,
    /// SHA-256 of the provenance attestation bundle, 64 lowercase hex digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Hash>,
    /// The dist-tag requested, if any (npm's default is `latest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dist_tag: Option<String>,
}

/// `approve`: a maintainer approved a staged version.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Approve {
    /// The version approved.
    #[serde(serialize_with = "ser::display")]
    pub version: Version,
    /// Digest of the tarball approved.
    pub integrity: Integrity,
    /// Leaf index of the `stage` event.
    pub stage: LeafIndex,
    /// npm user name of the approving maintainer.
    pub maintainer: String,
    /// The second factor used.
    pub device: DeviceRef,
    /// The device's signature over the approval statement (base64 of 64
    /// bytes). Optional for signing devices (policy judges its absence),
    /// never allowed for `totp` or `sms`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser::opt_signature"
    )]
    pub device_signature: Option<Signature>,
    /// Where the approval came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<ApprovalContext>,
}

/// `reject`: a staged version was discarded.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Reject {
    /// The version rejected.
    #[serde(serialize_with = "ser::display")]
    pub version: Version,
    /// Leaf index of the `stage` event.
    pub stage: LeafIndex,
    /// npm user name of the rejecting maintainer.
    pub maintainer: String,
    /// The second factor used.
    pub device: DeviceRef,
}

/// `publish`: a version became installable.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Publish {
    /// The version published.
    #[serde(serialize_with = "ser::display")]
    pub version: Version,
    /// Digest of the tarball published.
    pub integrity: Integrity,
    /// The dist-tag set.
    pub dist_tag: String,
    /// Leaf index of the `stage` event; absent for direct publishes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<LeafIndex>,
    /// Leaf index of the `approve` event; absent for direct publishes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approve: Option<LeafIndex>,
    /// Through staging or directly.
    pub via: Via,
}

/// `device-register` and `device-revoke`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct DeviceChange {
    /// npm user name of the device's owner.
    pub maintainer: String,
    /// The device.
    pub device: Device,
}

/// `maintainer-add` and `maintainer-remove`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct MaintainerChange {
    /// npm user name added or removed.
    pub maintainer: String,
    /// npm user name who made the change.
    pub by: String,
}

/// `policy-change`: the publishing rules of a package changed.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct PolicyChange {
    /// Whether staging is now required.
    pub staged_publishing: StagedPublishing,
    /// The complete new list of trusted publishers (may be empty).
    pub trusted_publishers: Vec<TrustedPublisher>,
}

/// `unpublish` and `deprecate`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct VersionChange {
    /// The version concerned.
    #[serde(serialize_with = "ser::display")]
    pub version: Version,
    /// npm user name who made the change.
    pub by: String,
}

/// serde helpers for foreign types.
mod ser {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use ed25519_dalek::{Signature, VerifyingKey};
    use serde::Serializer;

    pub(super) fn display<T: std::fmt::Display, S: Serializer>(
        value: &T,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_str(value)
    }

    pub(super) fn opt_public_key<S: Serializer>(
        key: &Option<VerifyingKey>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match key {
            Some(key) => s.serialize_str(&STANDARD.encode(key.as_bytes())),
            None => s.serialize_none(),
        }
    }

    pub(super) fn opt_signature<S: Serializer>(
        signature: &Option<Signature>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match signature {
            Some(signature) => s.serialize_str(&STANDARD.encode(signature.to_bytes())),
            None => s.serialize_none(),
        }
    }
}
