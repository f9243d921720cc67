//! Crash test with the real binary: writers submit over HTTP and a reader
//! polls `GET /checkpoint` while the server is killed with SIGKILL at random
//! moments, round after round. After each restart:
//!
//! - the server came back on its own (no manual repair);
//! - every acknowledged entry is present, with its leaf hash unchanged and
//!   a valid inclusion proof in the latest checkpoint;
//! - every checkpoint ever handed out (in an acknowledgement or by
//!   `GET /checkpoint`) verifies and is consistent with the latest;
//! - `logged_at` never went backwards, and no envelope was logged twice,
//!   although the batch in flight at each kill is sent again after the
//!   restart (resubmission is the documented answer to a lost reply).
//!
//! Rounds: `GATELOG_CRASH_ROUNDS` (default 6, as in CI; `make crash-loop`
//! runs 50). The test prints a summary line at the end.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_core::keys::{SignatureType, SignerKey};
use gatelog_core::merkle::{verify_consistency, verify_inclusion};
use gatelog_core::{
    ConsistencyProof, Hash, InclusionProof, Leaf, LeafIndex, SignedCheckpoint, TreeSize,
    checkpoint, leaf_hash,
};
use gatelog_e2e::{Server, http_get, http_post};
use gatelog_lab::sample::SampleRegistry;
use serde_json::Value;

const ORIGIN: &str = "crash.gatelog.test/log";

/// A tiny deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// One acknowledged entry, as its submitter saw it.
#[derive(Clone)]
struct Ack {
    index: u64,
    leaf_hash: Hash,
    proof_path: Vec<Hash>,
    checkpoint: Vec<u8>,
}

/// What the writers and the reader of one round share.
#[derive(Default)]
struct Round {
    acks: Mutex<Vec<Ack>>,
    /// Checkpoint notes served by `GET /checkpoint` during the round.
    served: Mutex<HashSet<Vec<u8>>>,
    /// Batches whose answer was lost to the kill: sent again next round.
    in_flight: Mutex<Vec<String>>,
}

/// Totals for the summary line.
#[derive(Default)]
struct Totals {
    acks: usize,
    checkpoints: usize,
    entries: u64,
    resubmitted: usize,
    duplicates: usize,
}

fn hash(v: &Value) -> Hash {
    Hash::from_hex(v.as_str().expect("hex string")).expect("hash")
}

fn get_json(addr: SocketAddr, path: &str) -> Value {
    let (status, body) = http_get(addr, path);
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("JSON")
}

/// Records the acknowledgements of a batch answer; counts duplicates.
fn record(round: &Round, v: &Value) -> usize {
    let mut duplicates = 0;
    let mut acks = round.acks.lock().expect("acks");
    for r in v["results"].as_array().into_iter().flatten() {
        if let Some(index) = r["index"].as_u64() {
            duplicates += usize::from(r["duplicate"] == true);
            acks.push(Ack {
                index,
                leaf_hash: hash(&r["leaf_hash"]),
                proof_path: r["inclusion_proof"]["path"]
                    .as_array()
                    .expect("path")
                    .iter()
                    .map(hash)
                    .collect(),
                checkpoint: r["checkpoint"]["note"]
                    .as_str()
                    .expect("note")
                    .as_bytes()
                    .to_vec(),
            });
        }
    }
    duplicates
}

/// Submits batches until the server stops answering; records every ack,
/// and the batch whose answer was lost.
fn writer(
    addr: SocketAddr,
    reg: Arc<SampleRegistry>,
    next: Arc<AtomicU64>,
    round: Arc<Round>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::SeqCst) {
        let first = next.fetch_add(20, Ordering::SeqCst);
        let body = format!(
            "[{}]",
            (first..first + 20)
                .map(|n| {
                    let env = reg.publish_direct(
                        &format!("pkg-{}", n % 7),
                        &format!("1.0.{n}"),
                        &n.to_le_bytes(),
                        1_700_000_000,
                    );
                    String::from_utf8(env.to_json()).expect("utf8")
                })
                .collect::<Vec<_>>()
                .join(",")
        );
        let answer = http_post(addr, "/v1/entries/batch", body.as_bytes());
        let Some(v) = answer
            .ok()
            .filter(|(status, _)| *status == 200)
            .and_then(|(_, bytes)| serde_json::from_slice::<Value>(&bytes).ok())
        else {
            round.in_flight.lock().expect("in flight").push(body);
            return;
        };
        record(&round, &v);
    }
}

/// Polls `GET /checkpoint` and keeps every distinct note served.
fn reader(addr: SocketAddr, round: Arc<Round>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        match gatelog_e2e::http_request(addr, "GET", "/checkpoint", &[]) {
            Ok((200, body)) => {
                round.served.lock().expect("served").insert(body);
            }
            _ => return,
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends the batches cut off by the last kill again; each envelope must
/// come back logged exactly once (as new or as a duplicate).
fn resubmit(addr: SocketAddr, batches: Vec<String>, round: &Round, totals: &mut Totals) {
    for body in batches {
        let (status, bytes) =
            http_post(addr, "/v1/entries/batch", body.as_bytes()).expect("resubmission answered");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
        let v: Value = serde_json::from_slice(&bytes).expect("JSON");
        let results = v["results"].as_array().expect("results");
        assert!(
            results.iter().all(|r| r["index"].is_u64()),
            "a resubmitted envelope was refused: {v}"
        );
        totals.resubmitted += results.len();
        totals.duplicates += record(round, &v);
    }
}

/// The checks of one restart, carried from round to round.
struct Checker {
    key: SignerKey,
    previous: Option<SignedCheckpoint>,
    last_logged_at: u64,
    checked_upto: u64,
    envelopes: HashSet<Hash>,
}

impl Checker {
    /// `acks` and `served` are from the last round; older ones are covered
    /// by induction: they were proven in an earlier round's latest
    /// checkpoint, which is proven consistent with this one.
    fn verify(&mut self, addr: SocketAddr, round: &Round, totals: &mut Totals) {
        let vkey = self.key.verifier();
        let (_, body) = http_get(addr, "/checkpoint");
        let latest = checkpoint::open(&body, &vkey).expect("latest checkpoint verifies");
        let head = latest.head();
        let consistent_with_latest = |old: &SignedCheckpoint| {
            let old = old.head();
            assert!(
                old.size <= head.size,
                "the log shrank from {} to {}",
                old.size,
                head.size
            );
            let c = get_json(addr, &format!("/v1/proofs/consistency?old={}", old.size));
            let proof = ConsistencyProof {
                old_size: old.size,
                new_size: head.size,
                path: c["path"]
                    .as_array()
                    .expect("path")
                    .iter()
                    .map(hash)
                    .collect(),
            };
            verify_consistency(&old, &head, &proof).expect("checkpoints are consistent");
        };
        let mut notes: HashSet<Vec<u8>> = std::mem::take(&mut *round.served.lock().expect("s"));
        let acks = std::mem::take(&mut *round.acks.lock().expect("acks"));
        notes.extend(acks.iter().map(|a| a.checkpoint.clone()));
        if let Some(prev) = &self.previous {
            notes.insert(prev.to_bytes());
        }
        for note in &notes {
            let cp = checkpoint::open(note, &vkey).expect("handed-out checkpoint verifies");
            consistent_with_latest(&cp);
        }
        totals.checkpoints += notes.len();
        for ack in &acks {
            // The acknowledgement itself was a valid proof in a signed checkpoint…
            let acked_cp = checkpoint::open(&ack.checkpoint, &vkey).expect("verified above");
            let acked_proof = InclusionProof {
                index: LeafIndex(ack.index),
                tree_size: acked_cp.head().size,
                path: ack.proof_path.clone(),
            };
            verify_inclusion(&ack.leaf_hash, &acked_proof, &acked_cp.head())
                .expect("acknowledgement proves inclusion");
            // …and the entry is still there, proven against the latest.
            let e = get_json(addr, &format!("/v1/proofs/inclusion?index={}", ack.index));
            assert_eq!(
                hash(&e["leaf_hash"]),
                ack.leaf_hash,
                "entry {} changed",
                ack.index
            );
            let proof = InclusionProof {
                index: LeafIndex(ack.index),
                tree_size: head.size,
                path: e["inclusion_proof"]["path"]
                    .as_array()
                    .expect("path")
                    .iter()
                    .map(hash)
                    .collect(),
            };
            verify_inclusion(&ack.leaf_hash, &proof, &head).expect("acknowledged entry is proven");
        }
        totals.acks += acks.len();
        // Every new entry: logged_at never goes backwards, no envelope twice.
        for i in self.checked_upto..head.size.0 {
            let e = get_json(addr, &format!("/v1/entries/{i}"));
            let bytes = STANDARD
                .decode(e["leaf"].as_str().expect("leaf"))
                .expect("base64");
            assert_eq!(leaf_hash(&bytes), hash(&e["leaf_hash"]));
            let leaf = Leaf::parse(&bytes).expect("leaf parses");
            assert!(
                leaf.logged_at() >= self.last_logged_at,
                "logged_at went backwards at {i}"
            );
            self.last_logged_at = leaf.logged_at();
            assert!(
                self.envelopes
                    .insert(Hash::sha256(&leaf.envelope().to_json())),
                "entry {i} logs an envelope that is already in the log"
            );
        }
        totals.entries = head.size.0;
        self.checked_upto = head.size.0;
        self.previous = Some(latest);
    }
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_entry() {
    let rounds: u64 = std::env::var("GATELOG_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(6);
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, &[42; 32]).expect("key");
    std::fs::write(dir.path().join("log.key"), key.to_private_text()).expect("write key");
    let reg = Arc::new(SampleRegistry::new("registry.example", 3));
    let vkey = reg.verifier_key().to_string();
    let flags = [
        "--submitter-key",
        vkey.as_str(),
        "--batch-interval-ms",
        "20",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let next = Arc::new(AtomicU64::new(0));
    let mut checker = Checker {
        key,
        previous: None,
        last_logged_at: 0,
        checked_upto: 0,
        envelopes: HashSet::new(),
    };
    let mut totals = Totals::default();
    let mut round = Arc::new(Round::default());
    for _ in 0..rounds {
        // The server must come back by itself after every kill.
        let server = Server::start_with(dir.path(), ORIGIN, &flags);
        let cut_off = std::mem::take(&mut *round.in_flight.lock().expect("in flight"));
        resubmit(server.addr, cut_off, &round, &mut totals);
        checker.verify(server.addr, &round, &mut totals);
        round = Arc::new(Round::default());
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads: Vec<_> = (0..2)
            .map(|_| {
                let (reg, next, round, stop) =
                    (reg.clone(), next.clone(), round.clone(), stop.clone());
                let addr = server.addr;
                std::thread::spawn(move || writer(addr, reg, next, round, stop))
            })
            .collect();
        threads.push({
            let (round, stop, addr) = (round.clone(), stop.clone(), server.addr);
            std::thread::spawn(move || reader(addr, round, stop))
        });
        std::thread::sleep(Duration::from_millis(150 + rng.next() % 900));
        server.kill9();
        stop.store(true, Ordering::SeqCst);
        for t in threads {
            t.join().expect("writer or reader");
        }
    }
    let server = Server::start_with(dir.path(), ORIGIN, &flags);
    let cut_off = std::mem::take(&mut *round.in_flight.lock().expect("in flight"));
    resubmit(server.addr, cut_off, &round, &mut totals);
    checker.verify(server.addr, &round, &mut totals);
    let size = checker
        .previous
        .as_ref()
        .map_or(TreeSize(0), |p| p.head().size);
    assert!(totals.acks > 0, "the writers got entries acknowledged");
    assert_eq!(size.0, totals.entries);
    eprintln!(
        "crash loop: {rounds} rounds, {rounds} kill -9, {} starts without help; \
         {} acknowledgements verified; {} cut-off envelopes resubmitted, {} of them \
         already logged; {} distinct checkpoints proven consistent with the latest; \
         {} entries checked (logged_at monotonic, no envelope twice); {:.0} s",
        rounds + 1,
        totals.acks,
        totals.resubmitted,
        totals.duplicates,
        totals.checkpoints,
        totals.entries,
        started.elapsed().as_secs_f64()
    );
}
