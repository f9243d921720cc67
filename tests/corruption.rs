//! Damaged storage is detected, never served as good. A real log of 5,000
//! entries is stopped, one byte of its RocksDB store is flipped by writing
//! through RocksDB directly (so RocksDB's own checksums still pass), and:
//!
//! - `gatelog-server check` exits 1 naming the damaged entry, node or
//!   checkpoint;
//! - the server refuses to start when its startup check can see the damage
//!   (a checkpoint, a hash on the path to the signed root, one of the
//!   newest 4,096 entries);
//! - otherwise it starts, serves what is intact, and answers 500
//!   `damaged` (with a log line) for anything that touches the damage.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;

use gatelog_e2e::{Server, http_post, log_key, run};
use gatelog_lab::sample::SampleRegistry;
use serde_json::Value;

const ORIGIN: &str = "corruption.gatelog.test/log";
const ENTRIES: u64 = 5000;

fn registry() -> SampleRegistry {
    SampleRegistry::new("registry.example", 5)
}

/// A stopped, honest log of [`ENTRIES`] entries, built once.
fn honest_log() -> &'static Path {
    static LOG: OnceLock<tempfile::TempDir> = OnceLock::new();
    LOG.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("log.key"),
            log_key(ORIGIN).to_private_text(),
        )
        .expect("write key");
        let reg = registry();
        let rk = reg.verifier_key().to_string();
        let server = Server::start_with(
            dir.path(),
            ORIGIN,
            &["--submitter-key", &rk, "--batch-interval-ms", "5"],
        );
        for first in (0..ENTRIES).step_by(500) {
            let envelopes: Vec<String> = (first..first + 500)
                .map(|n| {
                    let env = reg.publish_direct(
                        &format!("pkg-{}", n % 7),
                        &format!("1.0.{n}"),
                        &n.to_le_bytes(),
                        1_700_000_000,
                    );
                    String::from_utf8(env.to_json()).expect("utf8")
                })
                .collect();
            let body = format!("[{}]", envelopes.join(","));
            let (status, answer) =
                http_post(server.addr, "/v1/entries/batch", body.as_bytes()).expect("submit");
            assert_eq!(status, 200);
            let v: Value = serde_json::from_slice(&answer).expect("JSON");
            for r in v["results"].as_array().expect("results") {
                assert!(r["index"].is_u64(), "refused: {r}");
            }
        }
        drop(server);
        dir
    })
    .path()
}

/// A copy of the honest log to damage.
fn copy_of_log() -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("tempdir");
    let from = honest_log();
    std::fs::copy(from.join("log.key"), copy.path().join("log.key")).expect("copy key");
    std::fs::create_dir(copy.path().join("db")).expect("mkdir");
    for f in std::fs::read_dir(from.join("db")).expect("read db") {
        let f = f.expect("entry");
        std::fs::copy(f.path(), copy.path().join("db").join(f.file_name())).expect("copy");
    }
    copy
}

fn leaf_key(index: u64) -> Vec<u8> {
    [&b"L"[..], &index.to_be_bytes()].concat()
}

fn node_key(level: u8, index: u64) -> Vec<u8> {
    [&[b'N', level][..], &index.to_be_bytes()].concat()
}

const CHECKPOINT: &[u8] = b"Mcheckpoint";

/// Flips one bit of byte `at` of the value under `key`, through RocksDB.
fn flip(data: &Path, key: &[u8], at: usize) {
    let db = rocksdb::DB::open_default(data.join("db")).expect("open the stopped store");
    let mut value = db.get(key).expect("read").expect("the key is stored");
    value[at] ^= 0x01;
    db.put(key, value).expect("write");
}

/// `gatelog-server check`: (exit code, stdout, stderr).
fn check(data: &Path) -> (i32, String, String) {
    let out = run(
        "gatelog-server",
        &["check", "--data", &data.display().to_string()],
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_check_finds(data: &Path, words: &[&str]) {
    let (code, out, err) = check(data);
    assert_eq!(code, 1, "check must fail: {out}{err}");
    assert!(err.contains("DAMAGED"), "{err}");
    for w in words {
        assert!(err.contains(w), "check should say {w:?}: {err}");
    }
}

/// Starting the server fails with REFUSING TO START and `words`.
fn assert_refuses_to_start(data: &Path, words: &[&str]) {
    let out = run(
        "gatelog-server",
        &[
            "--data",
            &data.display().to_string(),
            "--origin",
            ORIGIN,
            "--listen",
            "127.0.0.1:0",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the server started on damaged data");
    assert!(err.contains("REFUSING TO START"), "{err}");
    for w in words {
        assert!(err.contains(w), "refusal should say {w:?}: {err}");
    }
}

/// A server on damaged data, its log lines in a file.
fn start_logged(data: &Path) -> (Server, PathBuf) {
    let log = data.join("server.log");
    let file = std::fs::File::create(&log).expect("log file");
    (
        Server::start_logging(data, ORIGIN, &[], Stdio::from(file)),
        log,
    )
}

fn assert_damaged(server: &Server, path: &str, words: &str) {
    let (status, body) = server.get(path);
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 500, "{path} must not be served: {body}");
    assert!(body.contains("\"damaged\""), "{body}");
    assert!(body.contains(words), "{path}: {body}");
}

/// `POST /v1/bundles` of `package@version` in the compact form is refused
/// as damaged, naming `words`.
fn assert_compact_damaged(server: &Server, package: &str, version: &str, words: &str) {
    use std::io::{Read as _, Write as _};
    let body = format!(
        r#"{{"releases":[{{"registry":"registry.example","package":"{package}","version":"{version}"}}]}}"#
    );
    let mut s = std::net::TcpStream::connect(server.addr).expect("connect");
    write!(
        s,
        "POST /v1/bundles HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Accept: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        gatelog_core::compact_bundles::CONTENT_TYPE,
        body.len()
    )
    .expect("write");
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 500"),
        "{package}@{version} must not be served: {answer}"
    );
    assert!(
        answer.contains("\"damaged\"") && answer.contains(words),
        "{answer}"
    );
}

#[test]
fn an_honest_log_passes_the_check() {
    let (code, out, err) = check(honest_log());
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("entries     {ENTRIES} re-hashed")),
        "{out}"
    );
    assert!(out.contains("OK"), "{out}");
}

#[test]
fn a_flipped_entry_byte_is_found_and_never_served() {
    let dir = copy_of_log();
    // A digit of logged_at: the entry still parses, only its hash betrays it.
    flip(dir.path(), &leaf_key(100), 20);
    assert_check_finds(dir.path(), &["entry 100:", "entry's bytes are damaged"]);
    // Older than the entries the startup check re-derives: the server
    // starts, serves what is intact, and refuses what is damaged.
    let (server, log) = start_logged(dir.path());
    assert_eq!(server.get("/v1/entries/3000").0, 200);
    assert_eq!(server.get("/tile/entries/005").0, 200);
    assert_damaged(&server, "/v1/entries/100", "entry 100");
    assert_damaged(&server, "/tile/entries/000", "entry 100");
    assert_damaged(&server, "/tile/0/000", "index 100");
    assert_damaged(
        &server,
        "/v1/bundle?registry=registry.example&package=pkg-2&version=1.0.100",
        "entry 100",
    );
    assert_compact_damaged(&server, "pkg-2", "1.0.100", "entry 100");
    drop(server);
    let lines = std::fs::read_to_string(log).expect("server log");
    assert!(lines.contains("DAMAGED STORE"), "{lines}");
    assert!(lines.contains("gatelog-server check"), "{lines}");

    // Among the newest entries, the server refuses to start.
    let dir = copy_of_log();
    flip(dir.path(), &leaf_key(ENTRIES - 10), 20);
    assert_check_finds(dir.path(), &[&format!("entry {}:", ENTRIES - 10)]);
    assert_refuses_to_start(dir.path(), &[&format!("entry {}", ENTRIES - 10)]);
}

#[test]
fn a_flipped_stored_hash_is_found_and_never_served() {
    // A leaf hash no startup check reads.
    let dir = copy_of_log();
    flip(dir.path(), &node_key(0, 100), 3);
    assert_check_finds(dir.path(), &["entry 100:", "stored leaf hash is damaged"]);
    let (server, _) = start_logged(dir.path());
    assert_eq!(server.get("/v1/entries/3000").0, 200);
    assert_damaged(&server, "/v1/entries/100", "entry 100");
    // Entry 101's proof holds the damaged hash.
    assert_damaged(&server, "/v1/proofs/inclusion?index=101", "entry 101");
    assert_damaged(&server, "/tile/0/000", "index 100");
    // In the compact form: entry 100's own leaf hash, and a proof that
    // holds it (entry 101's).
    assert_compact_damaged(&server, "pkg-2", "1.0.100", "entry 100");
    assert_compact_damaged(&server, "pkg-3", "1.0.101", "multi-leaf proof");
    drop(server);

    // An inner hash in a hash tile (tree level 8 = tile level 1), below
    // what the startup check reads.
    let dir = copy_of_log();
    flip(dir.path(), &node_key(8, 1), 0);
    assert_check_finds(dir.path(), &["node (level 8, index 1)", "entries 256..512"]);
    let (server, _) = start_logged(dir.path());
    assert_eq!(server.get("/v1/entries/3000").0, 200);
    assert_damaged(&server, "/tile/1/000.p/19", "index 1");
    assert_damaged(&server, "/v1/proofs/inclusion?index=10", "entry 10");
    drop(server);

    // A hash on the path to the signed root (5,000 = 4,096 + 512 + …):
    // the startup check sees it.
    let dir = copy_of_log();
    flip(dir.path(), &node_key(9, 8), 31);
    assert_check_finds(dir.path(), &["node (level 9, index 8)"]);
    assert_refuses_to_start(dir.path(), &["level 9, index 8"]);
}

#[test]
fn a_flipped_checkpoint_is_found_and_the_server_refuses_to_start() {
    let dir = copy_of_log();
    // The last byte of the signature line (before the final newline).
    let db = rocksdb::DB::open_default(dir.path().join("db")).expect("open");
    let len = db.get(CHECKPOINT).expect("read").expect("stored").len();
    drop(db);
    flip(dir.path(), CHECKPOINT, len - 3);
    assert_check_finds(dir.path(), &["latest checkpoint", "does not verify"]);
    assert_refuses_to_start(dir.path(), &["checkpoint does not verify"]);
}
