//! A real `gatelog-server` with a simulated registry allowlisted, and the
//! helpers tests use to log events through its HTTP API.

use gatelog_core::keys::{SignatureType, SignerKey};
use gatelog_core::{Envelope, Hash, LeafIndex};
use gatelog_lab::sample::{SampleRegistry, rfc3339};
use serde_json::Value;

use crate::{Server, http_post};

/// A running log with its registry and keys.
pub struct TestLog {
    /// The server.
    pub server: Server,
    /// The registry allowed to submit (`registry.example`).
    pub reg: SampleRegistry,
    /// The log's verifier key (text).
    pub vkey: String,
    /// The log's origin.
    pub origin: String,
    _dir: tempfile::TempDir,
}

/// The signer key of the log `origin` (fixed seed, so tests can start a
/// second server with the same key).
pub fn log_key(origin: &str) -> SignerKey {
    SignerKey::from_seed(origin, SignatureType::Ed25519, &[11; 32]).expect("valid origin")
}

impl TestLog {
    /// Starts a log named `origin` accepting `registry.example` (seed 5),
    /// with a 5 ms batch interval.
    pub fn start(origin: &str) -> TestLog {
        TestLog::start_with(origin, &[])
    }

    /// [`TestLog::start`] with extra server flags.
    pub fn start_with(origin: &str, extra: &[&str]) -> TestLog {
        TestLog::start_logging(origin, extra, std::process::Stdio::null())
    }

    /// [`TestLog::start_with`], the server's log lines going to `stderr`.
    pub fn start_logging(origin: &str, extra: &[&str], stderr: std::process::Stdio) -> TestLog {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("log.key"),
            log_key(origin).to_private_text(),
        )
        .expect("write log.key");
        let reg = SampleRegistry::new("registry.example", 5);
        let rk = reg.verifier_key().to_string();
        let mut flags = vec!["--submitter-key", &rk, "--batch-interval-ms", "5"];
        flags.extend_from_slice(extra);
        let server = Server::start_logging(dir.path(), origin, &flags, stderr);
        TestLog {
            server,
            vkey: log_key(origin).verifier().to_string(),
            origin: origin.to_owned(),
            reg,
            _dir: dir,
        }
    }

    /// The log's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Submits one envelope; returns (index, leaf hash). Panics if refused.
    pub fn submit(&self, env: &Envelope) -> (LeafIndex, Hash) {
        let (status, body) =
            http_post(self.server.addr, "/v1/entries", &env.to_json()).expect("submit");
        let v: Value = serde_json::from_slice(&body).expect("JSON answer");
        assert!(status == 201 || status == 200, "{status}: {v}");
        (
            LeafIndex(v["index"].as_u64().expect("index")),
            Hash::from_hex(v["leaf_hash"].as_str().expect("leaf_hash")).expect("hex"),
        )
    }

    /// An event of `package` at registry time `time` with the JSON fields
    /// `body` (including `"type"`), signed by the registry.
    pub fn event(&self, package: &str, time: i64, body: &str) -> Envelope {
        let json = format!(
            r#"{{{body},"package":"{package}","registry":"{}","time":"{}"}}"#,
            self.reg.origin,
            rfc3339(time)
        );
        self.reg.sign_json(&json).expect("valid event")
    }
}
