//! Sequencer tests: ordering, idempotency, references, the clock, and
//! injected storage faults at every write step.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use gatelog_core::keys::SignatureType;
use gatelog_core::merkle::{root_from_nodes, root_nodes, verify_inclusion};
use gatelog_core::{
    Envelope, Event, Leaf, LeafIndex, Origin, SignerKey, TreeHead, TreeSize, checkpoint,
};
use gatelog_lab::sample::{SampleRegistry, device_key};
use tokio::sync::oneshot;

use super::*;
use crate::clock::ManualClock;
use crate::keyfile::KeySource;
use crate::log::{Log, recover};
use crate::metrics::Metrics;
use crate::store::faulty::{Fault, FaultyStore, Op};
use crate::store::memory::MemoryStore;
use crate::store::rocks::RocksStore;

const ORIGIN: &str = "test.gatelog/log";

struct Harness<S: LogStore> {
    seq: Sequencer<S>,
    store: Arc<S>,
    key: SignerKey,
    clock: Arc<ManualClock>,
    reg: SampleRegistry,
}

fn key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, &[5; 32]).unwrap()
}

fn harness<S: LogStore>(store: S) -> Harness<S> {
    let store = Arc::new(store);
    let log = Log::with_store(
        store.clone(),
        key(),
        KeySource::File,
        Origin::new(ORIGIN).unwrap(),
    )
    .unwrap();
    let clock = Arc::new(ManualClock(AtomicU64::new(1_000_000)));
    let seq = Sequencer::new(
        store.clone(),
        key(),
        log.origin.clone(),
        clock.clone(),
        log.published.clone(),
        Arc::new(Metrics::new()),
    )
    .unwrap();
    Harness {
        seq,
        store,
        key: key(),
        clock,
        reg: SampleRegistry::new("registry.example", 1),
    }
}

type Answer = Result<Accepted, SubmitError>;

impl<S: LogStore> Harness<S> {
    fn commit(&mut self, envelopes: Vec<Envelope>) -> Vec<Answer> {
        let mut receivers = Vec::new();
        let batch = envelopes
            .into_iter()
            .map(|envelope| {
                let (reply, rx) = oneshot::channel();
                receivers.push(rx);
                let event = Event::from_envelope(&envelope).unwrap();
                Submission::new(envelope, event, reply)
            })
            .collect();
        self.seq.commit(batch).unwrap();
        receivers
            .into_iter()
            .map(|rx| rx.blocking_recv().unwrap())
            .collect()
    }

    fn one(&mut self, envelope: Envelope) -> Answer {
        self.commit(vec![envelope]).pop().unwrap()
    }

    /// Commits one envelope with a device check made ahead of sequencing.
    fn one_prechecked(&mut self, envelope: Envelope, check: Option<DeviceCheck>) -> Answer {
        let (reply, rx) = oneshot::channel();
        let event = Event::from_envelope(&envelope).unwrap();
        let mut sub = Submission::new(envelope, event, reply);
        sub.device_check = check;
        self.seq.commit(vec![sub]).unwrap();
        rx.blocking_recv().unwrap()
    }

    /// A new sequencer over the same store: nothing remembered.
    fn restart(&mut self) {
        self.seq = Sequencer::new(
            self.store.clone(),
            self.key.clone(),
            Origin::new(ORIGIN).unwrap(),
            self.clock.clone(),
            self.seq.published.clone(),
            Arc::new(Metrics::new()),
        )
        .unwrap();
    }

    fn size(&self) -> TreeSize {
        self.store.state().unwrap().size
    }

    /// Checks an acknowledgement the way a client would.
    fn check_ack(&self, ack: &Accepted) {
        let cp = checkpoint::open(&ack.checkpoint.to_bytes(), &self.key.verifier()).unwrap();
        verify_inclusion(&ack.leaf_hash, &ack.proof, &cp.head()).unwrap();
        let leaf = self
            .store
            .read_leaves(ack.index.0, 1)
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(gatelog_core::leaf_hash(&leaf), ack.leaf_hash);
    }

    /// Stage + approve (signed by a registered device) + publish of `version`.
    fn release(&mut self, package: &str, version: &str) -> [Accepted; 3] {
        let tgz = format!("{package}-{version}").into_bytes();
        let stage = self
            .one(self.reg.stage(package, version, &tgz, "acme/widget", 100))
            .unwrap();
        let dev = device_key(1);
        let approve = self
            .one(self.reg.approve(
                package,
                version,
                &tgz,
                stage.index,
                &stage.leaf_hash,
                "alice",
                Some(("key-1", &dev)),
                200,
            ))
            .unwrap();
        let publish = self
            .one(
                self.reg
                    .publish(package, version, &tgz, stage.index, approve.index, 300),
            )
            .unwrap();
        [stage, approve, publish]
    }
}

fn leaf_at<S: LogStore>(h: &Harness<S>, i: LeafIndex) -> Leaf {
    Leaf::parse(&h.store.read_leaves(i.0, 1).unwrap()[0]).unwrap()
}

fn sequences_a_release_with_proofs<S: LogStore>(store: S) {
    let mut h = harness(store);
    let dev = device_key(1);
    let reg = h
        .one(
            h.reg
                .device_register("@acme/widget", "alice", "key-1", &dev, 50),
        )
        .unwrap();
    let [stage, approve, publish] = h.release("@acme/widget", "1.0.0");
    assert_eq!(
        [reg.index, stage.index, approve.index, publish.index].map(|i| i.0),
        [0, 1, 2, 3]
    );
    for ack in [&reg, &stage, &approve, &publish] {
        h.check_ack(ack);
        assert!(!ack.duplicate);
    }
    // `prev` chains the package's events.
    assert_eq!(leaf_at(&h, LeafIndex(0)).prev(), None);
    assert_eq!(leaf_at(&h, LeafIndex(3)).prev(), Some(LeafIndex(2)));
    assert_eq!(publish.checkpoint.head().size, TreeSize(4));
}

#[test]
fn sequences_a_release_with_proofs_memory() {
    sequences_a_release_with_proofs(MemoryStore::new());
}

#[test]
fn sequences_a_release_with_proofs_rocksdb() {
    let dir = tempfile::tempdir().unwrap();
    sequences_a_release_with_proofs(RocksStore::open(dir.path()).unwrap());
}

#[test]
fn identical_resubmission_returns_the_existing_entry() {
    let mut h = harness(MemoryStore::new());
    let env = h.reg.publish_direct("left-pad", "1.0.0", b"x", 10);
    let answers = h.commit(vec![env.clone(), env.clone()]);
    let (a, b) = (answers[0].as_ref().unwrap(), answers[1].as_ref().unwrap());
    assert_eq!(a.index, b.index);
    assert!(!a.duplicate && b.duplicate);
    let later = h.one(env).unwrap();
    assert_eq!(later.index, a.index);
    assert!(later.duplicate);
    h.check_ack(&later);
    assert_eq!(h.size(), TreeSize(1));
}

#[test]
fn logged_at_never_goes_backwards() {
    let mut h = harness(MemoryStore::new());
    h.one(h.reg.publish_direct("a", "1.0.0", b"1", 10)).unwrap();
    h.clock.0.store(5, std::sync::atomic::Ordering::SeqCst);
    h.one(h.reg.publish_direct("a", "1.0.1", b"2", 10)).unwrap();
    assert_eq!(leaf_at(&h, LeafIndex(0)).logged_at(), 1_000_000);
    assert_eq!(leaf_at(&h, LeafIndex(1)).logged_at(), 1_000_000);
    assert_eq!(h.store.state().unwrap().clock, 1_000_000);
}

#[test]
fn bad_references_are_refused_and_change_nothing() {
    bad_references_are_refused(false);
}

#[test]
fn bad_references_are_refused_from_the_store_after_a_restart() {
    // A new sequencer remembers nothing: every check reads the store.
    bad_references_are_refused(true);
}

fn bad_references_are_refused(restart: bool) {
    let mut h = harness(MemoryStore::new());
    let dev = device_key(1);
    h.one(
        h.reg
            .device_register("@acme/widget", "alice", "key-1", &dev, 50),
    )
    .unwrap();
    let [stage, approve, _] = h.release("@acme/widget", "1.0.0");
    if restart {
        h.restart();
    }
    let before = (h.size(), h.seq.published.get().to_bytes());
    let tgz = b"@acme/widget-1.0.0";
    let cases = [
        // Dangling: no entry 99.
        h.reg.approve(
            "@acme/widget",
            "1.0.0",
            tgz,
            LeafIndex(99),
            &stage.leaf_hash,
            "alice",
            None,
            1,
        ),
        // Points at the stage of another version.
        h.reg.approve(
            "@acme/widget",
            "2.0.0",
            tgz,
            stage.index,
            &stage.leaf_hash,
            "alice",
            None,
            1,
        ),
        // Another tarball than the one staged.
        h.reg.approve(
            "@acme/widget",
            "1.0.0",
            b"other",
            stage.index,
            &stage.leaf_hash,
            "alice",
            None,
            1,
        ),
        // `approve` field pointing at a stage event.
        h.reg
            .publish("@acme/widget", "1.0.0", tgz, stage.index, stage.index, 1),
        // `stage` field pointing at an approve event.
        h.reg.publish(
            "@acme/widget",
            "1.0.0",
            tgz,
            approve.index,
            approve.index,
            1,
        ),
        // A signature by another key than the registered device's.
        h.reg.approve(
            "@acme/widget",
            "1.0.0",
            tgz,
            stage.index,
            &stage.leaf_hash,
            "alice",
            Some(("key-1", &device_key(9))),
            1,
        ),
    ];
    for env in cases {
        let answer = h.one(env);
        assert!(
            matches!(answer, Err(SubmitError::Reference(_))),
            "{answer:?}"
        );
    }
    assert_eq!((h.size(), h.seq.published.get().to_bytes()), before);
    // A publish without approval is a fact the log records.
    assert!(
        h.one(h.reg.publish_direct("@acme/widget", "1.0.1", b"evil", 1))
            .is_ok()
    );
}

/// A device check made before sequencing counts only for the stage hash and
/// key it was made with: a forged one for another key, or one made before
/// the device was registered again, is checked anew.
#[test]
fn device_checks_made_ahead_count_only_for_the_current_key() {
    let mut h = harness(MemoryStore::new());
    let (old, new) = (device_key(1), device_key(2));
    h.one(
        h.reg
            .device_register("@acme/widget", "alice", "key-1", &old, 50),
    )
    .unwrap();
    let tgz = b"@acme/widget-1.0.0";
    let stage = h
        .one(
            h.reg
                .stage("@acme/widget", "1.0.0", tgz, "acme/widget", 100),
        )
        .unwrap();
    let approve = |key| {
        h.reg.approve(
            "@acme/widget",
            "1.0.0",
            tgz,
            stage.index,
            &stage.leaf_hash,
            "alice",
            Some(("key-1", key)),
            200,
        )
    };
    let (by_old, by_new) = (approve(&old), approve(&new));
    // The cache lets a handler check the approval by the registered key.
    let event = Event::from_envelope(&by_old).unwrap();
    let ahead = precheck::precheck(&h.seq.cache, &event).expect("stage and key are cached");
    assert!(ahead.valid);
    // A check claiming validity for a key the log does not hold is ignored.
    let forged = DeviceCheck {
        key: new.verifying_key().to_bytes(),
        ..ahead
    };
    assert!(matches!(
        h.one_prechecked(by_new.clone(), Some(forged)),
        Err(SubmitError::Reference(
            ReferenceError::BadDeviceSignature { .. }
        ))
    ));
    // The device is registered again with the new key: the check made
    // ahead with the old key no longer applies, and the old key's
    // signature is refused.
    h.one(
        h.reg
            .device_register("@acme/widget", "alice", "key-1", &new, 150),
    )
    .unwrap();
    assert!(matches!(
        h.one_prechecked(by_old, Some(ahead)),
        Err(SubmitError::Reference(
            ReferenceError::BadDeviceSignature { .. }
        ))
    ));
    let event = Event::from_envelope(&by_new).unwrap();
    let fresh = precheck::precheck(&h.seq.cache, &event).unwrap();
    assert!(fresh.valid);
    h.one_prechecked(by_new, Some(fresh)).unwrap();
}

/// Every write step fails both ways; afterwards the log keeps working,
/// restarts cleanly, and every acknowledged entry is present and proven.
#[test]
fn storage_faults_never_lose_acknowledged_entries() {
    let steps: [(&str, Fault); 4] = [
        ("append", Fault::FailNotPersisted),
        ("append", Fault::FailPersisted),
        ("checkpoint", Fault::FailNotPersisted),
        ("checkpoint", Fault::FailPersisted),
    ];
    for (step, fault) in steps {
        let dir = tempfile::tempdir().unwrap();
        let mut h = harness(FaultyStore::new(RocksStore::open(dir.path()).unwrap()));
        let mut acked = Vec::new();
        for i in 0..3 {
            acked.push(
                h.one(h.reg.publish_direct("a", &format!("1.0.{i}"), b"x", 1))
                    .unwrap(),
            );
        }
        let signed_before = h.seq.published.get().head();
        match step {
            "append" => h.store.fail_next_append(fault),
            _ => h.store.fail_next_checkpoint(fault),
        }
        let failed = h.one(h.reg.publish_direct("a", "2.0.0", b"y", 1));
        assert!(
            matches!(failed, Err(SubmitError::Storage(_))),
            "{step} {fault:?}: {failed:?}"
        );
        // Nothing new was published to readers.
        assert_eq!(
            h.seq.published.get().head(),
            signed_before,
            "{step} {fault:?}"
        );
        // The log goes on: a retry of the same envelope and a new one succeed.
        let retried = h.one(h.reg.publish_direct("a", "2.0.0", b"y", 1)).unwrap();
        acked.push(retried);
        acked.push(h.one(h.reg.publish_direct("a", "3.0.0", b"z", 1)).unwrap());
        let size = h.size();
        assert_eq!(
            size,
            TreeSize(5),
            "{step} {fault:?}: no hole and no double entry"
        );
        for a in &acked {
            h.check_ack(a);
        }
        // A restart agrees with what was signed.
        let store = &h.store.inner;
        let cp = recover(store, &h.key, &Origin::new(ORIGIN).unwrap()).unwrap();
        assert_eq!(cp.head().size, size);
        assert_eq!(cp.head().root, acked.last().unwrap().checkpoint.head().root);
    }
}

#[test]
fn a_crash_between_write_and_sign_is_signed_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut h = harness(FaultyStore::new(RocksStore::open(dir.path()).unwrap()));
        h.one(h.reg.publish_direct("a", "1.0.0", b"x", 1)).unwrap();
        h.store.fail_next_checkpoint(Fault::FailNotPersisted);
        assert!(h.one(h.reg.publish_direct("a", "1.0.1", b"y", 1)).is_err());
        // "Crash": drop everything with the entry durable but unsigned.
    }
    let store = RocksStore::open(dir.path()).unwrap();
    assert_eq!(store.state().unwrap().size, TreeSize(2));
    assert_eq!(store.latest_checkpoint().unwrap().unwrap().0, TreeSize(1));
    let cp = recover(&store, &key(), &Origin::new(ORIGIN).unwrap()).unwrap();
    assert_eq!(cp.head().size, TreeSize(2));
    assert_eq!(store.latest_checkpoint().unwrap().unwrap().0, TreeSize(2));
}

/// A log over a fault-injecting RocksDB store, driven like a client that
/// resubmits until it gets an acknowledgement, and restarted like an
/// operator would when the sequencer stops or startup refuses.
struct FaultRun {
    store: Arc<FaultyStore<RocksStore>>,
    seq: Option<Sequencer<FaultyStore<RocksStore>>>,
    clock: Arc<ManualClock>,
    reg: SampleRegistry,
    /// Times the sequencer stopped and the log was started again.
    restarts: u32,
    /// Starts refused by the startup check.
    refused_starts: u32,
    _dir: tempfile::TempDir,
}

impl FaultRun {
    /// A new log; `arm` injects faults before anything runs, so startup's
    /// own store calls can fail too.
    fn new(arm: impl FnOnce(&FaultyStore<RocksStore>)) -> FaultRun {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(FaultyStore::new(RocksStore::open(dir.path()).unwrap()));
        arm(&store);
        let mut run = FaultRun {
            store,
            seq: None,
            clock: Arc::new(ManualClock(AtomicU64::new(1_000_000))),
            reg: SampleRegistry::new("registry.example", 1),
            restarts: 0,
            refused_starts: 0,
            _dir: dir,
        };
        run.start();
        run
    }

    /// Starts the log: the startup check, then a sequencer. A start that
    /// fails (loudly: an error, nothing signed) is tried again, as a
    /// supervisor would.
    fn start(&mut self) {
        for _ in 0..10 {
            let origin = Origin::new(ORIGIN).unwrap();
            let started = Log::with_store(self.store.clone(), key(), KeySource::File, origin)
                .map_err(|e| e.to_string())
                .and_then(|log| {
                    Sequencer::new(
                        self.store.clone(),
                        key(),
                        log.origin.clone(),
                        self.clock.clone(),
                        log.published.clone(),
                        Arc::new(Metrics::new()),
                    )
                    .map_err(|e| e.to_string())
                });
            match started {
                Ok(seq) => {
                    self.seq = Some(seq);
                    self.check_durable(None);
                    return;
                }
                Err(_) => self.refused_starts += 1,
            }
        }
        panic!("the log did not start after 10 tries");
    }

    /// Submits `env` until it is acknowledged, restarting the log when the
    /// sequencer stops; checks every answer.
    fn submit(&mut self, env: &Envelope) -> Accepted {
        for _ in 0..10 {
            let (reply, rx) = oneshot::channel();
            let event = Event::from_envelope(env).unwrap();
            let sub = Submission::new(env.clone(), event, reply);
            let seq = self.seq.as_mut().unwrap();
            let fatal = seq.commit(vec![sub]).is_err();
            // A dropped reply is an error answer too (the HTTP side says `stopped`).
            let answer = rx.blocking_recv().unwrap_or(Err(SubmitError::Stopped));
            if answer.is_ok() {
                assert!(
                    !fatal,
                    "an acknowledgement from a batch whose commit failed"
                );
            }
            self.check_durable(answer.as_ref().ok());
            if fatal {
                // The sequencer stopped loudly; the operator restarts the log.
                self.seq = None;
                self.restarts += 1;
                self.start();
            }
            match answer {
                Ok(ack) => return ack,
                Err(SubmitError::Storage(_) | SubmitError::Stopped) => continue,
                Err(other) => panic!("a storage fault turned into {other:?}"),
            }
        }
        panic!("not acknowledged after 10 tries");
    }

    /// Never sign what is not durable, never acknowledge what is not
    /// signed: the stored checkpoint covers a durable tree with its root,
    /// readers see nothing newer, and an acknowledgement is proven in a
    /// checkpoint no newer than the stored one, for the entry stored.
    fn check_durable(&self, ack: Option<&Accepted>) {
        let inner = &self.store.inner;
        let (size, note) = inner.latest_checkpoint().unwrap().unwrap();
        let signed = checkpoint::open(&note, &key().verifier()).unwrap();
        assert_eq!(signed.head().size, size);
        assert!(
            inner.state().unwrap().size >= size,
            "signed beyond the stored tree"
        );
        let root_at = |size: TreeSize| {
            root_from_nodes(size, &inner.read_hashes(&root_nodes(size)).unwrap()).unwrap()
        };
        assert_eq!(
            root_at(size),
            signed.head().root,
            "signed a tree the store does not hold"
        );
        if let Some(seq) = &self.seq {
            let published = seq.published.get().head();
            assert!(
                published.size <= size,
                "readers see an undurable checkpoint"
            );
            assert_eq!(root_at(published.size), published.root);
        }
        if let Some(ack) = ack {
            let acked = checkpoint::open(&ack.checkpoint.to_bytes(), &key().verifier()).unwrap();
            assert!(
                acked.head().size <= size,
                "acknowledged in an unstored checkpoint"
            );
            verify_inclusion(&ack.leaf_hash, &ack.proof, &acked.head()).unwrap();
            let leaf = inner.read_leaves(ack.index.0, 1).unwrap().pop().unwrap();
            assert_eq!(gatelog_core::leaf_hash(&leaf), ack.leaf_hash);
        }
    }

    /// A device, a staged, approved and published release, a direct
    /// publish, and a replay of the stage: six submissions, five entries.
    fn scenario(&mut self) -> TreeHead {
        let dev = device_key(1);
        let pkg = "@acme/widget";
        let tgz = b"widget-1.0.0";
        self.submit(&self.reg.device_register(pkg, "alice", "key-1", &dev, 50));
        let stage_env = self.reg.stage(pkg, "1.0.0", tgz, "acme/widget", 100);
        let stage = self.submit(&stage_env);
        let approve = self.submit(&self.reg.approve(
            pkg,
            "1.0.0",
            tgz,
            stage.index,
            &stage.leaf_hash,
            "alice",
            Some(("key-1", &dev)),
            200,
        ));
        self.submit(
            &self
                .reg
                .publish(pkg, "1.0.0", tgz, stage.index, approve.index, 300),
        );
        self.submit(&self.reg.publish_direct("left-pad", "1.3.0", b"lp", 400));
        let replay = self.submit(&stage_env);
        assert!(replay.duplicate && replay.index == stage.index);
        // After a clean restart the log is exactly what it signed.
        let recovered = recover(&self.store.inner, &key(), &Origin::new(ORIGIN).unwrap()).unwrap();
        assert_eq!(
            recovered.head().size,
            TreeSize(5),
            "no entry lost or logged twice"
        );
        recovered.head()
    }
}

/// Every store call of a whole scenario — startup, lookups, reference
/// reads, the write, the root check, signing, the acknowledgements — fails
/// in turn: reads fail, writes fail without persisting and after
/// persisting, and each write failure is also followed by a second failure
/// of the next state read, hash read, checkpoint read or checkpoint write
/// (a reload or a restart that fails again). Each run must keep every
/// invariant of `check_durable` after every answer, and end with exactly
/// the tree of the run without faults.
#[test]
fn every_store_call_of_a_scenario_fails_in_turn_and_the_log_ends_the_same() {
    let mut clean = FaultRun::new(|_| {});
    let expected = clean.scenario();
    assert_eq!((clean.restarts, clean.refused_starts), (0, 0));
    let calls: Vec<(Op, u64)> = Op::ALL
        .iter()
        .map(|&op| (op, clean.store.calls(op)))
        .collect();
    let mut plans = Vec::new();
    for &(op, count) in &calls {
        for n in 1..=count {
            let kinds: &[Fault] = if op.writes() {
                &[Fault::FailNotPersisted, Fault::FailPersisted]
            } else {
                &[Fault::FailNotPersisted]
            };
            for &fault in kinds {
                plans.push((op, n, fault, None));
                if op.writes() {
                    for then in [
                        Op::State,
                        Op::ReadHashes,
                        Op::LatestCheckpoint,
                        Op::PutCheckpoint,
                    ] {
                        plans.push((op, n, fault, Some((then, Fault::FailNotPersisted))));
                    }
                }
            }
        }
    }
    let (mut injected, mut restarts, mut refused) = (0, 0, 0);
    for &(op, n, fault, then) in &plans {
        let mut run = FaultRun::new(|s| s.fail_call_then(op, n, fault, then));
        let head = run.scenario();
        let case = format!("{op:?} call {n} {fault:?} then {then:?}");
        // The second fault fires only if its operation is called again.
        assert!(run.store.fired() >= 1, "{case}: the fault never fired");
        assert_eq!(head, expected, "{case}: the log ended in another state");
        injected += run.store.fired();
        restarts += run.restarts;
        refused += run.refused_starts;
    }
    eprintln!(
        "storage faults: {injected} faults injected in {} runs over {} store calls \
         ({calls:?}); {restarts} sequencer stops, {refused} refused starts; every run \
         ended with the fault-free tree",
        plans.len(),
        calls.iter().map(|c| c.1).sum::<u64>()
    );
}
