//! Device signatures checked before sequencing, on the HTTP handlers'
//! threads. Verifying an approval's device signature is the costliest part
//! of its reference checks, and the sequencer is one thread; a handler can
//! verify it in parallel when the [`LogCache`] already holds the stage's
//! leaf hash and the device's key. The sequencer still decides: it uses the
//! result only if the stage hash and key it finds itself are the very ones
//! checked here, and verifies itself otherwise (e.g. when the device was
//! registered again meanwhile). So the log refuses exactly what it would
//! refuse without this.

use gatelog_core::event::{EventBody, RefField};
use gatelog_core::{Event, Hash, LeafIndex};

use super::cache::{DeviceId, LogCache};

/// The outcome of checking one approval's device signature against a
/// stage leaf hash and a device key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceCheck {
    /// Leaf hash of the stage entry the statement names.
    pub stage_hash: Hash,
    /// Entry of the `device-register` that logged the key.
    pub registered_at: LeafIndex,
    /// The key, as bytes.
    pub key: [u8; 32],
    /// Whether the signature verified.
    pub valid: bool,
}

impl DeviceCheck {
    /// Whether this check was made against exactly `stage_hash` and the
    /// key registered at `registered_at`.
    pub fn applies_to(
        &self,
        stage_hash: &Hash,
        registered_at: LeafIndex,
        key: &ed25519_dalek::VerifyingKey,
    ) -> bool {
        self.stage_hash == *stage_hash
            && self.registered_at == registered_at
            && self.key == key.to_bytes()
    }
}

/// Checks the device signature of an approval whose stage and device key
/// the cache knows; `None` when there is nothing to check or the cache
/// cannot tell.
pub fn precheck(cache: &LogCache, event: &Event) -> Option<DeviceCheck> {
    let EventBody::Approve(approve) = &event.body else {
        return None;
    };
    if approve.device_signature.is_none() || !approve.device.kind.signs() {
        return None;
    }
    let stage = event
        .references()
        .into_iter()
        .find(|(field, _)| *field == RefField::Stage)?
        .1;
    let (stage_hash, _) = cache.event(stage)?;
    let device = DeviceId::new(event, &approve.maintainer, &approve.device.id);
    let (registered_at, key) = cache.device(&device)??;
    let valid = approve
        .verify_device_signature(&event.package, &stage_hash, &key)
        .is_ok();
    Some(DeviceCheck {
        stage_hash,
        registered_at,
        key: key.to_bytes(),
        valid,
    })
}
