//! `logged_at` never goes backwards: not when the system clock steps back
//! while the log runs, and not across a restart on a clock that is behind
//! (the stored log clock seeds the new sequencer). A real RocksDB store,
//! reopened from its folder.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use gatelog_core::keys::SignatureType;
use gatelog_core::{Event, Leaf, Origin, SignerKey};
use gatelog_lab::sample::SampleRegistry;
use gatelog_server::clock::ManualClock;
use gatelog_server::keyfile::KeySource;
use gatelog_server::log::Log;
use gatelog_server::metrics::Metrics;
use gatelog_server::sequencer::{Sequencer, Submission};
use gatelog_server::store::LogStore;
use gatelog_server::store::rocks::RocksStore;

const ORIGIN: &str = "clock.gatelog.test/log";

/// A log on the store in `dir` with a clock reading `now_ms`.
fn open(
    dir: &std::path::Path,
    now_ms: u64,
) -> (Sequencer<RocksStore>, Arc<RocksStore>, Arc<ManualClock>) {
    let key = SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, &[7; 32]).unwrap();
    let store = Arc::new(RocksStore::open(dir).unwrap());
    let log = Log::with_store(
        store.clone(),
        key.clone(),
        KeySource::File,
        Origin::new(ORIGIN).unwrap(),
    )
    .unwrap();
    let clock = Arc::new(ManualClock(AtomicU64::new(now_ms)));
    let seq = Sequencer::new(
        store.clone(),
        key,
        log.origin.clone(),
        clock.clone(),
        log.published.clone(),
        Arc::new(Metrics::new()),
    )
    .unwrap();
    (seq, store, clock)
}

/// Logs one event and returns the `logged_at` the log gave it.
fn log_one(seq: &mut Sequencer<RocksStore>, store: &RocksStore, n: u64) -> u64 {
    let reg = SampleRegistry::new("registry.example", 1);
    let envelope = reg.publish_direct("left-pad", &format!("1.0.{n}"), &n.to_le_bytes(), 1);
    let event = Event::from_envelope(&envelope).unwrap();
    let (reply, mut rx) = tokio::sync::oneshot::channel();
    seq.commit(vec![Submission::new(envelope, event, reply)])
        .unwrap();
    let ack = rx.try_recv().expect("answered").expect("accepted");
    let bytes = store.read_leaves(ack.index.0, 1).unwrap().remove(0);
    Leaf::parse(&bytes).unwrap().logged_at()
}

#[test]
fn logged_at_stays_monotonic_when_the_clock_steps_back_and_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (mut seq, store, clock) = open(dir.path(), 1_800_000_000_000);
    assert_eq!(log_one(&mut seq, &store, 0), 1_800_000_000_000);
    clock.0.store(1_800_000_000_100, Ordering::SeqCst);
    assert_eq!(log_one(&mut seq, &store, 1), 1_800_000_000_100);
    // The system clock steps back an hour while the log runs.
    clock
        .0
        .store(1_800_000_000_100 - 3_600_000, Ordering::SeqCst);
    assert_eq!(log_one(&mut seq, &store, 2), 1_800_000_000_100);
    assert_eq!(store.state().unwrap().clock, 1_800_000_000_100);
    drop((seq, store, clock));

    // Restart on a machine whose clock is a day behind.
    let (mut seq, store, clock) = open(dir.path(), 1_800_000_000_100 - 86_400_000);
    assert_eq!(log_one(&mut seq, &store, 3), 1_800_000_000_100);
    // Time catches up and passes: logged_at follows it again.
    clock.0.store(1_800_000_000_200, Ordering::SeqCst);
    assert_eq!(log_one(&mut seq, &store, 4), 1_800_000_000_200);
    let all: Vec<u64> = store
        .read_leaves(0, 5)
        .unwrap()
        .iter()
        .map(|b| Leaf::parse(b).unwrap().logged_at())
        .collect();
    assert!(all.windows(2).all(|w| w[0] <= w[1]), "{all:?}");
}
