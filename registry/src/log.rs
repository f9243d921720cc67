//! The registry as a submitter to a gatelog log: its signing key (named
//! after the registry's host), events built and signed as DSSE envelopes,
//! and `POST /v1/entries`.

use std::path::Path;
use std::time::Duration;

use gatelog_core::event::Registry;
use gatelog_core::keys::{SignatureType, SignerKey};
use gatelog_core::{Event, Hash, InclusionProof, LeafIndex, VerifierKey, checkpoint, merkle};
use serde_json::{Map, Value};

use crate::store::Ack;

/// Why an event was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The log could not be reached or did not answer in time.
    #[error("the transparency log at {url} could not be reached: {reason}")]
    Unreachable {
        /// The log's URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The log answered with an error.
    #[error("the transparency log refused the event ({status}): {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The log's error body.
        body: String,
    },
    /// The event could not be built (a bug, or an input the schema refuses).
    #[error("the event is not valid: {0}")]
    Invalid(String),
    /// The acknowledgement does not verify against the log's key.
    #[error("the transparency log's acknowledgement does not verify against --log-key: {0}")]
    Unverified(String),
}

/// The registry's signing key in `data/registry.key`, created (from the
/// operating system's random source, mode 0600) on first use. The key is
/// named after `registry`'s host, as the log requires; the stored seed
/// stays the same when the host changes.
pub fn load_or_create_key(data: &Path, registry: &Registry) -> Result<(SignerKey, bool), String> {
    let path = data.join("registry.key");
    std::fs::create_dir_all(data).map_err(|e| format!("creating {}: {e}", data.display()))?;
    let (seed, created) = match std::fs::read_to_string(&path) {
        Ok(text) => {
            let key = SignerKey::parse(&text)
                .map_err(|e| format!("{} is not a private key: {e}", path.display()))?;
            (key.signing_key().to_bytes(), false)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            (crate::auth::random_bytes::<32>(), true)
        }
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    };
    let key = SignerKey::from_seed(registry.host(), SignatureType::Ed25519, &seed)
        .map_err(|e| format!("registry host {} is not a key name: {e}", registry.host()))?;
    if created {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| format!("creating {}: {e}", path.display()))?;
        writeln!(file, "{}", key.to_private_text())
            .and_then(|()| file.sync_all())
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok((key, created))
}

/// Signs events for one registry and submits them to one log.
pub struct LogClient {
    http: reqwest::Client,
    url: String,
    key: SignerKey,
    registry: Registry,
    log_key: Option<VerifierKey>,
}

/// The current time in RFC 3339 (UTC, whole seconds).
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

impl LogClient {
    /// A client for the log at `url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(
        url: &str,
        key: SignerKey,
        registry: Registry,
        timeout: Duration,
        log_key: Option<VerifierKey>,
    ) -> LogClient {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .expect("an HTTP client builds");
        LogClient {
            http,
            url: url.trim_end_matches('/').to_owned(),
            key,
            registry,
            log_key,
        }
    }

    /// The registry's origin.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Builds the event `body` (its fields, including `type`) of `package`
    /// at the current time, validates it and signs it. Returns the
    /// envelope's canonical JSON: the exact bytes to send, now and on any
    /// retry.
    pub fn sign(&self, package: &str, body: Value) -> Result<String, LogError> {
        let mut fields: Map<String, Value> = match body {
            Value::Object(map) => map,
            _ => return Err(LogError::Invalid("event body is not an object".into())),
        };
        fields.insert("package".into(), package.into());
        fields.insert("registry".into(), self.registry.as_str().into());
        fields.insert("time".into(), now_rfc3339().into());
        let json = serde_json::to_vec(&Value::Object(fields)).expect("JSON serializes");
        let event = Event::parse(&json).map_err(|e| LogError::Invalid(e.to_string()))?;
        let envelope = event
            .sign(self.key.signing_key())
            .map_err(|e| LogError::Invalid(e.to_string()))?;
        Ok(String::from_utf8(envelope.to_json()).expect("envelopes are UTF-8"))
    }

    /// Submits an envelope; returns the acknowledgement (`201`, or `200`
    /// with `duplicate: true` for an event the log already holds).
    pub async fn submit(&self, envelope: &str) -> Result<Ack, LogError> {
        let url = format!("{}/v1/entries", self.url);
        let unreachable = |reason: String| LogError::Unreachable {
            url: self.url.clone(),
            reason,
        };
        let response = self
            .http
            .post(&url)
            .header("content-type", "application/json")
            .body(envelope.to_owned())
            .send()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .text()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        if status != 200 && status != 201 {
            return Err(LogError::Refused { status, body });
        }
        let v: Value = serde_json::from_str(&body)
            .map_err(|e| unreachable(format!("the answer is not JSON: {e}")))?;
        let ack = (|| {
            Some(Ack {
                index: v["index"].as_u64()?,
                leaf_hash: v["leaf_hash"].as_str()?.to_owned(),
                duplicate: v["duplicate"].as_bool().unwrap_or(false),
                inclusion_proof: v.get("inclusion_proof")?.clone(),
                checkpoint: v.get("checkpoint")?.clone(),
            })
        })();
        let ack = ack
            .ok_or_else(|| unreachable(format!("the answer is not an acknowledgement: {body}")))?;
        if let Some(key) = &self.log_key {
            verify_ack(&ack, key).map_err(LogError::Unverified)?;
        }
        Ok(ack)
    }
}

/// Checks an acknowledgement as a client of the log would: the checkpoint
/// is signed by `key` (and names its origin), and the inclusion proof puts
/// the leaf hash at the index in that checkpoint's tree.
pub fn verify_ack(ack: &Ack, key: &VerifierKey) -> Result<(), String> {
    let note = ack.checkpoint["note"]
        .as_str()
        .ok_or("the checkpoint has no note")?;
    let head = checkpoint::open(note.as_bytes(), key)
        .map_err(|e| format!("checkpoint: {e}"))?
        .head();
    let leaf = Hash::from_hex(&ack.leaf_hash).ok_or("the leaf hash is not hex")?;
    let path = ack.inclusion_proof["path"]
        .as_array()
        .ok_or("the inclusion proof has no path")?
        .iter()
        .map(|h| {
            h.as_str()
                .and_then(Hash::from_hex)
                .ok_or("a proof hash is not hex")
        })
        .collect::<Result<Vec<Hash>, _>>()?;
    let proof = InclusionProof {
        index: LeafIndex(ack.index),
        tree_size: head.size,
        path,
    };
    merkle::verify_inclusion(&leaf, &proof, &head).map_err(|e| format!("inclusion proof: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatelog_core::checkpoint::{Checkpoint, Origin};
    use gatelog_core::{TreeHead, TreeSize, leaf_hash, node_hash};
    use serde_json::json;

    /// An acknowledgement of leaf `index` of a two-leaf tree, signed by `key`.
    fn ack(key: &SignerKey, index: u64) -> Ack {
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let head = TreeHead {
            size: TreeSize(2),
            root: node_hash(&a, &b),
        };
        let note = Checkpoint::new(Origin::new("log.example/log").unwrap(), head)
            .sign(key)
            .unwrap();
        let (leaf, sibling) = if index == 0 { (a, b) } else { (b, a) };
        Ack {
            index,
            leaf_hash: leaf.to_hex(),
            duplicate: false,
            inclusion_proof: json!({"index": index, "tree_size": 2, "path": [sibling.to_hex()]}),
            checkpoint: json!({"note": String::from_utf8(note.to_bytes()).unwrap()}),
        }
    }

    #[test]
    fn acks_verify_only_with_the_log_key_and_a_matching_proof() {
        let key =
            SignerKey::from_seed("log.example/log", SignatureType::Ed25519, &[7; 32]).unwrap();
        let other =
            SignerKey::from_seed("log.example/log", SignatureType::Ed25519, &[8; 32]).unwrap();
        assert_eq!(verify_ack(&ack(&key, 0), &key.verifier()), Ok(()));
        assert_eq!(verify_ack(&ack(&key, 1), &key.verifier()), Ok(()));
        let err = verify_ack(&ack(&key, 0), &other.verifier()).unwrap_err();
        assert!(err.starts_with("checkpoint"), "{err}");

        let mut moved = ack(&key, 0);
        moved.index = 1;
        let err = verify_ack(&moved, &key.verifier()).unwrap_err();
        assert!(err.starts_with("inclusion proof"), "{err}");
        let mut forged = ack(&key, 0);
        forged.leaf_hash = leaf_hash(b"c").to_hex();
        assert!(verify_ack(&forged, &key.verifier()).is_err());
        let mut bare = ack(&key, 0);
        bare.inclusion_proof = json!({});
        assert!(verify_ack(&bare, &key.verifier()).is_err());
    }
}
