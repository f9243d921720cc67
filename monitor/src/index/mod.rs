//! The index the rules read and update: records keyed by registry and
//! package, version, device or publisher identity (every key starts with
//! the registry's host, so one registry's events never reach another's
//! records), cached in memory over a [`RecordSource`]
//! (the state database). Changes accumulate as dirty records and are
//! written with the cursor in one batch, so the index always matches the
//! entries processed.

mod records;

pub use records::{
    ApprovalFact, DeviceRecord, KeptEvent, LogRecord, PackageRecord, PublisherRecord, StageFact,
    TrustedRecord, VersionRecord,
};

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;
use serde::de::DeserializeOwned;

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

/// Record key prefixes. Keys are `<prefix><parts joined by NUL>`; the
/// first part of every per-registry key is the registry's host
/// (`Registry::host`, so `http://x` and `https://x` are one registry).
pub mod key {
    /// The log-wide record.
    pub const LOG: &str = "r/log";

    /// A package of a registry.
    pub fn package(registry: &str, name: &str) -> String {
        format!("r/p/{registry}\0{name}")
    }

    /// A package version of a registry.
    pub fn version(registry: &str, name: &str, version: &str) -> String {
        format!("r/v/{registry}\0{name}\0{version}")
    }

    /// A maintainer's device at a registry.
    pub fn device(registry: &str, maintainer: &str, device: &str) -> String {
        format!("r/d/{registry}\0{maintainer}\0{device}")
    }

    /// A publisher identity at a registry.
    pub fn publisher(registry: &str, identity: &str) -> String {
        format!("r/i/{registry}\0{identity}")
    }
}

/// Cached records are dropped (after a commit) beyond this many. A record
/// costs about 1.5 KiB in memory, so this bounds the cache near 150 MiB; a
/// 35-minute soak with 500,000 let the monitor grow from 123 to 566 MiB.
const CACHE_LIMIT: usize = 100_000;

/// A record type: JSON in storage.
pub trait Record: Serialize + DeserializeOwned + Default + Clone + Send + Sync {}
impl<T: Serialize + DeserializeOwned + Default + Clone + Send + Sync> Record for T {}

/// Decoded records of one type by key, and the keys changed since the
/// last commit (each once, so a record is written once per chunk).
struct Table<T> {
    records: FxHashMap<String, (T, bool)>,
    dirty: Vec<String>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            records: FxHashMap::default(),
            dirty: Vec::new(),
        }
    }
}

impl<T: Record> Table<T> {
    /// The record of `key`, read from `source` on first use; marked
    /// changed when `dirty`. Looking up a cached record allocates nothing.
    fn get(&mut self, source: &dyn RecordSource, key: &str, dirty: bool) -> Result<&mut T, String> {
        if !self.records.contains_key(key) {
            let record = match source.load(key)? {
                Some(bytes) => serde_json::from_slice(&bytes)
                    .map_err(|err| format!("state record {key:?} is corrupt: {err}"))?,
                None => T::default(),
            };
            self.records.insert(key.to_owned(), (record, false));
        }
        let (record, changed) = self.records.get_mut(key).expect("inserted above");
        if dirty && !*changed {
            *changed = true;
            self.dirty.push(key.to_owned());
        }
        Ok(record)
    }

    /// The changed records as (key, JSON), serialized on all cores.
    fn take_dirty(&mut self) -> Vec<(String, Vec<u8>)> {
        let keys = std::mem::take(&mut self.dirty);
        for k in &keys {
            if let Some((_, changed)) = self.records.get_mut(k) {
                *changed = false;
            }
        }
        let records = &self.records;
        keys.into_par_iter()
            .filter_map(|k| {
                let bytes = records.get(&k).map(|(r, _)| to_json(r))?;
                Some((k, bytes))
            })
            .collect()
    }
}

/// Decoded records by key, one table per type.
#[derive(Default)]
struct Cache {
    log: Option<LogRecord>,
    log_dirty: bool,
    packages: Table<PackageRecord>,
    versions: Table<VersionRecord>,
    devices: Table<DeviceRecord>,
    publishers: Table<PublisherRecord>,
}

/// The rules' view of everything processed so far.
#[derive(Default)]
pub struct Index {
    cache: Cache,
    /// Reused to spell keys, so cached lookups allocate nothing.
    key: String,
}

/// Spells `prefix` then `parts` joined by NUL into `buf`.
fn spell<'b>(buf: &'b mut String, prefix: &str, parts: &[&str]) -> &'b str {
    buf.clear();
    buf.push_str(prefix);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            buf.push('\0');
        }
        buf.push_str(part);
    }
    buf
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
        self.cache.log_dirty = true;
    }

    /// A package record of `registry` (a host), marked dirty (callers
    /// read to update).
    pub fn package(
        &mut self,
        source: &dyn RecordSource,
        registry: &str,
        name: &str,
    ) -> Result<&mut PackageRecord, String> {
        let k = spell(&mut self.key, "r/p/", &[registry, name]);
        self.cache.packages.get(source, k, true)
    }

    /// A version record of `registry`, marked dirty.
    pub fn version(
        &mut self,
        source: &dyn RecordSource,
        registry: &str,
        name: &str,
        version: &str,
    ) -> Result<&mut VersionRecord, String> {
        let k = spell(&mut self.key, "r/v/", &[registry, name, version]);
        self.cache.versions.get(source, k, true)
    }

    /// A device record, marked dirty.
    pub fn device(
        &mut self,
        source: &dyn RecordSource,
        registry: &str,
        maintainer: &str,
        device: &str,
    ) -> Result<&mut DeviceRecord, String> {
        let k = spell(&mut self.key, "r/d/", &[registry, maintainer, device]);
        self.cache.devices.get(source, k, true)
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
        let k = spell(&mut self.key, "r/d/", &[registry, maintainer, device]);
        self.cache.devices.get(source, k, false).cloned()
    }

    /// A publisher record of `registry`, marked dirty.
    pub fn publisher(
        &mut self,
        source: &dyn RecordSource,
        registry: &str,
        identity: &str,
    ) -> Result<&mut PublisherRecord, String> {
        let k = spell(&mut self.key, "r/i/", &[registry, identity]);
        self.cache.publishers.get(source, k, true)
    }

    /// The changed records as (key, JSON), sorted by key, clearing the
    /// dirty marks; the caller writes them in the same batch as the cursor.
    pub fn take_dirty(&mut self) -> Vec<(String, Vec<u8>)> {
        let c = &mut self.cache;
        let mut out = Vec::new();
        if std::mem::take(&mut c.log_dirty)
            && let Some(log) = &c.log
        {
            out.push((key::LOG.to_owned(), to_json(log)));
        }
        out.extend(c.packages.take_dirty());
        out.extend(c.versions.take_dirty());
        out.extend(c.devices.take_dirty());
        out.extend(c.publishers.take_dirty());
        out.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Forgets every cached record (after a failed batch, so the next
    /// read comes from what was really stored), or trims the cache when
    /// it has grown past its limit.
    pub fn forget(&mut self, always: bool) {
        let c = &self.cache;
        let size = c.packages.records.len()
            + c.versions.records.len()
            + c.devices.records.len()
            + c.publishers.records.len();
        if always || size > CACHE_LIMIT {
            self.cache = Cache::default();
        }
    }
}

fn to_json<T: Serialize>(record: &T) -> Vec<u8> {
    serde_json::to_vec(record).expect("records always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_spelled_as_documented() {
        let mut buf = String::new();
        assert_eq!(spell(&mut buf, "r/p/", &["r", "a"]), key::package("r", "a"));
        assert_eq!(
            spell(&mut buf, "r/v/", &["r", "a", "1.0.0"]),
            key::version("r", "a", "1.0.0")
        );
        assert_eq!(
            spell(&mut buf, "r/d/", &["r", "m", "d"]),
            key::device("r", "m", "d")
        );
        assert_eq!(
            spell(&mut buf, "r/i/", &["r", "x"]),
            key::publisher("r", "x")
        );
    }

    #[test]
    fn a_record_changed_twice_is_written_once_and_then_clean() {
        let mut index = Index::default();
        index.package(&Empty, "r", "a").unwrap().approvals = 1;
        index.package(&Empty, "r", "a").unwrap().approvals = 2;
        let _ = index.read_device(&Empty, "r", "m", "d").unwrap();
        index.set_log(LogRecord::default());
        let written = index.take_dirty();
        let keys: Vec<&str> = written.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, vec![key::LOG, "r/p/r\0a"]);
        assert!(String::from_utf8_lossy(&written[1].1).contains("\"approvals\":2"));
        assert!(index.take_dirty().is_empty());
    }
}
