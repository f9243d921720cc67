//! The load itself: options, opening the new log, the rounds of
//! the [`pipeline`](crate::pipeline), and the closing startup check and
//! summary.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use gatelog_lab::hammer::workload::{self, Workload};
use gatelog_server::clock::SystemClock;
use gatelog_server::log::Log;
use gatelog_server::metrics::Metrics;
use gatelog_server::sequencer::Sequencer;
use gatelog_server::store::LogStore;
use serde::Serialize;

use crate::pipeline;
use crate::{BulkLoadError, folder};

/// What to load.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// The new data folder (missing or empty).
    pub data: PathBuf,
    /// The log's origin.
    pub origin: String,
    /// Entries wanted. The log gets the device registrations and then whole
    /// release chains (3 entries each), so it may end up to 2 entries longer.
    pub entries: u64,
    /// Packages the releases are spread over.
    pub packages: u64,
    /// Number of the first release chain. The default keeps the loaded
    /// releases apart from those `gatelog hammer` logs later (numbered from
    /// 0), so a hammer run on the loaded log adds entries instead of
    /// resubmitting them.
    pub first_release: u64,
    /// Envelopes per sequencer batch.
    pub batch: usize,
}

impl LoadOptions {
    /// Defaults for everything but the folder and the size.
    pub fn new(data: PathBuf, entries: u64) -> LoadOptions {
        LoadOptions {
            data,
            origin: "gatelog.localhost/log".into(),
            entries,
            packages: 10_000,
            first_release: 10_000_000,
            batch: 4096,
        }
    }
}

/// What a load did.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// Entries in the log.
    pub entries: u64,
    /// Release chains logged.
    pub releases: u64,
    /// Packages they are spread over.
    pub packages: u64,
    /// Number of the first release chain.
    pub first_release: u64,
    /// Wall time of the load, seconds (including the final startup check).
    pub seconds: f64,
    /// Entries per second.
    pub entries_per_second: f64,
    /// Bytes of the data folder (store and key).
    pub bytes_on_disk: u64,
    /// Bytes on disk per entry.
    pub bytes_per_entry: f64,
    /// The log's verifier key.
    pub verifier_key: String,
    /// The signed checkpoint the server will start from.
    pub checkpoint: String,
}

/// Loads a new log into `opts.data`; `progress` hears the entries logged
/// after each batch.
pub fn load(opts: &LoadOptions, mut progress: impl FnMut(u64)) -> Result<Summary, BulkLoadError> {
    folder::ensure_empty(&opts.data)?;
    if opts.batch == 0 || opts.packages == 0 {
        return Err(BulkLoadError::Invalid(
            "batch and packages must be positive".into(),
        ));
    }
    let registrations = Workload::registrations(opts.packages);
    if opts.entries < registrations + 3 {
        return Err(BulkLoadError::Invalid(format!(
            "a log of {} packages needs at least {} entries (device registrations and one release)",
            opts.packages,
            registrations + 3
        )));
    }
    let releases = (opts.entries - registrations).div_ceil(3);
    let end = opts
        .first_release
        .checked_add(releases)
        .ok_or_else(|| BulkLoadError::Invalid("first release + releases overflows".into()))?;
    let started = Instant::now();

    let log = Log::open(&opts.data, &opts.origin)?;
    let verifier_key = log.key.verifier().to_string();
    let mut sequencer = Sequencer::new(
        log.store.clone(),
        log.key.clone(),
        log.origin.clone(),
        Arc::new(SystemClock),
        log.published.clone(),
        Arc::new(Metrics::new()),
    )?;
    let work = Workload::numbered(
        workload::registry(),
        opts.packages,
        opts.first_release..end,
        0,
    );
    pipeline::run(&mut sequencer, &work, opts.batch, &mut progress)?;
    drop(sequencer);

    let expected = registrations + 3 * releases;
    let stored = log.store.state()?.size.0;
    if stored != expected {
        return Err(BulkLoadError::Refused(format!(
            "the log holds {stored} entries, the workload has {expected}"
        )));
    }
    drop(log);
    // The server's startup check, as `gatelog-server` will run it.
    let reopened = Log::open(&opts.data, &opts.origin)?;
    let checkpoint = String::from_utf8_lossy(&reopened.published.get().to_bytes()).into_owned();
    drop(reopened);
    let seconds = started.elapsed().as_secs_f64();
    let bytes_on_disk = folder::bytes_on_disk(&opts.data)
        .map_err(|e| BulkLoadError::Io(opts.data.display().to_string(), e))?;
    Ok(Summary {
        entries: expected,
        releases,
        packages: opts.packages,
        first_release: opts.first_release,
        seconds,
        entries_per_second: expected as f64 / seconds.max(1e-9),
        bytes_on_disk,
        bytes_per_entry: bytes_on_disk as f64 / expected as f64,
        verifier_key,
        checkpoint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatelog_core::Event;
    use gatelog_core::merkle::verify_inclusion;
    use gatelog_core::{HashReader as _, LeafIndex, TreeSize, leaf_hash};
    use gatelog_server::store::Hashes;
    use gatelog_server::store::LogStore;

    #[test]
    fn a_loaded_folder_passes_the_startup_check_and_proves_its_entries() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("log");
        let mut opts = LoadOptions::new(data.clone(), 1000);
        opts.packages = 50;
        opts.batch = 64;
        let mut seen = 0;
        let summary = load(&opts, |n| seen += n).unwrap();
        // 50 registrations, then ceil(950 / 3) = 317 chains.
        assert_eq!(summary.releases, 317);
        assert_eq!(summary.entries, 50 + 3 * 317);
        assert_eq!(seen, summary.entries);
        assert!(summary.bytes_per_entry > 100.0, "{summary:?}");

        let log = Log::open(&data, &opts.origin).unwrap();
        let cp = log.published.get();
        assert_eq!(cp.head().size, TreeSize(summary.entries));
        assert_eq!(summary.checkpoint.as_bytes(), cp.to_bytes());
        let leaves = log.store.read_leaves(0, summary.entries).unwrap();
        let mut kinds = std::collections::BTreeMap::new();
        for (i, bytes) in leaves.iter().enumerate() {
            let proof = Hashes(&*log.store)
                .inclusion_proof(LeafIndex(i as u64), cp.head().size)
                .unwrap();
            verify_inclusion(&leaf_hash(bytes), &proof, &cp.head()).unwrap();
            let leaf = gatelog_core::Leaf::parse(bytes).unwrap();
            let event = Event::from_envelope(leaf.envelope()).unwrap();
            *kinds.entry(event.event_type().as_str()).or_insert(0) += 1;
        }
        assert_eq!(kinds.values().sum::<u64>(), summary.entries, "{kinds:?}");
        assert_eq!(kinds.len(), 4, "{kinds:?}");
    }

    #[test]
    fn a_folder_that_holds_a_log_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("log");
        let mut opts = LoadOptions::new(data.clone(), 200);
        opts.packages = 10;
        load(&opts, |_| {}).unwrap();
        let before = folder::bytes_on_disk(&data).unwrap();
        let checkpoint = Log::open(&data, &opts.origin)
            .unwrap()
            .published
            .get()
            .to_bytes();
        let err = load(&opts, |_| {}).unwrap_err();
        assert!(matches!(err, BulkLoadError::NotEmpty(_)), "{err}");
        assert!(err.to_string().contains("not empty"), "{err}");
        let log = Log::open(&data, &opts.origin).unwrap();
        assert_eq!(log.published.get().to_bytes(), checkpoint);
        assert_eq!(log.store.state().unwrap().size.0, 10 + 3 * 64);
        drop(log);
        assert!(folder::bytes_on_disk(&data).unwrap() >= before);
    }

    #[test]
    fn too_few_entries_are_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("log");
        let err = load(&LoadOptions::new(data.clone(), 50), |_| {}).unwrap_err();
        assert!(matches!(err, BulkLoadError::Invalid(_)), "{err}");
        assert!(!data.exists());
    }
}
