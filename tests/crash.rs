//! Crash test with the real binary: writers submit over HTTP while the
//! server is killed with SIGKILL at random moments, round after round. After
//! each restart: the server came back on its own, every acknowledged entry
//! is present with a valid inclusion proof, every checkpoint ever handed out
//! is consistent with the latest, and `logged_at` never went backwards.
//!
//! Rounds: `GATELOG_CRASH_ROUNDS` (default 6, as in CI; set it to 50 or more
//! for a long run).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_core::keys::{SignatureType, SignerKey};
use gatelog_core::merkle::{verify_consistency, verify_inclusion};
use gatelog_core::sample::SampleRegistry;
use gatelog_core::{
    ConsistencyProof, Hash, InclusionProof, Leaf, LeafIndex, SignedCheckpoint, TreeSize,
    checkpoint, leaf_hash,
};
use gatelog_e2e::{Server, http_get, http_post};
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

fn hash(v: &Value) -> Hash {
    Hash::from_hex(v.as_str().expect("hex string")).expect("hash")
}

fn get_json(addr: SocketAddr, path: &str) -> Value {
    let (status, body) = http_get(addr, path);
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("JSON")
}

/// Submits batches until the server stops answering; records every ack.
fn writer(
    addr: SocketAddr,
    reg: Arc<SampleRegistry>,
    next: Arc<AtomicU64>,
    acks: Arc<Mutex<Vec<Ack>>>,
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
        let Ok((200, bytes)) = http_post(addr, "/v1/entries/batch", body.as_bytes()) else {
            return;
        };
        let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
            return;
        };
        let mut acks = acks.lock().expect("acks");
        for r in v["results"].as_array().into_iter().flatten() {
            if let Some(index) = r["index"].as_u64() {
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
    }
}

/// Checks after a restart. `new_acks` are the acknowledgements of the last
/// round; older ones are covered by induction: they were proven in an
/// earlier round's checkpoint, which is proven consistent with this one.
fn verify_round(
    addr: SocketAddr,
    key: &SignerKey,
    new_acks: &[Ack],
    previous: Option<&SignedCheckpoint>,
    last_logged_at: &mut u64,
    checked_upto: &mut u64,
) -> SignedCheckpoint {
    let vkey = key.verifier();
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
    if let Some(prev) = previous {
        consistent_with_latest(prev);
    }
    let mut seen: Vec<&[u8]> = Vec::new();
    for ack in new_acks {
        // The acknowledgement itself was a valid proof in a signed checkpoint…
        let acked_cp =
            checkpoint::open(&ack.checkpoint, &vkey).expect("handed-out checkpoint verifies");
        let acked_proof = InclusionProof {
            index: LeafIndex(ack.index),
            tree_size: acked_cp.head().size,
            path: ack.proof_path.clone(),
        };
        verify_inclusion(&ack.leaf_hash, &acked_proof, &acked_cp.head())
            .expect("acknowledgement proves inclusion");
        if !seen.contains(&ack.checkpoint.as_slice()) {
            seen.push(&ack.checkpoint);
            // …and every checkpoint handed out is consistent with the latest.
            consistent_with_latest(&acked_cp);
        }
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
    // logged_at never goes backwards, across all restarts.
    for i in *checked_upto..head.size.0 {
        let e = get_json(addr, &format!("/v1/entries/{i}"));
        let bytes = STANDARD
            .decode(e["leaf"].as_str().expect("leaf"))
            .expect("base64");
        assert_eq!(leaf_hash(&bytes), hash(&e["leaf_hash"]));
        let leaf = Leaf::parse(&bytes).expect("leaf parses");
        assert!(
            leaf.logged_at() >= *last_logged_at,
            "logged_at went backwards at {i}"
        );
        *last_logged_at = leaf.logged_at();
    }
    *checked_upto = head.size.0;
    latest
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_entry() {
    let rounds: u64 = std::env::var("GATELOG_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(6);
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
    let acks = Arc::new(Mutex::new(Vec::new()));
    let (mut last_logged_at, mut checked_upto) = (0, 0);
    let mut previous: Option<SignedCheckpoint> = None;
    let mut total = 0;
    let mut flush = |addr, previous: &mut Option<SignedCheckpoint>, total: &mut usize| {
        let new_acks = std::mem::take(&mut *acks.lock().expect("acks"));
        *total += new_acks.len();
        let latest = verify_round(
            addr,
            &key,
            &new_acks,
            previous.as_ref(),
            &mut last_logged_at,
            &mut checked_upto,
        );
        *previous = Some(latest);
    };
    for _ in 0..rounds {
        // The server must come back by itself after every kill.
        let server = Server::start_with(dir.path(), ORIGIN, &flags);
        flush(server.addr, &mut previous, &mut total);
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let (reg, next, acks, stop) =
                    (reg.clone(), next.clone(), acks.clone(), stop.clone());
                let addr = server.addr;
                std::thread::spawn(move || writer(addr, reg, next, acks, stop))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(150 + rng.next() % 900));
        server.kill9();
        stop.store(true, Ordering::SeqCst);
        for w in writers {
            w.join().expect("writer");
        }
    }
    let server = Server::start_with(dir.path(), ORIGIN, &flags);
    flush(server.addr, &mut previous, &mut total);
    let size = previous.map(|p| p.head().size).unwrap_or(TreeSize(0));
    assert!(total > 0, "the writers got entries acknowledged");
    assert!(size.0 >= total as u64);
    eprintln!("{rounds} kill -9 rounds: {total} acknowledged entries, final tree size {size}");
}
