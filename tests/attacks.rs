//! The attacks of the security review (issue: replayed events, writes into
//! another registry's packages, bundle amplification, unbounded work before
//! authentication, uncheckable approvals), each tried against the real
//! server over real HTTP. Each test asserts the status, the error code, and
//! that the log's tree did not change where nothing may be logged.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_core::dsse::Signature;
use gatelog_core::event::DeviceKind;
use gatelog_core::{Envelope, Hash, Integrity, Leaf, LeafIndex};
use gatelog_e2e::{Server, TestLog, http_get, http_post, log_key};
use gatelog_lab::sample::{Approval, SampleDevice, SampleRegistry};
use serde_json::Value;

fn post(log: &TestLog, path: &str, body: &[u8]) -> (u16, Value) {
    let (status, bytes) = http_post(log.server.addr, path, body).expect("post");
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, v)
}

fn size(log: &TestLog) -> u64 {
    let (_, body) = http_get(log.server.addr, "/healthz");
    let v: Value = serde_json::from_slice(&body).expect("healthz JSON");
    v["tree_size"].as_u64().expect("tree_size")
}

/// The envelope logged at `index`, as stored.
fn logged_envelope(log: &TestLog, index: LeafIndex) -> Envelope {
    let (status, body) = http_get(log.server.addr, &format!("/v1/entries/{}", index.0));
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).expect("entry JSON");
    let leaf = STANDARD
        .decode(v["leaf"].as_str().expect("leaf"))
        .expect("base64");
    Leaf::parse(&leaf).expect("leaf").envelope().clone()
}

#[test]
fn a_logged_event_with_other_signatures_is_the_same_entry() {
    let log = TestLog::start("attacks-replay.gatelog.test/log");
    let device = SampleDevice::signing("key-1", DeviceKind::Ed25519, 7);
    let (registered, _) = log.submit(&log.reg.register("pkg", "alice", &device, 1_000));
    let (revoked, _) = log.submit(&log.reg.revoke("pkg", "alice", &device, 2_000));
    let before = size(&log);

    // Anyone can read the old registration and append signatures to it.
    let old = logged_envelope(&log, registered);
    let own = old.signatures[0].clone();
    let replays = [
        (
            "unknown keyid",
            vec![own.clone(), sig("not-a-key", &[0xAA; 64])],
        ),
        ("the own signature twice", vec![own.clone(), own.clone()]),
        (
            "an empty signature of no key first",
            vec![sig("x", &[]), own.clone()],
        ),
        (
            "4 KiB of padding",
            vec![own.clone(), sig("pad", &[0u8; 4096])],
        ),
    ];
    for (what, signatures) in replays {
        let replay = Envelope {
            signatures,
            ..old.clone()
        };
        let (status, v) = post(&log, "/v1/entries", &replay.to_json());
        assert_eq!(status, 200, "{what}: {v}");
        assert_eq!(v["duplicate"], true, "{what}: {v}");
        assert_eq!(v["index"], registered.0, "{what}: {v}");
        assert_eq!(size(&log), before, "{what}: nothing may be appended");
    }
    // The revocation still stands: the log holds no key for the device.
    assert!(revoked > registered);

    // A first submission with extra signatures is stored with only the
    // signature that verified.
    let fresh = log.reg.publish_direct("pkg", "1.0.0", b"tarball", 3_000);
    let padded = Envelope {
        signatures: vec![
            fresh.signatures[0].clone(),
            sig("pad", &[1u8; 2048]),
            fresh.signatures[0].clone(),
        ],
        ..fresh.clone()
    };
    let (status, v) = post(&log, "/v1/entries", &padded.to_json());
    assert_eq!(status, 201, "{v}");
    let stored = logged_envelope(&log, LeafIndex(v["index"].as_u64().unwrap()));
    assert_eq!(stored, fresh, "only the verified signature is stored");
}

fn sig(keyid: &str, bytes: &[u8]) -> Signature {
    Signature {
        keyid: keyid.to_owned(),
        sig: bytes.to_vec(),
    }
}

/// A log that allows two registries, `a.example` and `b.example`.
fn two_registries(origin: &str) -> (TestLog, SampleRegistry) {
    let b = SampleRegistry::new("b.example", 9);
    let bkey = b.verifier_key().to_string();
    let log = TestLog::start_with(origin, &["--submitter-key", &bkey]);
    (log, b)
}

fn bundle(log: &TestLog, registry: &str, package: &str, version: &str) -> Value {
    let (status, body) = http_get(
        log.server.addr,
        &format!("/v1/bundle?registry={registry}&package={package}&version={version}"),
    );
    let v: Value = serde_json::from_slice(&body).expect("bundle JSON");
    assert_eq!(status, 200, "{v}");
    v["bundles"][0].clone()
}

fn entry_events(bundle: &Value) -> Vec<Value> {
    bundle["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let leaf = STANDARD.decode(e["leaf"].as_str().unwrap()).unwrap();
            let leaf = Leaf::parse(&leaf).unwrap();
            serde_json::from_slice(&leaf.envelope().payload).unwrap()
        })
        .collect()
}

#[test]
fn one_registry_cannot_write_into_another_registrys_package() {
    let (log, b) = two_registries("attacks-cross.gatelog.test/log");
    let a = &log.reg;
    // Registry A (registry.example) publishes `shared` directly.
    let (direct, _) = log.submit(&a.publish_direct("shared", "1.0.0", b"a-tarball", 1_000));
    // Registry B logs a whole stage → approve → publish chain for a package
    // of the same name and version, trying to launder A's publish.
    let key = gatelog_lab::sample::device_key(3);
    let (reg, _) = log.submit(&b.device_register("shared", "mallory", "k", &key, 1_100));
    let (stage, stage_hash) = log.submit(&b.stage("shared", "1.0.0", b"a-tarball", "m/r", 1_200));
    let (approve, _) = log.submit(&b.approve(
        "shared",
        "1.0.0",
        b"a-tarball",
        stage,
        &stage_hash,
        "mallory",
        Some(("k", &key)),
        1_300,
    ));
    let (publish, _) =
        log.submit(&b.publish("shared", "1.0.0", b"a-tarball", stage, approve, 1_400));

    // A's bundle holds A's events only.
    let ours = bundle(&log, "registry.example", "shared", "1.0.0");
    let indexes: Vec<u64> = ours["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, vec![direct.0], "{ours}");
    assert_eq!(ours["registry"], "registry.example");
    assert_eq!(ours["chain"]["head"], direct.0);
    // http:// and https:// of one host are the same registry.
    let same = bundle(&log, "http://registry.example", "shared", "1.0.0");
    assert_eq!(same["entries"], ours["entries"]);
    // B's chain is its own: its first event of `shared` has no `prev`.
    let theirs = bundle(&log, "b.example", "shared", "1.0.0");
    assert_eq!(theirs["entries"].as_array().unwrap().len(), 4, "{theirs}");
    let first_b = logged_leaf(&log, reg);
    assert_eq!(first_b.prev(), None, "B's chain must not continue A's");
    for e in entry_events(&theirs) {
        assert_eq!(e["registry"], "https://b.example");
    }
    // And B cannot point at A's entries.
    let (status, v) = post(
        &log,
        "/v1/entries",
        &b.publish(
            "shared",
            "1.0.1",
            b"a-tarball",
            LeafIndex(direct.0),
            LeafIndex(direct.0),
            1_500,
        )
        .to_json(),
    );
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"], "bad_reference");
    assert!(publish > approve);
}

fn logged_leaf(log: &TestLog, index: LeafIndex) -> Leaf {
    let (_, body) = http_get(log.server.addr, &format!("/v1/entries/{}", index.0));
    let v: Value = serde_json::from_slice(&body).unwrap();
    Leaf::parse(&STANDARD.decode(v["leaf"].as_str().unwrap()).unwrap()).unwrap()
}

/// The resident memory of process `pid`, in MiB.
fn rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kib / 1024
}

#[test]
fn the_same_release_asked_many_times_is_answered_once() {
    let log = TestLog::start("attacks-amplify.gatelog.test/log");
    log.submit(&log.reg.publish_direct("big", "1.0.0", b"x", 1_000));
    let one = r#"{"registry":"registry.example","package":"big","version":"1.0.0"}"#;
    let body = format!(r#"{{"releases":[{}]}}"#, vec![one; 5000].join(","));
    let (status, bytes) = http_post(log.server.addr, "/v1/bundles", body.as_bytes()).unwrap();
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["bundles"].as_array().unwrap().len(), 1);
    // One entry's worth of answer, not 5,000.
    assert!(bytes.len() < 8 * 1024, "{} bytes", bytes.len());
    for _ in 0..20 {
        let (status, _) = http_post(log.server.addr, "/v1/bundles", body.as_bytes()).unwrap();
        assert_eq!(status, 200);
    }
    let rss = rss_mib(log.server.pid());
    assert!(
        rss < 256,
        "the server holds {rss} MiB after 21 requests of 5,000 releases"
    );
    let over = format!(r#"{{"releases":[{}]}}"#, vec![one; 5001].join(","));
    let (status, v) = post(&log, "/v1/bundles", over.as_bytes());
    assert_eq!(status, 413, "{v}");
    assert_eq!(v["error"], "too_large");
    let (status, v) = post(
        &log,
        "/v1/bundles",
        br#"{"releases":[{"package":"big","version":"1.0.0"}]}"#,
    );
    assert_eq!(status, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("registry"), "{v}");
}

#[test]
fn approvals_the_log_cannot_check_are_refused() {
    let log = TestLog::start("attacks-approvals.gatelog.test/log");
    let reg = &log.reg;
    let device = SampleDevice::signing("key-1", DeviceKind::Ed25519, 7);
    let stranger = SampleDevice::signing("key-2", DeviceKind::Ed25519, 8);
    log.submit(&reg.register("pkg", "alice", &device, 1_000));
    let integrity = Integrity::of(b"tarball");
    let (stage, stage_hash) = log.submit(&reg.stage("pkg", "1.0.0", b"tarball", "acme/pkg", 1_100));
    macro_rules! approval {
        ($device:expr, $signer:expr) => {
            Approval {
                package: "pkg",
                version: "1.0.0",
                integrity,
                stage,
                stage_leaf_hash: stage_hash,
                maintainer: "alice",
                device: $device,
                signer: $signer,
                context: None,
                time: 1_200,
            }
        };
    }
    let before = size(&log);
    let cases: Vec<(&str, Envelope)> = vec![
        (
            "a signing device without a signature",
            reg.approve_with(&approval!(&device, None)),
        ),
        (
            "a device the log never registered",
            reg.approve_with(&approval!(&stranger, stranger.key.as_ref())),
        ),
        (
            "a signature by another key",
            reg.approve_with(&approval!(&device, stranger.key.as_ref())),
        ),
        (
            "a signature over another stage",
            reg.approve_with(&Approval {
                stage_leaf_hash: Hash::sha256(b"other"),
                ..approval!(&device, device.key.as_ref())
            }),
        ),
    ];
    for (what, envelope) in cases {
        let (status, v) = post(&log, "/v1/entries", &envelope.to_json());
        assert_eq!(status, 400, "{what}: {v}");
        assert_eq!(v["error"], "bad_reference", "{what}: {v}");
        assert_eq!(size(&log), before, "{what}");
    }
    // Revoked: the key no longer counts.
    log.submit(&reg.revoke("pkg", "alice", &device, 1_300));
    let before = size(&log);
    let (status, v) = post(
        &log,
        "/v1/entries",
        &reg.approve_with(&approval!(&device, device.key.as_ref()))
            .to_json(),
    );
    assert_eq!(status, 400, "revoked device: {v}");
    assert!(v["message"].as_str().unwrap().contains("revoked"), "{v}");
    assert_eq!(size(&log), before);
}

#[test]
fn too_long_batches_and_failed_authentication_are_cut_short() {
    let log = TestLog::start_with(
        "attacks-batch.gatelog.test/log",
        &["--auth-failure-rate", "1"],
    );
    let good = log.reg.publish_direct("pkg", "1.0.0", b"x", 1_000);
    let json = String::from_utf8(good.to_json()).unwrap();
    let before = size(&log);
    let over = format!("[{}]", vec![json.as_str(); 1001].join(","));
    let (status, v) = post(&log, "/v1/entries/batch", over.as_bytes());
    assert_eq!(status, 413, "{v}");
    assert!(v["message"].as_str().unwrap().contains("got 1001"), "{v}");
    assert_eq!(size(&log), before);

    // 50 envelopes signed by a key the log does not know use up this
    // address's budget of refused envelopes (burst 10)...
    let stranger = SampleRegistry::new("registry.example", 99);
    let forged = String::from_utf8(
        stranger
            .publish_direct("pkg", "2.0.0", b"y", 1_000)
            .to_json(),
    )
    .unwrap();
    let batch = format!("[{}]", vec![forged.as_str(); 50].join(","));
    let (status, v) = post(&log, "/v1/entries/batch", batch.as_bytes());
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["results"][0]["error"], "unknown_submitter", "{v}");
    // ...so its next write is refused before anything is checked, even a
    // good one, while reads still work.
    let (status, v) = post(&log, "/v1/entries", &good.to_json());
    assert_eq!(status, 429, "{v}");
    assert_eq!(v["error"], "rate_limited");
    assert_eq!(size(&log), before);
    let (status, _) = http_get(log.server.addr, "/checkpoint");
    assert_eq!(status, 200);
}

#[test]
fn slow_headers_are_cut_off_and_excess_requests_are_shed() {
    let dir = tempfile::tempdir().unwrap();
    let origin = "attacks-slow.gatelog.test/log";
    std::fs::write(
        dir.path().join("log.key"),
        log_key(origin).to_private_text(),
    )
    .unwrap();
    let server = Server::start_with(
        dir.path(),
        origin,
        &["--header-timeout-secs", "1", "--max-in-flight", "1"],
    );
    // A client that never finishes its headers is disconnected.
    let mut slow = TcpStream::connect(server.addr).unwrap();
    slow.write_all(b"GET /checkpoint HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "the connection stayed open for {:?}",
        started.elapsed()
    );
    // One request in flight (a body that never arrives) holds the only
    // slot: the next is shed at once with 503 and Retry-After.
    let mut holder = TcpStream::connect(server.addr).unwrap();
    holder
        .write_all(b"POST /v1/entries HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (status, body) = http_get(server.addr, "/checkpoint");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["error"], "busy");
    // Health stays visible.
    let (status, _) = http_get(server.addr, "/healthz");
    assert_eq!(status, 200);
    drop(holder);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(http_get(server.addr, "/checkpoint").0, 200);
}

#[test]
fn reads_past_an_addresss_rate_get_429() {
    let log = TestLog::start_with("attacks-reads.gatelog.test/log", &["--read-rate", "1"]);
    // A burst of 10 passes, the next read within the second does not.
    let statuses: Vec<u16> = (0..12)
        .map(|_| http_get(log.server.addr, "/checkpoint").0)
        .collect();
    assert_eq!(statuses[..10], [200; 10], "{statuses:?}");
    assert!(statuses[10..].contains(&429), "{statuses:?}");
    // Health stays visible, and writes are not reads.
    assert_eq!(http_get(log.server.addr, "/healthz").0, 200);
    log.submit(&log.reg.publish_direct("pkg", "1.0.0", b"x", 1_000));
}
