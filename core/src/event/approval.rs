//! Device-bound approvals (docs/formats.md, "Events"): a signing device signs a statement
//! naming exactly the tarball and the logged stage event it approves, with
//! the key that its `device-register` event put in the log. A verifier needs
//! nothing but the log to check that a human's authenticator approved this
//! tarball.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use semver::Version;

use super::types::Approve;
use super::{EventError, Integrity, PackageName};
use crate::hash::Hash;

/// The first line of every approval statement, naming its format.
pub const APPROVAL_STATEMENT_PREFIX: &str = "gatelog-approve/v1\n";

/// The statement a device signs to approve `package@version` with tarball
/// `integrity`, staged at the leaf whose RFC 6962 leaf hash is
/// `stage_leaf_hash`:
///
/// ```text
/// gatelog-approve/v1\n<package>\n<version>\n<integrity>\n<stage leaf hash, lowercase hex>\n
/// ```
///
/// The typed arguments cannot contain a newline, so the lines cannot be
/// shifted to forge another statement.
pub fn approval_statement(
    package: &PackageName,
    version: &Version,
    integrity: &Integrity,
    stage_leaf_hash: &Hash,
) -> String {
    format!(
        "{APPROVAL_STATEMENT_PREFIX}{package}\n{version}\n{integrity}\n{}\n",
        stage_leaf_hash.to_hex()
    )
}

/// Signs an approval statement with a device key (for tests, the demo and
/// software authenticators).
pub fn sign_approval(device_key: &SigningKey, statement: &str) -> Signature {
    device_key.sign(statement.as_bytes())
}

/// Checks a device signature (raw 64 bytes) over `statement` with
/// [`crate::ed25519::verify_strict`], which refuses weak keys and malleable
/// signatures.
pub fn verify_device_signature(
    device_public_key: &VerifyingKey,
    statement: &str,
    signature: &[u8],
) -> Result<(), EventError> {
    Signature::from_slice(signature)
        .and_then(|sig| {
            crate::ed25519::verify_strict(device_public_key, statement.as_bytes(), &sig)
        })
        .map_err(|_| EventError::BadDeviceSignature)
}

impl Approve {
    /// The statement this approval's device should have signed, given the
    /// approval's `package` and the leaf hash of the `stage` it references.
    pub fn statement(&self, package: &PackageName, stage_leaf_hash: &Hash) -> String {
        approval_statement(package, &self.version, &self.integrity, stage_leaf_hash)
    }

    /// Checks `device_signature` against the key that the device's
    /// `device-register` event logged.
    pub fn verify_device_signature(
        &self,
        package: &PackageName,
        stage_leaf_hash: &Hash,
        device_public_key: &VerifyingKey,
    ) -> Result<(), EventError> {
        let signature = self
            .device_signature
            .ok_or(EventError::MissingDeviceSignature)?;
        verify_device_signature(
            device_public_key,
            &self.statement(package, stage_leaf_hash),
            &signature.to_bytes(),
        )
    }
}
