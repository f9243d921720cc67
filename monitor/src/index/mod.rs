//! The index the rules read and update: records keyed by package, version,
//! device and publisher identity, cached in memory over a [`RecordSource`]
//! (the state database). Changes accumulate as dirty records and are
//! written with the cursor in one batch, so the index always matches the
//! entries processed.

mod records;

pub use records::{
    ApprovalFact, DeviceRecord, LogRecord, PackageRecord, PublisherRecord, StageFact,
    TrustedRecord, VersionRecord,
};

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{HashMap, HashSet};

/// Where records live between runs.
pub trait RecordSource {
    /// The stored bytes of `key`, if any.
    fn load(&self, key: &str) -> Result<Option<Vec<u8>>, String>;
}

/// No stored records (a fresh monitor, and tests).
pub struct Empty;

impl RecordSource for Empty {
    fn load(&self, _: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(None)
    }
}

/// Record key prefixes. Keys are `<prefix><parts joined by NUL>`.
pub mod key {
    /// The log-wide record.
    pub const LOG: &str = "r/log";

    /// A package.
    pub fn package(name: &str) -> String {
        format!("r/p/{name}")
    }

    /// A package version.
    pub fn version(name: &str, version: &str) -> String {
        format!("r/v/{name}\0{version}")
    }

    /// A maintainer's device at a registry.
    pub fn device(registry: &str, maintainer: &str, device: &str) -> String {
        format!("r/d/{registry}\0{maintainer}\0{device}")
    }

    /// A publisher identity.
    pub fn publisher(identity: &str) -> String {
        format!("r/i/{identity}")
    }
}

/// Cached records are dropped (after a commit) beyond this many.
const CACHE_LIMIT: usize = 500_000;

/// A record type: JSON in storage.
pub trait Record: Serialize + DeserializeOwned + Default + Clone {}
impl<T: Serialize + DeserializeOwned + Default + Clone> Record for T {}

/// Decoded records by key, one map per type.
#[derive(Default)]
struct Cache {
    log: Option<LogRecord>,
    packages: HashMap<String, PackageRecord>,
    versions: HashMap<String, VersionRecord>,
    devices: HashMap<String, DeviceRecord>,
    publishers: HashMap<String, PublisherRecord>,
}

/// The rules' view of everything processed so far.
#[derive(Default)]
pub struct Index {
    cache: Cache,
    dirty: HashSet<String>,
}

fn fetch<'a, T: Record>(
    map: &'a mut HashMap<String, T>,
    source: &dyn RecordSource,
    key: String,
) -> Result<&'a mut T, String> {
    use std::collections::hash_map::Entry;
    match map.entry(key) {
        Entry::Occupied(e) => Ok(e.into_mut()),
        Entry::Vacant(e) => {
            let record = match source.load(e.key())? {
                Some(bytes) => serde_json::from_slice(&bytes)
                    .map_err(|err| format!("state record {:?} is corrupt: {err}", e.key()))?,
                None => T::default(),
            };
            Ok(e.insert(record))
        }
    }
}

impl Index {
    /// The log-wide record (read).
    pub fn log(&mut self, source: &dyn RecordSource) -> Result<LogRecord, String> {
        if self.cache.log.is_none() {
            let record = match source.load(key::LOG)? {
                Some(bytes) => serde_json::from_slice(&bytes)
                    .map_err(|e| format!("state record {:?} is corrupt: {e}", key::LOG))?,
                None => LogRecord::default(),
            };
            self.cache.log = Some(record);
        }
        Ok(self.cache.log.clone().unwrap_or_default())
    }

    /// Replaces the log-wide record.
    pub fn set_log(&mut self, record: LogRecord) {
        self.cache.log = Some(record);
        self.dirty.insert(key::LOG.to_owned());
    }

    /// A package record, marked dirty (callers read to update).
    pub fn package(
        &mut self,
        source: &dyn RecordSource,
        name: &str,
    ) -> Result<&mut PackageRecord, String> {
        let k = key::package(name);
        self.dirty.insert(k.clone());
        fetch(&mut self.cache.packages, source, k)
    }

    /// A version record, marked dirty.
    pub fn version(
        &mut self,
        source: &dyn RecordSource,
        name: &str,
        version: &str,
    ) -> Result<&mut VersionRecord, String> {
        let k = key::version(name, version);
        self.dirty.insert(k.clone());
        fetch(&mut self.cache.versions, source, k)
    }

    /// A device record, marked dirty.
    pub fn device(
        &mut self,
        source: &dyn RecordSource,
        registry: &str,
        maintainer: &str,
        device: &str,
    ) -> Result<&mut DeviceRecord, String> {
        let k = key::device(registry, maintainer, device);
        self.dirty.insert(k.clone());
        fetch(&mut self.cache.devices, source, k)
    }

    /// A device record, read only: approvals look devices up without
    /// changing them, so nothing is rewritten.
    pub fn read_device(
        &mut self,
        source: &dyn RecordSource,
        registry: &str,
        maintainer: &str,
        device: &str,
    ) -> Result<DeviceRecord, String> {
        let k = key::device(registry, maintainer, device);
        fetch(&mut self.cache.devices, source, k).cloned()
    }

    /// A publisher record, marked dirty.
    pub fn publisher(
        &mut self,
        source: &dyn RecordSource,
        identity: &str,
    ) -> Result<&mut PublisherRecord, String> {
        let k = key::publisher(identity);
        self.dirty.insert(k.clone());
        fetch(&mut self.cache.publishers, source, k)
    }

    /// The changed records as (key, JSON), clearing the dirty set; the
    /// caller writes them in the same batch as the cursor.
    pub fn take_dirty(&mut self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::with_capacity(self.dirty.len());
        for k in self.dirty.drain() {
            let bytes = if k == key::LOG {
                self.cache.log.as_ref().map(to_json)
            } else if k.starts_with("r/p/") {
                self.cache.packages.get(&k).map(to_json)
            } else if k.starts_with("r/v/") {
                self.cache.versions.get(&k).map(to_json)
            } else if k.starts_with("r/d/") {
                self.cache.devices.get(&k).map(to_json)
            } else {
                self.cache.publishers.get(&k).map(to_json)
            };
            if let Some(bytes) = bytes {
                out.push((k, bytes));
            }
        }
        out.sort();
        out
    }

    /// Forgets every cached record (after a failed batch, so the next
    /// read comes from what was really stored), or trims the cache when
    /// it has grown past its limit.
    pub fn forget(&mut self, always: bool) {
        let c = &self.cache;
        let size = c.packages.len() + c.versions.len() + c.devices.len() + c.publishers.len();
        if always || size > CACHE_LIMIT {
            self.cache = Cache::default();
            self.dirty.clear();
        }
    }
}

fn to_json<T: Serialize>(record: &T) -> Vec<u8> {
    serde_json::to_vec(record).expect("records always serialize")
}
