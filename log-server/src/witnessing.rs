//! Collecting witness cosignatures (c2sp.org/tlog-witness) for the log's
//! checkpoints.
//!
//! A task follows the latest durable checkpoint. For each new one it sends
//! every witness of the policy that has a URL an `add-checkpoint` request
//! with the consistency proof from the size that witness last cosigned
//! (learnt from its 409 answers), verifies each cosignature it gets back,
//! and serves the checkpoint with those cosignatures once every witness
//! answered or `wait` passed; cosignatures that arrive later are added to
//! it. Writes never wait on a witness: acknowledgements carry the latest
//! checkpoint at once, and a witness that is down only costs its
//! cosignature. Checkpoints that come faster than witnesses answer are
//! coalesced: each round takes the newest.

use std::sync::Arc;
use std::time::Duration;

use gatelog_core::cosignature::CosignatureVerifier;
use gatelog_core::merkle::{consistency_proof, consistency_proof_nodes};
use gatelog_core::note::NoteSignature;
use gatelog_core::witness::{AddCheckpoint, SIZE_CONTENT_TYPE, parse_cosignatures, parse_size};
use gatelog_core::witness_policy::WitnessPolicy;
use gatelog_core::{Hash, SignedCheckpoint, TreeSize};
use tokio::task::JoinSet;

use crate::published::Published;
use crate::store::LogStore;

/// Per-request timeout for a witness.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A witness the log submits to.
#[derive(Clone, Debug)]
pub struct WitnessTarget {
    /// Its name in the policy.
    pub name: String,
    /// Its submission prefix; requests go to `<url>/add-checkpoint`.
    pub url: String,
    /// Its cosignature key.
    pub key: CosignatureVerifier,
}

/// Which witnesses to ask and how long reads wait for them.
#[derive(Clone, Debug)]
pub struct WitnessSettings {
    /// The witnesses with a URL.
    pub targets: Vec<WitnessTarget>,
    /// How long the previous checkpoint stays served while witnesses cosign.
    pub wait: Duration,
}

impl WitnessSettings {
    /// The witnesses of `policy` that have a URL; an error if none has.
    pub fn new(policy: &WitnessPolicy, wait: Duration) -> Result<WitnessSettings, String> {
        let targets: Vec<WitnessTarget> = policy
            .witnesses()
            .iter()
            .filter_map(|w| {
                Some(WitnessTarget {
                    name: w.name.clone(),
                    url: w.url.clone()?.trim_end_matches('/').to_owned(),
                    key: w.key.clone(),
                })
            })
            .collect();
        if targets.is_empty() {
            return Err("the witness policy names no witness with a URL to submit to".into());
        }
        Ok(WitnessSettings { targets, wait })
    }
}

/// Starts the task; it ends when the runtime does.
pub fn spawn(store: Arc<dyn LogStore>, published: Arc<Published>, settings: WitnessSettings) {
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .unwrap_or_default();
    tokio::spawn(run(store, published, settings, http));
}

async fn run(
    store: Arc<dyn LogStore>,
    published: Arc<Published>,
    settings: WitnessSettings,
    http: reqwest::Client,
) {
    let mut latest = published.subscribe();
    // The size each witness last cosigned, as far as the log knows.
    let mut known: Vec<u64> = vec![0; settings.targets.len()];
    let mut current = latest.borrow_and_update().clone();
    loop {
        known = cosign_round(&store, &published, &settings, &http, &current, known).await;
        if latest.changed().await.is_err() {
            return;
        }
        current = latest.borrow_and_update().clone();
    }
}

/// Asks every witness to cosign `cp`; serves it after `wait` or once all
/// answered, adding late cosignatures as they come. Returns the sizes the
/// witnesses are now known to have cosigned.
async fn cosign_round(
    store: &Arc<dyn LogStore>,
    published: &Arc<Published>,
    settings: &WitnessSettings,
    http: &reqwest::Client,
    cp: &Arc<SignedCheckpoint>,
    known: Vec<u64>,
) -> Vec<u64> {
    let started = std::time::Instant::now();
    let mut tasks = JoinSet::new();
    for (i, (target, old)) in settings.targets.iter().zip(&known).enumerate() {
        let (store, http, target, cp, old) = (
            store.clone(),
            http.clone(),
            target.clone(),
            cp.clone(),
            *old,
        );
        tasks.spawn(async move {
            let outcome = submit(store, &http, &target, &cp, old).await;
            (i, outcome)
        });
    }
    let mut known = known;
    // (witness index, line): served in the policy's order, whatever the
    // order of the answers.
    let mut cosigned: Vec<(usize, NoteSignature)> = Vec::new();
    let deadline = tokio::time::sleep(settings.wait);
    tokio::pin!(deadline);
    let mut serving = false;
    loop {
        tokio::select! {
            joined = tasks.join_next() => {
                let Some(joined) = joined else { break };
                let Ok((i, outcome)) = joined else { continue };
                match outcome {
                    Ok((size, line)) => {
                        known[i] = size;
                        cosigned.push((i, line));
                        cosigned.sort_by_key(|(i, _)| *i);
                        if serving {
                            serve(published, cp, &cosigned);
                        }
                    }
                    Err(Failure { size, why }) => {
                        if let Some(size) = size {
                            known[i] = size;
                        }
                        tracing::warn!(
                            witness = %settings.targets[i].name,
                            size = cp.head().size.0,
                            "witness did not cosign: {why}"
                        );
                    }
                }
            }
            () = &mut deadline, if !serving => {
                serving = true;
                serve(published, cp, &cosigned);
            }
        }
    }
    serve(published, cp, &cosigned);
    // One line per round: what the bench reads for cosigning latency.
    tracing::info!(
        size = cp.head().size.0,
        cosignatures = cosigned.len(),
        witnesses = settings.targets.len(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        served_before_all_answered = serving,
        "cosigning round done"
    );
    known
}

/// Serves `cp` with `cosigned` appended, unless a newer checkpoint is
/// already served.
fn serve(published: &Published, cp: &SignedCheckpoint, cosigned: &[(usize, NoteSignature)]) {
    if published.served().head().size > cp.head().size {
        return;
    }
    let mut with = cp.clone();
    with.note
        .signatures
        .extend(cosigned.iter().map(|(_, line)| line.clone()));
    published.set_served(Arc::new(with));
}

/// Why a witness did not cosign; `size` is its cosigned size if it said.
struct Failure {
    size: Option<u64>,
    why: String,
}

fn failure(why: impl Into<String>) -> Failure {
    Failure {
        size: None,
        why: why.into(),
    }
}

/// One witness, one checkpoint: at most one retry, after a 409 names the
/// size the witness holds. Returns the cosigned size and the verified line.
async fn submit(
    store: Arc<dyn LogStore>,
    http: &reqwest::Client,
    target: &WitnessTarget,
    cp: &SignedCheckpoint,
    mut old: u64,
) -> Result<(u64, NoteSignature), Failure> {
    let size = cp.head().size.0;
    for _ in 0..2 {
        if old > size {
            return Err(Failure {
                size: Some(old),
                why: format!("it has cosigned a larger tree ({old} entries)"),
            });
        }
        let reader = store.clone();
        let proof = tokio::task::spawn_blocking(move || consistency_path(&*reader, old, size))
            .await
            .map_err(|e| failure(e.to_string()))?
            .map_err(failure)?;
        let body = AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: cp.to_bytes(),
        }
        .to_bytes();
        let url = format!("{}/add-checkpoint", target.url);
        let answer = http
            .post(&url)
            .body(body)
            .send()
            .await
            .map_err(|e| failure(format!("{url}: {e}")))?;
        let status = answer.status();
        let is_size = answer
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(SIZE_CONTENT_TYPE.as_bytes()));
        let bytes = answer
            .bytes()
            .await
            .map_err(|e| failure(format!("{url}: {e}")))?;
        if status == reqwest::StatusCode::CONFLICT && is_size {
            let text = String::from_utf8_lossy(&bytes);
            let held = parse_size(text.trim_end_matches('\n'))
                .ok_or_else(|| failure(format!("409 with a malformed size {text:?}")))?;
            old = held;
            continue;
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned();
            return Err(Failure {
                size: Some(old),
                why: format!("{status}: {}", text.trim()),
            });
        }
        let lines = parse_cosignatures(&bytes).map_err(|e| failure(e.to_string()))?;
        let key = target.key.key();
        let line = lines
            .into_iter()
            .find(|l| l.name == key.name() && l.key_id == key.id())
            .ok_or_else(|| failure("the answer holds no cosignature by its key"))?;
        if target
            .key
            .verified_timestamp(&cp.note.text, &line.signature)
            .is_none()
        {
            return Err(failure("its cosignature does not verify"));
        }
        return Ok((size, line));
    }
    Err(failure("it answered 409 twice"))
}

fn consistency_path(store: &dyn LogStore, old: u64, new: u64) -> Result<Vec<Hash>, String> {
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    let (old, new) = (TreeSize(old), TreeSize(new));
    let nodes = consistency_proof_nodes(old, new).map_err(|e| e.to_string())?;
    let hashes = store.read_hashes(&nodes).map_err(|e| e.to_string())?;
    Ok(consistency_proof(old, new, &hashes)
        .map_err(|e| e.to_string())?
        .path)
}
