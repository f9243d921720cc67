//! What the sequencer remembers of the log it wrote, so reference checks
//! need not read and parse stored leaves again:
//!
//! - the events and leaf hashes of the most recent entries (release chains
//!   refer to entries logged moments before), as a window of consecutive
//!   indexes;
//! - the current key of devices it has looked up or seen registered.
//!
//! Everything here is derived from durable entries: the sequencer adds a
//! batch only after its write is durable and forgets everything when it
//! reloads after a failed write. A miss only means reading the store.
//! HTTP handlers read it too, to check device signatures on all cores
//! before sequencing ([`super::precheck`]); the sequencer still decides.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock};

use gatelog_core::event::{DeviceKind, EventBody};
use gatelog_core::{Event, Hash, LeafIndex};

/// Recent entries kept by default: chains under heavy load refer back a
/// few batches, well within this.
pub const RECENT_ENTRIES: usize = 131_072;

/// Devices whose key is kept; beyond, the map starts over.
const DEVICES: usize = 262_144;

/// A device as the log names it: registry, maintainer and device id.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct DeviceId {
    /// The registry's host.
    pub registry: String,
    /// The maintainer's user name.
    pub maintainer: String,
    /// The device id.
    pub device: String,
}

impl DeviceId {
    /// The device `device` of `maintainer` at the registry of `event`.
    pub fn new(event: &Event, maintainer: &str, device: &str) -> DeviceId {
        DeviceId {
            registry: event.registry.host().to_owned(),
            maintainer: maintainer.to_owned(),
            device: device.to_owned(),
        }
    }
}

/// A device's current key: the latest `device-register` with a usable key
/// and its index, or `None` (never registered with one, or revoked).
pub type DeviceKey = Option<(LeafIndex, ed25519_dalek::VerifyingKey)>;

/// The entries `first..first + entries.len()`.
#[derive(Default)]
struct Window {
    first: u64,
    entries: VecDeque<(Hash, Arc<Event>)>,
}

/// Recent events and device keys of a log (see the module docs).
pub struct LogCache {
    window: RwLock<Window>,
    capacity: usize,
    devices: RwLock<HashMap<DeviceId, DeviceKey>>,
}

impl LogCache {
    /// An empty cache keeping up to `capacity` recent entries, for a log
    /// whose next entry is `next`.
    pub fn new(capacity: usize, next: u64) -> LogCache {
        LogCache {
            window: RwLock::new(Window {
                first: next,
                entries: VecDeque::new(),
            }),
            capacity,
            devices: RwLock::default(),
        }
    }

    /// The leaf hash and event of entry `index`, if it is recent.
    pub fn event(&self, index: LeafIndex) -> Option<(Hash, Arc<Event>)> {
        let w = self.window.read().unwrap_or_else(|e| e.into_inner());
        let offset = index.0.checked_sub(w.first)?;
        w.entries.get(usize::try_from(offset).ok()?).cloned()
    }

    /// The key of `device`, if known: `Some(None)` means known to have none.
    pub fn device(&self, device: &DeviceId) -> Option<DeviceKey> {
        let d = self.devices.read().unwrap_or_else(|e| e.into_inner());
        d.get(device).copied()
    }

    /// Remembers a device's key read from the store.
    pub fn put_device(&self, device: DeviceId, key: DeviceKey) {
        let mut d = self.devices.write().unwrap_or_else(|e| e.into_inner());
        if d.len() >= DEVICES {
            d.clear();
        }
        d.insert(device, key);
    }

    /// Adds durable entries that continue the window: `first` is the index
    /// of the first. A registration or revocation among them replaces its
    /// device's key, as reading the store afterwards would find it.
    pub fn add(&self, first: u64, entries: Vec<(Hash, Arc<Event>)>) {
        for (i, (_, event)) in entries.iter().enumerate() {
            if let Some((device, key)) = device_change(event, LeafIndex(first + i as u64)) {
                self.put_device(device, key);
            }
        }
        let mut w = self.window.write().unwrap_or_else(|e| e.into_inner());
        if w.first + w.entries.len() as u64 != first {
            // Not a continuation (only after a reload): start over here.
            w.entries.clear();
            w.first = first;
        }
        w.entries.extend(entries);
        while w.entries.len() > self.capacity {
            w.entries.pop_front();
            w.first += 1;
        }
    }

    /// Forgets everything, for a log whose next entry is `next` (after a
    /// failed write the sequencer believes the store again).
    pub fn reset(&self, next: u64) {
        let mut w = self.window.write().unwrap_or_else(|e| e.into_inner());
        w.entries.clear();
        w.first = next;
        self.devices
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// The key a `device-register` or `device-revoke` at `index` leaves its
/// device with (the rule of [`super::references::device_key`]).
pub fn device_change(event: &Event, index: LeafIndex) -> Option<(DeviceId, DeviceKey)> {
    match &event.body {
        EventBody::DeviceRegister(change) => Some((
            DeviceId::new(event, &change.maintainer, &change.device.id),
            change
                .device
                .public_key
                .filter(|_| change.device.kind != DeviceKind::Totp)
                .map(|k| (index, k)),
        )),
        EventBody::DeviceRevoke(change) => Some((
            DeviceId::new(event, &change.maintainer, &change.device.id),
            None,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatelog_lab::sample::{SampleDevice, SampleRegistry, device_key};

    fn event(reg: &SampleRegistry, n: u64) -> (Hash, Arc<Event>) {
        let env = reg.publish_direct("p", &format!("1.0.{n}"), b"x", 1);
        (
            env.content_digest(),
            Arc::new(Event::from_envelope(&env).unwrap()),
        )
    }

    #[test]
    fn keeps_a_window_of_the_latest_entries() {
        let reg = SampleRegistry::new("registry.example", 1);
        let cache = LogCache::new(3, 10);
        let batch: Vec<_> = (0..2).map(|n| event(&reg, n)).collect();
        cache.add(10, batch.clone());
        assert_eq!(cache.event(LeafIndex(11)).unwrap().0, batch[1].0);
        assert!(cache.event(LeafIndex(9)).is_none());
        assert!(cache.event(LeafIndex(12)).is_none());
        cache.add(12, (2..4).map(|n| event(&reg, n)).collect());
        // Capacity 3: entry 10 fell out, 11..14 remain.
        assert!(cache.event(LeafIndex(10)).is_none());
        assert_eq!(cache.event(LeafIndex(11)).unwrap().0, batch[1].0);
        assert!(cache.event(LeafIndex(13)).is_some());
        // A batch that does not continue the window starts it over.
        cache.add(20, vec![event(&reg, 9)]);
        assert!(cache.event(LeafIndex(13)).is_none());
        assert!(cache.event(LeafIndex(20)).is_some());
        cache.reset(21);
        assert!(cache.event(LeafIndex(20)).is_none());
    }

    #[test]
    fn registrations_and_revocations_replace_the_device_key() {
        let reg = SampleRegistry::new("registry.example", 1);
        let dev = device_key(1);
        let register =
            Event::from_envelope(&reg.device_register("p", "alice", "key-1", &dev, 5)).unwrap();
        let device = SampleDevice::signing("key-1", DeviceKind::Ed25519, 1);
        let revoke = Event::from_envelope(&reg.revoke("p", "alice", &device, 6)).unwrap();
        let id = DeviceId::new(&register, "alice", "key-1");
        let cache = LogCache::new(10, 0);
        assert_eq!(cache.device(&id), None);
        cache.add(0, vec![(Hash::default(), Arc::new(register))]);
        assert_eq!(
            cache.device(&id),
            Some(Some((LeafIndex(0), dev.verifying_key())))
        );
        cache.add(1, vec![(Hash::default(), Arc::new(revoke))]);
        assert_eq!(cache.device(&id), Some(None));
        cache.reset(2);
        assert_eq!(cache.device(&id), None);
    }
}
