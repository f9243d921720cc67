//! Checks that need the log's contents: references to earlier entries and
//! device signatures over approvals. The log records facts and does not
//! judge them (a publish without approval is accepted), but it refuses
//! events that point at entries that do not exist or do not match, and
//! approvals whose device signature fails against the key the log holds.
//!
//! Recent entries and known device keys come from the [`LogCache`];
//! anything else is read from the store, with the same outcome.

use std::sync::Arc;

use gatelog_core::event::{DeviceKind, EventBody, RefField};
use gatelog_core::{Event, Hash, Leaf, LeafIndex, TreeSize, leaf_hash};

use super::cache::{DeviceId, DeviceKey, LogCache};
use super::precheck::DeviceCheck;
use crate::store::{IndexKey, LogStore, StoreError};

/// Why an event was refused by a check against the log.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// A reference points past the end of the log.
    #[error("`{field}` refers to entry {index}, but the log has {size} entries")]
    Dangling {
        /// The field.
        field: &'static str,
        /// The index it names.
        index: LeafIndex,
        /// The log's size.
        size: TreeSize,
    },
    /// A reference points at an entry that does not match.
    #[error("`{field}` refers to entry {index}: {why}")]
    Mismatch {
        /// The field.
        field: &'static str,
        /// The index it names.
        index: LeafIndex,
        /// What does not match.
        why: String,
    },
    /// The approval's device signature fails against the registered key.
    #[error(
        "device_signature does not verify with the key logged for device {device} at entry {registered_at}"
    )]
    BadDeviceSignature {
        /// Device id.
        device: String,
        /// Entry of the `device-register` event.
        registered_at: LeafIndex,
    },
    /// An approval from a signing device whose signature the log cannot
    /// check: the signature is missing, or the log holds no current key
    /// for the device (never registered with one, or revoked).
    #[error("approval by device {device} ({kind}) cannot be checked: {why}")]
    UncheckableApproval {
        /// Device id.
        device: String,
        /// Device kind.
        kind: &'static str,
        /// What is missing.
        why: &'static str,
    },
    /// The store failed while checking.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads an entry and decodes its event (no signature check: the log
/// verified it when it was accepted).
pub fn read_event<S: LogStore + ?Sized>(
    store: &S,
    index: LeafIndex,
) -> Result<(Hash, Event), StoreError> {
    let bytes = store
        .read_leaves(index.0, 1)?
        .pop()
        .ok_or_else(|| StoreError::Missing(format!("leaf {index}")))?;
    let leaf =
        Leaf::parse(&bytes).map_err(|e| StoreError::Corrupt(format!("leaf {index}: {e}")))?;
    let event = Event::from_envelope(leaf.envelope())
        .map_err(|e| StoreError::Corrupt(format!("leaf {index}: {e}")))?;
    Ok((leaf_hash(&bytes), event))
}

/// [`read_event`] through the cache of recent entries.
fn cached_event<S: LogStore + ?Sized>(
    store: &S,
    cache: &LogCache,
    index: LeafIndex,
) -> Result<(Hash, Arc<Event>), StoreError> {
    match cache.event(index) {
        Some(hit) => Ok(hit),
        None => read_event(store, index).map(|(hash, event)| (hash, Arc::new(event))),
    }
}

/// [`device_key`] through the cache of device keys (a miss is read from
/// the store and remembered).
fn cached_device_key<S: LogStore + ?Sized>(
    store: &S,
    cache: &LogCache,
    event: &Event,
    maintainer: &str,
    device_id: &str,
) -> Result<DeviceKey, StoreError> {
    let id = DeviceId::new(event, maintainer, device_id);
    if let Some(key) = cache.device(&id) {
        return Ok(key);
    }
    let key = device_key(store, event, maintainer, device_id)?;
    cache.put_device(id, key);
    Ok(key)
}

/// Checks every reference of `event` against the first `size` entries, and
/// an approval's device signature against the logged device key. A
/// `precheck` made against the same stage hash and key stands for
/// verifying the signature again.
pub fn check<S: LogStore + ?Sized>(
    store: &S,
    cache: &LogCache,
    size: TreeSize,
    event: &Event,
    precheck: Option<&DeviceCheck>,
) -> Result<(), ReferenceError> {
    let mut stage_hash = None;
    for (field, index) in event.references() {
        let name = field.as_str();
        if !size.contains(index) {
            return Err(ReferenceError::Dangling {
                field: name,
                index,
                size,
            });
        }
        let (hash, referenced) = cached_event(store, cache, index)?;
        event
            .check_reference(field, &referenced)
            .map_err(|e| ReferenceError::Mismatch {
                field: name,
                index,
                why: e.to_string(),
            })?;
        if field == RefField::Stage {
            stage_hash = Some(hash);
        }
    }
    // A signing device's approval is logged only with a signature that
    // verifies under the key the log holds for the device now: a forged,
    // unsigned or revoked-device approval never enters the log.
    let (EventBody::Approve(approve), Some(stage_hash)) = (&event.body, stage_hash) else {
        return Ok(());
    };
    if !approve.device.kind.signs() {
        return Ok(());
    }
    let uncheckable = |why| ReferenceError::UncheckableApproval {
        device: approve.device.id.clone(),
        kind: approve.device.kind.as_str(),
        why,
    };
    if approve.device_signature.is_none() {
        return Err(uncheckable(
            "a signing device's approval carries no device_signature",
        ));
    }
    let Some((registered_at, key)) =
        cached_device_key(store, cache, event, &approve.maintainer, &approve.device.id)?
    else {
        return Err(uncheckable(
            "the log holds no key for this device of this maintainer (never registered with one, or revoked)",
        ));
    };
    let valid = match precheck.filter(|p| p.applies_to(&stage_hash, registered_at, &key)) {
        Some(checked) => checked.valid,
        None => approve
            .verify_device_signature(&event.package, &stage_hash, &key)
            .is_ok(),
    };
    if !valid {
        return Err(ReferenceError::BadDeviceSignature {
            device: approve.device.id.clone(),
            registered_at,
        });
    }
    Ok(())
}

/// The key of a device as the log knows it now: the latest
/// `device-register` with a key, unless a later `device-revoke` removed it.
/// `None` when the log holds no usable key (the monitor judges that).
pub fn device_key<S: LogStore + ?Sized>(
    store: &S,
    event: &Event,
    maintainer: &str,
    device_id: &str,
) -> Result<Option<(LeafIndex, ed25519_dalek::VerifyingKey)>, StoreError> {
    let key = IndexKey::Device(
        event.registry.host().to_owned(),
        maintainer.to_owned(),
        device_id.to_owned(),
    );
    let mut current = None;
    let mut after = None;
    loop {
        let page = store.scan(&key, after, 256)?;
        let Some(last) = page.last().copied() else {
            break;
        };
        for index in page {
            let (_, ev) = read_event(store, index)?;
            match ev.body {
                EventBody::DeviceRegister(change) => {
                    current = change
                        .device
                        .public_key
                        .filter(|_| change.device.kind != DeviceKind::Totp)
                        .map(|k| (index, k));
                }
                EventBody::DeviceRevoke(_) => current = None,
                _ => {}
            }
        }
        after = Some(last);
    }
    Ok(current)
}
