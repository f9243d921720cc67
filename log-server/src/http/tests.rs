//! HTTP tests through the real router (no socket) over a real RocksDB
//! store: every endpoint, every error status, and a reader that follows the
//! log only through the tile API.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_core::keys::SignatureType;
use gatelog_core::merkle::{
    ConsistencyProof, root_of_leaf_hashes, verify_consistency, verify_inclusion,
};
use gatelog_core::tile::{TilePath, parse_entry_bundle, tile_hashes};
use gatelog_core::{
    Envelope, Hash, InclusionProof, LeafIndex, SignerKey, TreeHead, TreeSize, checkpoint, leaf_hash,
};
use gatelog_lab::sample::{SampleRegistry, device_key};
use serde_json::Value;
use tower::ServiceExt as _;

use crate::clock::SystemClock;
use crate::http::error::ApiError;
use crate::keyfile::KeySource;
use crate::log::Log;
use crate::sequencer::SequencerConfig;
use crate::store::rocks::RocksStore;
use crate::submitters::Submitters;
use crate::{Settings, Started, start};

const ORIGIN: &str = "http.gatelog.test/log";

struct TestLog {
    started: Started,
    reg: SampleRegistry,
    key: SignerKey,
    _dir: tempfile::TempDir,
}

fn test_log(rate: Option<(u32, u32)>, pool_size: usize) -> TestLog {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(RocksStore::open(dir.path()).unwrap());
    let key = SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, &[4; 32]).unwrap();
    let log = Log::with_store(
        store,
        key.clone(),
        KeySource::File,
        gatelog_core::Origin::new(ORIGIN).unwrap(),
    )
    .unwrap();
    let reg = SampleRegistry::new("registry.example", 1);
    let settings = Settings {
        sequencer: SequencerConfig {
            batch_interval: Duration::from_millis(5),
            max_batch: 64,
            pool_size,
        },
        submitters: Submitters::new(&[reg.verifier_key()], rate),
        request_timeout: Duration::from_secs(30),
        guard: Default::default(),
        max_checkpoint_lag: Duration::from_secs(10),
        skew: crate::clock::SkewLimits::default(),
        witnesses: None,
        monitor_alerts: None,
    };
    TestLog {
        started: start(log, settings, Arc::new(SystemClock)).unwrap(),
        reg,
        key,
        _dir: dir,
    }
}

impl TestLog {
    async fn call(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let resp = self.started.router.clone().oneshot(req).await.unwrap();
        let (parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (parts.status, parts.headers, bytes.to_vec())
    }

    async fn get(&self, uri: &str) -> (StatusCode, Vec<u8>) {
        let (s, _, b) = self
            .call(Request::get(uri).body(Body::empty()).unwrap())
            .await;
        (s, b)
    }

    async fn get_json(&self, uri: &str) -> (StatusCode, Value) {
        let (s, b) = self.get(uri).await;
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    async fn post(&self, uri: &str, body: Vec<u8>) -> (StatusCode, axum::http::HeaderMap, Value) {
        let (s, h, b) = self
            .call(
                Request::post(uri)
                    .header("content-type", "application/json")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        (s, h, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    async fn submit(&self, env: &Envelope) -> (StatusCode, Value) {
        let (s, _, v) = self.post("/v1/entries", env.to_json()).await;
        (s, v)
    }

    async fn checkpoint(&self) -> TreeHead {
        let (s, body) = self.get("/checkpoint").await;
        assert_eq!(s, StatusCode::OK);
        checkpoint::open(&body, &self.key.verifier())
            .unwrap()
            .head()
    }
}

fn hash(v: &Value) -> Hash {
    Hash::from_hex(v.as_str().unwrap()).unwrap()
}

fn proof_of(v: &Value) -> InclusionProof {
    InclusionProof {
        index: LeafIndex(v["index"].as_u64().unwrap()),
        tree_size: TreeSize(v["tree_size"].as_u64().unwrap()),
        path: v["path"].as_array().unwrap().iter().map(hash).collect(),
    }
}

/// Verifies an entry object (leaf bytes, leaf hash, proof) against a head.
fn check_entry(entry: &Value, head: &TreeHead) -> Vec<u8> {
    let leaf = STANDARD.decode(entry["leaf"].as_str().unwrap()).unwrap();
    let lh = leaf_hash(&leaf);
    assert_eq!(lh, hash(&entry["leaf_hash"]));
    verify_inclusion(&lh, &proof_of(&entry["inclusion_proof"]), head).unwrap();
    leaf
}

#[tokio::test]
async fn submit_read_and_prove_a_release() {
    let t = test_log(None, 1024);
    let dev = device_key(1);
    let (s, v) = t
        .submit(
            &t.reg
                .device_register("@acme/widget", "alice", "key-1", &dev, 1),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let tgz = b"widget-1.0.0.tgz";
    let (_, stage) = t
        .submit(&t.reg.stage("@acme/widget", "1.0.0", tgz, "acme/widget", 2))
        .await;
    let stage_index = LeafIndex(stage["index"].as_u64().unwrap());
    let (s, approve) = t
        .submit(&t.reg.approve(
            "@acme/widget",
            "1.0.0",
            tgz,
            stage_index,
            &hash(&stage["leaf_hash"]),
            "alice",
            Some(("key-1", &dev)),
            3,
        ))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{approve}");
    let approve_index = LeafIndex(approve["index"].as_u64().unwrap());
    let (s, publish) = t
        .submit(
            &t.reg
                .publish("@acme/widget", "1.0.0", tgz, stage_index, approve_index, 4),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    // The acknowledgement proves inclusion in the signed checkpoint it carries.
    let cp = checkpoint::open(
        publish["checkpoint"]["note"].as_str().unwrap().as_bytes(),
        &t.key.verifier(),
    )
    .unwrap();
    verify_inclusion(
        &hash(&publish["leaf_hash"]),
        &proof_of(&publish["inclusion_proof"]),
        &cp.head(),
    )
    .unwrap();
    let head = t.checkpoint().await;
    assert_eq!(head.size, TreeSize(4));

    // Entry by index, inclusion proof by index and by leaf hash.
    let (s, e) = t.get_json("/v1/entries/1").await;
    assert_eq!(s, StatusCode::OK);
    check_entry(&e, &head);
    let (_, p) = t
        .get_json(&format!(
            "/v1/proofs/inclusion?leaf_hash={}",
            stage["leaf_hash"].as_str().unwrap()
        ))
        .await;
    assert_eq!(p["index"], 1);
    check_entry(&p, &head);
    let (_, p) = t.get_json("/v1/proofs/inclusion?index=0&tree_size=2").await;
    check_entry(
        &p,
        &TreeHead {
            size: TreeSize(2),
            root: hash(&stage["checkpoint"]["root_hash"]),
        },
    );

    // Consistency between an earlier acknowledgement's checkpoint and now.
    let old = TreeHead {
        size: TreeSize(2),
        root: hash(&stage["checkpoint"]["root_hash"]),
    };
    let (_, c) = t.get_json("/v1/proofs/consistency?old=2").await;
    let proof = ConsistencyProof {
        old_size: old.size,
        new_size: head.size,
        path: c["path"].as_array().unwrap().iter().map(hash).collect(),
    };
    verify_consistency(&old, &head, &proof).unwrap();

    // A package's events, paged, with URL-encoded scoped names.
    let (s, ev) = t
        .get_json("/v1/events?registry=registry.example&package=%40acme%2Fwidget&limit=2")
        .await;
    assert_eq!(s, StatusCode::OK, "{ev}");
    assert_eq!(ev["events"].as_array().unwrap().len(), 2);
    let next = ev["next_after"].as_u64().unwrap();
    let (_, ev2) = t
        .get_json(&format!(
            "/v1/events?registry=https://registry.example&package=@acme/widget&after={next}"
        ))
        .await;
    assert_eq!(ev2["events"].as_array().unwrap().len(), 2);
    assert!(ev2["next_after"].is_null());

    // The release bundle holds the version's events and the device registration.
    let (s, b) = t
        .get_json("/v1/bundle?registry=registry.example&package=%40acme%2Fwidget&version=1.0.0")
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let bundle_head = checkpoint::open(
        b["checkpoint"]["note"].as_str().unwrap().as_bytes(),
        &t.key.verifier(),
    )
    .unwrap()
    .head();
    let entries = b["bundles"][0]["entries"].as_array().unwrap();
    let indexes: Vec<u64> = entries
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, vec![0, 1, 2, 3]);
    for e in entries {
        check_entry(e, &bundle_head);
    }
    let body = serde_json::to_vec(&serde_json::json!({"releases": [
        {"registry": "https://registry.example", "package": "@acme/widget", "version": "1.0.0"},
        {"registry": "registry.example", "package": "left-pad", "version": "1.0.0"},
        {"registry": "http://registry.example", "package": "@acme/widget", "version": "1.0.0"},
        {"registry": "other.example", "package": "@acme/widget", "version": "1.0.0"},
    ]}))
    .unwrap();
    let (s, _, many) = t.post("/v1/bundles", body).await;
    assert_eq!(s, StatusCode::OK);
    // One bundle per distinct release: http:// and https:// of a host are
    // one registry, another registry's package of the same name is not.
    let bundles = many["bundles"].as_array().unwrap();
    assert_eq!(bundles.len(), 3, "{many}");
    assert_eq!(bundles[0]["entries"].as_array().unwrap().len(), 4);
    assert_eq!(bundles[0]["registry"], "registry.example");
    assert_eq!(bundles[0]["chain"]["complete"], true);
    assert_eq!(bundles[0]["chain"]["head"], 3);
    assert!(bundles[1]["entries"].as_array().unwrap().is_empty());
    assert_eq!(bundles[2]["registry"], "other.example");
    assert!(bundles[2]["entries"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_reader_recomputes_the_checkpoint_from_tiles_alone() {
    let t = test_log(None, 4096);
    let envs: Vec<Envelope> = (0..300)
        .map(|i| t.reg.publish_direct("a", &format!("1.0.{i}"), b"x", 1))
        .collect();
    for chunk in envs.chunks(100) {
        let body = format!(
            "[{}]",
            chunk
                .iter()
                .map(|e| String::from_utf8(e.to_json()).unwrap())
                .collect::<Vec<_>>()
                .join(",")
        );
        let (s, _, v) = t.post("/v1/entries/batch", body.into_bytes()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(
            v["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["index"].is_u64()),
            "{v}"
        );
    }
    let head = t.checkpoint().await;
    assert_eq!(head.size, TreeSize(300));
    // Level-0 tiles: one full, one partial of width 44.
    let mut leaf_hashes = Vec::new();
    for path in ["tile/0/000", "tile/0/001.p/44"] {
        let (s, _, body) = t
            .call(
                Request::get(format!("/{path}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{path}");
        let TilePath::Hashes(tile) = gatelog_core::tile::parse_tile_path(path).unwrap() else {
            panic!()
        };
        leaf_hashes.extend(tile_hashes(tile, &body).unwrap());
    }
    assert_eq!(root_of_leaf_hashes(&leaf_hashes), head.root);
    // Entry bundles hash to the tile's leaf hashes.
    let (s, headers, bundle) = t
        .call(
            Request::get("/tile/entries/000")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let entries = parse_entry_bundle(&bundle).unwrap();
    assert_eq!(entries.len(), 256);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(leaf_hash(e), leaf_hashes[i]);
    }
    // Tiles beyond the signed size do not exist; malformed paths are 400.
    assert_eq!(t.get("/tile/0/001").await.0, StatusCode::NOT_FOUND);
    assert_eq!(t.get("/tile/0/001.p/45").await.0, StatusCode::NOT_FOUND);
    assert_eq!(t.get("/tile/1/000").await.0, StatusCode::NOT_FOUND);
    assert_eq!(t.get("/tile/0/x000/001").await.0, StatusCode::BAD_REQUEST);
    // A percent-encoded slash is not another name for a tile.
    assert_eq!(t.get("/tile/0%2F000").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        t.get("/tile/../etc/passwd").await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn bad_submissions_get_clear_errors_and_change_nothing() {
    let t = test_log(Some((1, 3)), 1024);
    t.submit(&t.reg.publish_direct("a", "1.0.0", b"x", 1)).await;
    let before = t.checkpoint().await;
    let stranger = SampleRegistry::new("evil.example", 9);
    let mut tampered = t.reg.publish_direct("a", "1.0.1", b"x", 1);
    tampered.payload = t.reg.publish_direct("a", "6.6.6", b"x", 1).payload;
    let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (b"{not json".to_vec(), StatusCode::BAD_REQUEST, "bad_envelope"),
        (b"[]".to_vec(), StatusCode::BAD_REQUEST, "bad_envelope"),
        (vec![b' '; 70 * 1024], StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        (stranger.publish_direct("a", "1.0.2", b"x", 1).to_json(), StatusCode::UNAUTHORIZED, "unknown_submitter"),
        (tampered.to_json(), StatusCode::FORBIDDEN, "bad_signature"),
        (
            t.reg.sign_json(r#"{"type":"unpublish","package":"a","registry":"https://registry.example","time":"2026-01-01T00:00:00Z","version":"1.0.0","by":"x"}"#).unwrap().to_json(),
            StatusCode::CREATED,
            "",
        ),
        (t.reg.approve("a", "1.0.0", b"x", LeafIndex(99), &Hash::default(), "m", None, 1).to_json(), StatusCode::BAD_REQUEST, "bad_reference"),
        // An allowed registry logging in another registry's name.
        (
            t.reg.sign_json(r#"{"type":"unpublish","package":"a","registry":"https://other.example","time":"2026-01-01T00:00:00Z","version":"1.0.0","by":"x"}"#).unwrap().to_json(),
            StatusCode::FORBIDDEN,
            "wrong_registry",
        ),
    ];
    for (body, status, code) in cases {
        let (s, _, v) = t.post("/v1/entries", body).await;
        assert_eq!(s, status, "{v}");
        if !code.is_empty() {
            assert_eq!(v["error"], code, "{v}");
            assert!(!v["message"].as_str().unwrap().is_empty());
        }
    }
    let after_valid = t.checkpoint().await;
    assert_eq!(
        after_valid.size.0,
        before.size.0 + 1,
        "only the valid unpublish was logged"
    );
    // The 413 names the limit.
    let (_, _, v) = t.post("/v1/entries", vec![b' '; 70 * 1024]).await;
    let limit = crate::http::submit::MAX_ENTRY_BODY.to_string();
    assert!(v["message"].as_str().unwrap().contains(&limit), "{v}");
    // Rate limit (burst 3 already spent by the accepted entries): 429 with Retry-After.
    let (s, h, v) = t
        .post(
            "/v1/entries",
            t.reg.publish_direct("a", "9.9.9", b"x", 1).to_json(),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert!(h.contains_key("retry-after"));
    // Bad queries.
    for (uri, status) in [
        ("/v1/entries/999", StatusCode::NOT_FOUND),
        ("/v1/entries/abc", StatusCode::BAD_REQUEST),
        (
            "/v1/proofs/inclusion?index=0&leaf_hash=00",
            StatusCode::BAD_REQUEST,
        ),
        ("/v1/proofs/inclusion?leaf_hash=zz", StatusCode::BAD_REQUEST),
        (
            "/v1/proofs/inclusion?index=0&tree_size=999",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/proofs/consistency?old=5&new=1",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/events?registry=r.example&package=Not%20A%20Name",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/events?registry=ftp://r.example&package=a",
            StatusCode::BAD_REQUEST,
        ),
        ("/v1/bundle?package=a", StatusCode::BAD_REQUEST),
        ("/nope", StatusCode::NOT_FOUND),
        ("/v1/events", StatusCode::BAD_REQUEST),
        (
            "/v1/events?registry=r.example&package=a&limit=x",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, v) = t.get_json(uri).await;
        assert_eq!(s, status, "{uri}");
        // Every error, even axum's own rejections, is the JSON error shape.
        assert!(
            v["error"].is_string() && v["message"].is_string(),
            "{uri}: {v}"
        );
    }
    let (s, _, v) = t.post("/checkpoint", vec![]).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(v["error"], "method_not_allowed");
    let (s, _, _) = t.post("/v1/bundles", b"{\"releases\": 5}".to_vec()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(t.checkpoint().await, after_valid);
}

#[tokio::test]
async fn health_and_metrics() {
    let t = test_log(None, 16);
    let (s, v) = t.get_json("/healthz").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], "ok");
    t.submit(&t.reg.publish_direct("a", "1.0.0", b"x", 1)).await;
    let (s, body) = t.get("/metrics").await;
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("gatelog_entries_total 1"), "{text}");
    assert!(text.contains("gatelog_tree_size 1"), "{text}");
}

#[tokio::test]
async fn storage_messages_stay_out_of_answers_and_health() {
    let t = test_log(None, 16);
    let secret = "IO error: While appending to file: /srv/secret-path/db/000123.log: No space left";
    // A failing write, as the sequencer records it.
    t.started.state.metrics.record_write_failure(secret);
    let (s, v) = t.get_json("/healthz").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!v.to_string().contains("secret-path"), "{v}");
    assert!(
        v["problem"].as_str().unwrap().contains("writes fail"),
        "{v}"
    );
    for e in [
        crate::sequencer::SubmitError::Storage(secret.into()),
        crate::sequencer::SubmitError::DiskFull(secret.into()),
    ] {
        let answer = ApiError::from(e);
        assert!(
            !answer.message.contains("secret-path"),
            "{}",
            answer.message
        );
    }
    let answer = ApiError::from(crate::store::StoreError::Backend(secret.into()));
    assert!(
        !answer.message.contains("secret-path"),
        "{}",
        answer.message
    );
}

#[tokio::test]
async fn a_full_pool_answers_503_with_retry_after_and_changes_nothing() {
    let t = test_log(None, 16);
    let (handle, _pool) = crate::sequencer::SequencerHandle::detached(1);
    let state = Arc::new(crate::http::AppState {
        store: t.started.state.store.clone(),
        published: t.started.state.published.clone(),
        sequencer: handle,
        submitters: Submitters::new(&[t.reg.verifier_key()], None),
        metrics: t.started.state.metrics.clone(),
        sequencer_alive: t.started.state.sequencer_alive.clone(),
        max_checkpoint_lag: Duration::from_secs(10),
        origin: ORIGIN.into(),
        skew: t.started.state.skew.clone(),
        log_key: t.started.state.log_key.clone(),
        monitor_alerts: None,
    });
    let app = crate::http::app(state, Duration::from_secs(30), Default::default());
    let post = |env: Envelope| {
        Request::post("/v1/entries")
            .body(Body::from(env.to_json()))
            .unwrap()
    };
    // The first submission takes the only place in the pool and waits there.
    let first = tokio::spawn(
        app.clone()
            .oneshot(post(t.reg.publish_direct("a", "1.0.0", b"x", 1))),
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    let resp = app
        .clone()
        .oneshot(post(t.reg.publish_direct("a", "1.0.1", b"x", 1)))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().contains_key("retry-after"));
    let body = axum::body::to_bytes(resp.into_body(), 1 << 16)
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"], "busy");
    first.abort();
    assert_eq!(t.checkpoint().await.size, TreeSize(0));
}

#[tokio::test]
async fn skewed_registry_times_are_logged_counted_and_warned_about() {
    let t = test_log(None, 16);
    let now = i64::try_from(crate::clock::Clock::now_ms(&SystemClock) / 1000).unwrap();
    // On time: no warnings at all.
    let (s, v) = t
        .submit(&t.reg.publish_direct("a", "1.0.0", b"x", now))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(v.get("warnings").is_none(), "{v}");
    // A day and a bit behind, and an hour ahead: logged, with a warning.
    let old = t.reg.publish_direct("a", "1.0.1", b"x", now - 90_000);
    let (s, v) = t.submit(&old).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["warnings"][0]["warning"], "time_skew", "{v}");
    assert!(v["warnings"][0]["skew_seconds"].as_i64().unwrap() <= -90_000);
    let msg = v["warnings"][0]["message"].as_str().unwrap();
    assert!(msg.contains("behind the log clock (limit 24.0 h)"), "{msg}");
    let (s, v) = t
        .submit(&t.reg.publish_direct("a", "1.0.2", b"x", now + 3600))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(v["warnings"][0]["skew_seconds"].as_i64().unwrap() >= 3599);
    // In a batch, per result; a resubmission warns again but counts once.
    let body = format!(
        "[{},{}]",
        String::from_utf8(old.to_json()).unwrap(),
        String::from_utf8(t.reg.publish_direct("a", "1.0.3", b"x", now).to_json()).unwrap()
    );
    let (s, _, v) = t.post("/v1/entries/batch", body.into_bytes()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["results"][0]["duplicate"], true);
    assert_eq!(v["results"][0]["warnings"][0]["warning"], "time_skew");
    assert!(v["results"][1].get("warnings").is_none());
    let (_, body) = t.get("/metrics").await;
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains(r#"gatelog_time_skew_total{direction="behind"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"gatelog_time_skew_total{direction="ahead"} 1"#),
        "{text}"
    );
    assert_eq!(t.checkpoint().await.size, TreeSize(4));
}

#[tokio::test]
async fn many_inclusion_proofs_in_one_request() {
    let t = test_log(None, 1024);
    for n in 0..5u64 {
        let env = t.reg.device_register(
            "@acme/widget",
            "alice",
            &format!("key-{n}"),
            &device_key(n as u8 + 1),
            n as i64 + 1,
        );
        assert_eq!(t.submit(&env).await.0, StatusCode::CREATED);
    }
    let head = t.checkpoint().await;
    assert_eq!(head.size, TreeSize(5));
    let ask = |body: &str| t.post("/v1/proofs/inclusion", body.as_bytes().to_vec());

    // In the order asked, repeats included, each the single answer's object.
    let (s, _, v) = ask(r#"{"tree_size":5,"indexes":[4,0,2,0]}"#).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["tree_size"], 5);
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    for (entry, want) in entries.iter().zip([4, 0, 2, 0]) {
        assert_eq!(entry["index"], want);
        check_entry(entry, &head);
        let (_, single) = t
            .get_json(&format!("/v1/proofs/inclusion?index={want}&tree_size=5"))
            .await;
        assert_eq!(*entry, single);
    }
    // At an older size the proofs lead to that size's root.
    let (s, _, v) = ask(r#"{"tree_size":3,"indexes":[1]}"#).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["entries"][0]["inclusion_proof"]["tree_size"], 3);
    // Without a size: the served checkpoint's.
    let (_, _, v) = ask(r#"{"indexes":[]}"#).await;
    assert_eq!(
        (
            v["tree_size"].as_u64(),
            v["entries"].as_array().map(Vec::len)
        ),
        (Some(5), Some(0))
    );

    // Bad requests: clear errors.
    let too_many = format!(
        r#"{{"indexes":[{}]}}"#,
        vec!["0"; gatelog_core::wire::MAX_PROOF_INDEXES + 1].join(",")
    );
    for (body, status, code) in [
        ("[1]", StatusCode::BAD_REQUEST, "bad_request"),
        (
            r#"{"indexes":[1],"x":1}"#,
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (r#"{"indexes":[5]}"#, StatusCode::NOT_FOUND, "not_found"),
        (
            r#"{"tree_size":9,"indexes":[0]}"#,
            StatusCode::BAD_REQUEST,
            "bad_tree_size",
        ),
        (
            too_many.as_str(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
    ] {
        let (s, _, v) = ask(body).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (status, Some(code)),
            "{body}: {v}"
        );
    }
    let (s, _, _) = t
        .post(
            "/v1/proofs/inclusion",
            vec![b' '; super::proofs::MAX_INCLUSION_BODY + 1],
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
}
