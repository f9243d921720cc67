//! A small HTTP client for one gatelog log that trusts nothing it receives:
//! checkpoints are opened with the log's key, leaves are hashed locally and
//! every inclusion proof is checked.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use gatelog_core::compact_bundles;
use gatelog_core::merkle::verify_inclusion;
use gatelog_core::{
    Envelope, Hash, InclusionProof, LeafIndex, SignedCheckpoint, TreeHead, TreeSize, VerifierKey,
    checkpoint, leaf_hash,
};
use serde_json::Value;

mod proofs;

/// Why a request to the log failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The log could not be reached or did not answer in time.
    #[error("log unreachable: {0}")]
    Unreachable(String),
    /// The log answered with an error status.
    #[error("log answered {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The error message in the body.
        message: String,
    },
    /// The answer is not what the API promises.
    #[error("malformed answer: {0}")]
    Malformed(String),
    /// The answer does not verify: a wrong signature or proof.
    #[error("verification failed: {0}")]
    Verification(String),
}

/// A verified acknowledgement of one submitted entry.
#[derive(Clone, Debug)]
pub struct Ack {
    /// The entry's index.
    pub index: LeafIndex,
    /// Its leaf hash.
    pub leaf_hash: Hash,
    /// The checkpoint its inclusion was proven against.
    pub head: TreeHead,
}

/// Client of one log.
#[derive(Clone)]
pub struct LogClient {
    base: String,
    key: VerifierKey,
    http: reqwest::Client,
    /// Notes already verified with `key`, by their exact bytes: a batch of
    /// answers carries the same checkpoint many times.
    verified:
        std::sync::Arc<std::sync::Mutex<std::collections::HashMap<Vec<u8>, SignedCheckpoint>>>,
}

/// Verified notes kept at most (the cache is emptied beyond).
const VERIFIED_CACHE: usize = 1024;

fn malformed(what: &str) -> ClientError {
    ClientError::Malformed(what.to_owned())
}

fn hash_at(v: &Value, what: &str) -> Result<Hash, ClientError> {
    v.as_str()
        .and_then(Hash::from_hex)
        .ok_or_else(|| malformed(what))
}

fn path_of(v: &Value) -> Result<Vec<Hash>, ClientError> {
    v.as_array()
        .ok_or_else(|| malformed("proof path"))?
        .iter()
        .map(|h| hash_at(h, "proof hash"))
        .collect()
}

/// What `POST /v1/bundles` accepts: the compact form first, JSON from
/// logs without it.
const ACCEPT_BUNDLES: &str = "application/vnd.gatelog.bundles.compact-v1, application/json;q=0.5";

/// Largest answer read from a log (a bundles answer for a lockfile of
/// 5,000 releases is tens of MiB).
pub const MAX_ANSWER: usize = 512 << 20;

impl LogClient {
    /// A client for the log at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str, key: VerifierKey) -> Result<LogClient, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        Ok(LogClient {
            base: base.trim_end_matches('/').to_owned(),
            key,
            http,
            verified: Default::default(),
        })
    }

    async fn answer(mut resp: reqwest::Response) -> Result<Vec<u8>, ClientError> {
        let status = resp.status();
        // Read with a cap: a log that streams without end is refused, not
        // buffered until memory runs out.
        let too_large =
            || ClientError::Malformed(format!("the answer is larger than {MAX_ANSWER} bytes"));
        if resp.content_length().is_some_and(|n| n > MAX_ANSWER as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| ClientError::Unreachable(e.to_string()))?
        {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let message = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(ClientError::Status {
                status: status.as_u16(),
                message,
            });
        }
        Ok(body)
    }

    async fn get(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        self.get_query(path, &[]).await
    }

    async fn get_query(&self, path: &str, query: &[(&str, &str)]) -> Result<Vec<u8>, ClientError> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .query(query)
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        Self::answer(resp).await
    }

    async fn get_json(&self, path: &str) -> Result<Value, ClientError> {
        serde_json::from_slice(&self.get(path).await?)
            .map_err(|e| ClientError::Malformed(e.to_string()))
    }

    /// Fetches and verifies the latest checkpoint.
    pub async fn checkpoint(&self) -> Result<SignedCheckpoint, ClientError> {
        let body = self.get("/checkpoint").await?;
        self.open_checkpoint(&body)
    }

    /// Verifies a checkpoint note with the log's key.
    pub fn open_checkpoint(&self, note: &[u8]) -> Result<SignedCheckpoint, ClientError> {
        let mut cache = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cp) = cache.get(note) {
            return Ok(cp.clone());
        }
        let cp = checkpoint::open(note, &self.key)
            .map_err(|e| ClientError::Verification(e.to_string()))?;
        if cache.len() >= VERIFIED_CACHE {
            cache.clear();
        }
        cache.insert(note.to_vec(), cp.clone());
        Ok(cp)
    }

    /// Verifies one acknowledgement object (`index`, `leaf_hash`,
    /// `inclusion_proof`, `checkpoint.note`).
    pub fn verify_ack(&self, v: &Value) -> Result<Ack, ClientError> {
        let note = v["checkpoint"]["note"]
            .as_str()
            .ok_or_else(|| malformed("checkpoint"))?;
        let head = self.open_checkpoint(note.as_bytes())?.head();
        let index = LeafIndex(v["index"].as_u64().ok_or_else(|| malformed("index"))?);
        let leaf_hash = hash_at(&v["leaf_hash"], "leaf_hash")?;
        let proof = InclusionProof {
            index,
            tree_size: head.size,
            path: path_of(&v["inclusion_proof"]["path"])?,
        };
        verify_inclusion(&leaf_hash, &proof, &head)
            .map_err(|e| ClientError::Verification(e.to_string()))?;
        Ok(Ack {
            index,
            leaf_hash,
            head,
        })
    }

    /// Submits envelopes through `POST /v1/entries/batch` (or
    /// `POST /v1/entries` for one) and returns each outcome, verified.
    pub async fn submit(
        &self,
        envelopes: &[Envelope],
    ) -> Result<Vec<Result<Ack, ClientError>>, ClientError> {
        if let [one] = envelopes {
            let resp = self
                .http
                .post(format!("{}/v1/entries", self.base))
                .header("content-type", "application/json")
                .body(one.to_json())
                .send()
                .await
                .map_err(|e| ClientError::Unreachable(e.to_string()))?;
            return Ok(vec![match Self::answer(resp).await {
                Ok(body) => serde_json::from_slice::<Value>(&body)
                    .map_err(|e| ClientError::Malformed(e.to_string()))
                    .and_then(|v| self.verify_ack(&v)),
                Err(e) => Err(e),
            }]);
        }
        let mut body = b"[".to_vec();
        for (i, e) in envelopes.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&e.to_json());
        }
        body.push(b']');
        let resp = self
            .http
            .post(format!("{}/v1/entries/batch", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        let v: Value = serde_json::from_slice(&Self::answer(resp).await?)
            .map_err(|e| ClientError::Malformed(e.to_string()))?;
        let results = v["results"]
            .as_array()
            .ok_or_else(|| malformed("results"))?;
        Ok(results
            .iter()
            .map(|r| {
                if r["error"].is_string() {
                    Err(ClientError::Status {
                        status: r["status"].as_u64().unwrap_or(0) as u16,
                        message: r["message"].as_str().unwrap_or_default().to_owned(),
                    })
                } else {
                    self.verify_ack(r)
                }
            })
            .collect())
    }

    /// Fetches the release bundle of `package@version` at `registry` (an
    /// origin or a host) and verifies every entry against the bundle's
    /// checkpoint; returns the entries' leaves.
    pub async fn verified_bundle(
        &self,
        registry: &str,
        package: &str,
        version: &str,
    ) -> Result<(TreeHead, Vec<(LeafIndex, Vec<u8>)>), ClientError> {
        let body = self
            .get_query(
                "/v1/bundle",
                &[
                    ("registry", registry),
                    ("package", package),
                    ("version", version),
                ],
            )
            .await?;
        let v: Value =
            serde_json::from_slice(&body).map_err(|e| ClientError::Malformed(e.to_string()))?;
        let note = v["checkpoint"]["note"]
            .as_str()
            .ok_or_else(|| malformed("checkpoint"))?;
        let head = self.open_checkpoint(note.as_bytes())?.head();
        let mut out = Vec::new();
        for e in v["bundles"][0]["entries"]
            .as_array()
            .ok_or_else(|| malformed("entries"))?
        {
            let (index, leaf, _) = proven_entry(e, &head)?;
            out.push((index, leaf));
        }
        Ok((head, out))
    }

    /// Fetches release bundles for many releases (each at its registry)
    /// through `POST /v1/bundles`, in parallel chunks of at most `chunk`
    /// releases. Nothing is verified here: the caller checks every
    /// checkpoint, leaf, proof and chain ([`crate::verify`]).
    pub async fn fetch_bundles(
        &self,
        releases: &[ReleaseRef],
        chunk: usize,
    ) -> Result<Vec<FetchedRelease>, ClientError> {
        let mut tasks = Vec::new();
        for part in releases.chunks(chunk.max(1)) {
            let (this, part) = (self.clone(), part.to_vec());
            tasks.push(tokio::spawn(
                async move { this.fetch_splitting(part).await },
            ));
        }
        let mut out = Vec::with_capacity(releases.len());
        for t in tasks {
            out.extend(
                t.await
                    .map_err(|e| ClientError::Unreachable(e.to_string()))??,
            );
        }
        Ok(out)
    }

    /// [`LogClient::fetch_part`], asking again in halves for a part whose
    /// answer the log finds too large (`413`): a lockfile's bundles can
    /// pass the log's answer limit, in the JSON form of older logs sooner.
    async fn fetch_splitting(
        &self,
        part: Vec<ReleaseRef>,
    ) -> Result<Vec<FetchedRelease>, ClientError> {
        let mut out = Vec::new();
        let mut todo = vec![part];
        while let Some(part) = todo.pop() {
            match self.fetch_part(&part).await {
                Err(ClientError::Status { status: 413, .. }) if part.len() > 1 => {
                    let (first, second) = part.split_at(part.len() / 2);
                    todo.push(second.to_vec());
                    todo.push(first.to_vec());
                }
                answer => out.extend(answer?),
            }
        }
        Ok(out)
    }

    /// One `POST /v1/bundles` for `part`: the compact form when the log has
    /// it (a log without it ignores `Accept` and answers JSON).
    async fn fetch_part(&self, part: &[ReleaseRef]) -> Result<Vec<FetchedRelease>, ClientError> {
        let body = serde_json::json!({
            "releases": part.iter().map(|r| serde_json::json!({
                "registry": r.registry,
                "package": r.package,
                "version": r.version,
            })).collect::<Vec<_>>()
        });
        let resp = self
            .http
            .post(format!("{}/v1/bundles", self.base))
            .header(reqwest::header::ACCEPT, ACCEPT_BUNDLES)
            .header(reqwest::header::ACCEPT_ENCODING, "br, gzip")
            .json(&body)
            .send()
            .await
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let compact =
            header(reqwest::header::CONTENT_TYPE).starts_with(compact_bundles::CONTENT_TYPE);
        let coding = header(reqwest::header::CONTENT_ENCODING);
        let bytes = decode(&coding, Self::answer(resp).await?)?;
        if compact {
            crate::compact::parse_answer(&bytes)
        } else {
            parse_bundles(&bytes)
        }
    }

    /// Fetches a consistency proof between two sizes (unverified).
    pub async fn consistency_path(
        &self,
        old: TreeSize,
        new: TreeSize,
    ) -> Result<Vec<Hash>, ClientError> {
        let v = self
            .get_json(&format!(
                "/v1/proofs/consistency?old={}&new={}",
                old.0, new.0
            ))
            .await?;
        path_of(&v["path"])
    }

    /// Fetches and verifies the inclusion of an entry, named by index or by
    /// leaf hash, in the latest checkpoint.
    pub async fn verified_inclusion(
        &self,
        asked_index: Option<u64>,
        asked_leaf: Option<Hash>,
    ) -> Result<Ack, ClientError> {
        let head = self.checkpoint().await?.head();
        let size = head.size.0.to_string();
        let (key, value) = match (asked_index, asked_leaf) {
            (Some(i), _) => ("index", i.to_string()),
            (None, Some(h)) => ("leaf_hash", h.to_hex()),
            (None, None) => return Err(malformed("an index or a leaf hash")),
        };
        let body = self
            .get_query(
                "/v1/proofs/inclusion",
                &[(key, value.as_str()), ("tree_size", size.as_str())],
            )
            .await?;
        let v: Value =
            serde_json::from_slice(&body).map_err(|e| ClientError::Malformed(e.to_string()))?;
        let (index, _, leaf_hash) = proven_entry(&v, &head)?;
        // The log must answer about the entry that was asked for.
        if asked_leaf.is_some_and(|h| h != leaf_hash) || asked_index.is_some_and(|i| i != index.0) {
            return Err(ClientError::Verification(
                "the log answered with another entry".into(),
            ));
        }
        Ok(Ack {
            index,
            leaf_hash,
            head,
        })
    }

    /// Fetches the inclusion proof of entry `index` in the tree of `head`
    /// (from a checkpoint the caller verified) and verifies it; the leaf
    /// hash is computed here from the leaf the log returns.
    pub async fn verified_inclusion_at(
        &self,
        index: u64,
        head: &TreeHead,
    ) -> Result<Ack, ClientError> {
        let (i, size) = (index.to_string(), head.size.0.to_string());
        let body = self
            .get_query(
                "/v1/proofs/inclusion",
                &[("index", i.as_str()), ("tree_size", size.as_str())],
            )
            .await?;
        let v: Value =
            serde_json::from_slice(&body).map_err(|e| ClientError::Malformed(e.to_string()))?;
        let (proven, _, leaf_hash) = proven_entry(&v, head)?;
        if proven.0 != index {
            return Err(ClientError::Verification(
                "the log answered with another entry".into(),
            ));
        }
        Ok(Ack {
            index: proven,
            leaf_hash,
            head: *head,
        })
    }

    /// Fetches a c2sp.org/tlog-tiles resource (`tile/…`) as it is; the
    /// caller verifies what it builds from it.
    pub async fn tile(&self, path: &str) -> Result<Vec<u8>, ClientError> {
        self.get(&format!("/{path}")).await
    }

    /// Fetches entry `index` with its proof against the latest checkpoint,
    /// verifies both, and decodes the leaf and its event.
    pub async fn verified_entry(
        &self,
        index: u64,
    ) -> Result<(gatelog_core::Leaf, gatelog_core::Event), ClientError> {
        let head = self.checkpoint().await?.head();
        let v = self
            .get_json(&format!("/v1/entries/{index}?tree_size={}", head.size.0))
            .await?;
        let (proven, leaf, _) = proven_entry(&v, &head)?;
        if proven.0 != index {
            return Err(ClientError::Verification(
                "the log answered with another entry".into(),
            ));
        }
        let leaf =
            gatelog_core::Leaf::parse(&leaf).map_err(|e| ClientError::Malformed(e.to_string()))?;
        let event = gatelog_core::Event::from_envelope(leaf.envelope())
            .map_err(|e| ClientError::Malformed(e.to_string()))?;
        Ok((leaf, event))
    }

    /// The tree size of the latest checkpoint (unverified shortcut for tests).
    pub async fn size(&self) -> Result<TreeSize, ClientError> {
        Ok(self.checkpoint().await?.head().size)
    }
}

/// Reads an entry object (`index`, `leaf`, `inclusion_proof.path`) and
/// checks it against `head`. The leaf hash is computed here from the leaf
/// bytes, never taken from the answer.
fn proven_entry(e: &Value, head: &TreeHead) -> Result<(LeafIndex, Vec<u8>, Hash), ClientError> {
    let received = received_entry(e, std::sync::Arc::new(Vec::new()))?;
    let hash = leaf_hash(&received.leaf);
    let proof = InclusionProof {
        index: received.index,
        tree_size: head.size,
        path: received.path,
    };
    verify_inclusion(&hash, &proof, head).map_err(|e| ClientError::Verification(e.to_string()))?;
    Ok((received.index, received.leaf, hash))
}

/// Reads an entry object without checking it.
fn received_entry(
    e: &Value,
    checkpoint: std::sync::Arc<Vec<u8>>,
) -> Result<ReceivedEntry, ClientError> {
    Ok(ReceivedEntry {
        index: LeafIndex(e["index"].as_u64().ok_or_else(|| malformed("index"))?),
        leaf: STANDARD
            .decode(e["leaf"].as_str().ok_or_else(|| malformed("leaf"))?)
            .map_err(|_| malformed("leaf base64"))?,
        path: path_of(&e["inclusion_proof"]["path"])?,
        checkpoint,
    })
}

/// One entry of a release bundle as received: not yet verified.
#[derive(Clone, Debug)]
pub struct ReceivedEntry {
    /// Claimed index.
    pub index: LeafIndex,
    /// Leaf bytes (the caller hashes them itself).
    pub leaf: Vec<u8>,
    /// Claimed inclusion proof.
    pub path: Vec<Hash>,
    /// The checkpoint note the proof is for, verbatim.
    pub checkpoint: std::sync::Arc<Vec<u8>>,
}

/// One release asked for: where it comes from and what it is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReleaseRef {
    /// The registry host ([`crate::registry::host_of`]).
    pub registry: String,
    /// Package name.
    pub package: String,
    /// Version.
    pub version: String,
}

/// What the log says about the package's `prev` chain in a bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chain {
    /// The package's latest entry at the bundle's checkpoint (`None`: the
    /// package has no event).
    pub head: Option<LeafIndex>,
    /// Whether the bundle holds every entry of the chain from the version's
    /// first event to `head` (the log caps how many it sends).
    pub complete: bool,
}

/// A release bundle as received.
#[derive(Clone, Debug)]
pub struct FetchedRelease {
    /// The registry host the bundle says it is for (normalised), if it says.
    pub registry: Option<String>,
    /// Package name.
    pub package: String,
    /// Version.
    pub version: String,
    /// The package's chain as the log describes it, if it does.
    pub chain: Option<Chain>,
    /// Its entries.
    pub entries: Vec<ReceivedEntry>,
}

/// Reads a bundle's `registry` field (absent or null: `None`).
pub fn registry_field(v: &Value) -> Result<Option<String>, ClientError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => crate::registry::host_of(s)
            .map(Some)
            .map_err(ClientError::Malformed),
        _ => Err(malformed("registry")),
    }
}

/// Reads a bundle's `chain` object (absent or null: `None`).
pub fn chain_field(v: &Value) -> Result<Option<Chain>, ClientError> {
    if v.is_null() {
        return Ok(None);
    }
    let head = match &v["head"] {
        Value::Null => None,
        h => Some(LeafIndex(
            h.as_u64().ok_or_else(|| malformed("chain.head"))?,
        )),
    };
    let complete = v["complete"]
        .as_bool()
        .ok_or_else(|| malformed("chain.complete"))?;
    Ok(Some(Chain { head, complete }))
}

/// Parses a `POST /v1/bundles` answer.
pub fn parse_bundles(bytes: &[u8]) -> Result<Vec<FetchedRelease>, ClientError> {
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| ClientError::Malformed(e.to_string()))?;
    let note = std::sync::Arc::new(
        v["checkpoint"]["note"]
            .as_str()
            .ok_or_else(|| malformed("checkpoint"))?
            .as_bytes()
            .to_vec(),
    );
    let mut out = Vec::new();
    for b in v["bundles"]
        .as_array()
        .ok_or_else(|| malformed("bundles"))?
    {
        let mut entries = Vec::new();
        for e in b["entries"]
            .as_array()
            .ok_or_else(|| malformed("entries"))?
        {
            entries.push(received_entry(e, note.clone())?);
        }
        out.push(FetchedRelease {
            registry: registry_field(&b["registry"])?,
            package: b["package"]
                .as_str()
                .ok_or_else(|| malformed("package"))?
                .to_owned(),
            version: b["version"]
                .as_str()
                .ok_or_else(|| malformed("version"))?
                .to_owned(),
            chain: chain_field(&b["chain"])?,
            entries,
        });
    }
    Ok(out)
}

/// Decompresses an answer sent with `Content-Encoding: coding` (`br`,
/// `gzip` or none), refusing one that grows past [`MAX_ANSWER`].
fn decode(coding: &str, bytes: Vec<u8>) -> Result<Vec<u8>, ClientError> {
    use std::io::Read;
    let reader: Box<dyn Read + '_> = match coding {
        "" | "identity" => return Ok(bytes),
        "gzip" => Box::new(flate2::read::GzDecoder::new(bytes.as_slice())),
        "br" => Box::new(brotli::Decompressor::new(bytes.as_slice(), 64 * 1024)),
        other => {
            return Err(ClientError::Malformed(format!(
                "the answer has a content encoding not asked for: {other:?}"
            )));
        }
    };
    let mut out = Vec::with_capacity(bytes.len() * 3);
    reader
        .take(MAX_ANSWER as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| ClientError::Malformed(format!("{coding} answer: {e}")))?;
    if out.len() > MAX_ANSWER {
        return Err(ClientError::Malformed(format!(
            "the answer is larger than {MAX_ANSWER} bytes once decompressed"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod decode_tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn brotli_and_gzip_answers_decode_and_other_codings_are_refused() {
        let answer = b"gatelog-bundles/compact-v1\n".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&answer).unwrap();
        let gz = gz.finish().unwrap();
        let mut br = brotli::CompressorWriter::new(Vec::new(), 4096, 1, 22);
        br.write_all(&answer).unwrap();
        br.flush().unwrap();
        let br = br.into_inner();
        assert_eq!(decode("gzip", gz.clone()).unwrap(), answer);
        assert_eq!(decode("br", br.clone()).unwrap(), answer);
        assert_eq!(decode("", answer.clone()).unwrap(), answer);
        assert!(decode("br", gz).is_err());
        assert!(decode("gzip", br[..br.len() / 2].to_vec()).is_err());
        let err = decode("zstd", answer).unwrap_err();
        assert!(err.to_string().contains("not asked for"), "{err}");
    }
}
