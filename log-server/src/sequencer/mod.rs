//! The sequencer: the only writer. It pools submissions for a short interval
//! (or until a batch is full), then commits them in this order — never sign
//! what is not durable, never acknowledge what is not signed:
//!
//! 1. **Assign.** Each new event gets the next index, `logged_at` from the
//!    log clock (never below the stored clock) and `prev` (its package's
//!    previous event); its leaf hash goes into the compact range, which
//!    yields every complete subtree hash to store.
//! 2. **Write.** One atomic, synced `append`: leaves, hashes, index keys,
//!    tree size and clock. *Crash or error here:* the batch is all or
//!    nothing; nothing was signed or acknowledged. On error the in-memory
//!    range is reloaded from the store, so a write that failed but did
//!    persist ("failed, but persisted") is picked up, and one that did not
//!    is forgotten.
//! 3. **Check.** The root is recomputed from the hashes just read back from
//!    the store and compared with the compact range's root: a store that
//!    lost or altered a write stops the log before anything is signed.
//! 4. **Sign and store the checkpoint** (synced). *Crash here:* entries are
//!    durable but unsigned and unacknowledged; startup signs them.
//!    *Error here:* submitters get an error; the next batch signs a
//!    checkpoint covering these entries too.
//! 5. **Publish** the checkpoint to readers.
//! 6. **Answer** every submitter with its index, leaf hash, inclusion proof
//!    and the checkpoint.
//!
//! The work that does not depend on the order of entries happens before,
//! on the HTTP handlers' threads: parsing, the submitter's signature, the
//! envelope digest, and device signatures the [`cache`] allows checking
//! ([`precheck`]). The sequencer keeps the order-dependent checks, with
//! recent entries and device keys from the cache instead of the store.

pub mod cache;
pub mod precheck;
pub mod references;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gatelog_core::event::EventBody;
use gatelog_core::merkle::{inclusion_proof, inclusion_proof_nodes, root_from_nodes, root_nodes};
use gatelog_core::{
    Checkpoint, CompactRange, Envelope, Event, Hash, InclusionProof, Leaf, LeafIndex, NodeId,
    Origin, SignedCheckpoint, SignerKey, TreeHead,
};
use tokio::sync::oneshot;

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::published::Published;
use crate::store::{AppendBatch, IndexKey, LogStore, StoreError, TreeState};
use cache::{LogCache, RECENT_ENTRIES};
use precheck::DeviceCheck;
use references::ReferenceError;

/// Packages whose latest entry the sequencer remembers; beyond, it starts
/// over (a miss is one store lookup).
const HEADS: usize = 262_144;

/// How the sequencer batches.
#[derive(Clone, Copy, Debug)]
pub struct SequencerConfig {
    /// How long a batch stays open after its first submission.
    pub batch_interval: Duration,
    /// A batch closes early when it holds this many submissions.
    pub max_batch: usize,
    /// Submissions that may wait for the sequencer; more are refused (503).
    pub pool_size: usize,
}

impl Default for SequencerConfig {
    fn default() -> Self {
        SequencerConfig {
            batch_interval: Duration::from_millis(200),
            max_batch: 4096,
            pool_size: 16384,
        }
    }
}

/// A verified envelope waiting to be logged.
pub struct Submission {
    /// The envelope, its submitter signature already verified.
    pub envelope: Envelope,
    /// Its decoded, validated event.
    pub event: Event,
    /// The envelope's content digest (payload type and payload, not
    /// signatures): resubmissions are found by it.
    pub digest: Hash,
    /// Its device signature, if checked ahead ([`precheck`]).
    pub device_check: Option<DeviceCheck>,
    /// When it arrived: its batch closes one interval later.
    pub received: Instant,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Result<Accepted, SubmitError>>,
}

impl Submission {
    /// A submission of a verified envelope and its event, arriving now.
    pub fn new(
        envelope: Envelope,
        event: Event,
        reply: oneshot::Sender<Result<Accepted, SubmitError>>,
    ) -> Submission {
        Submission {
            digest: envelope.content_digest(),
            envelope,
            event,
            device_check: None,
            received: Instant::now(),
            reply,
        }
    }
}

/// A logged entry, as acknowledged to its submitter.
#[derive(Clone, Debug)]
pub struct Accepted {
    /// Its index.
    pub index: LeafIndex,
    /// RFC 6962 leaf hash of the stored leaf.
    pub leaf_hash: Hash,
    /// Proof of inclusion in `checkpoint`.
    pub proof: InclusionProof,
    /// The signed checkpoint the proof is for.
    pub checkpoint: Arc<SignedCheckpoint>,
    /// True when the same envelope was logged before (nothing was added).
    pub duplicate: bool,
}

/// Why a submission was not logged.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The event refers to entries that do not exist or do not match.
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// Storage failed; nothing was acknowledged. Retry later.
    #[error("storage failure, nothing was logged: {0}")]
    Storage(String),
    /// The log's disk is full; nothing was acknowledged. Retry later.
    #[error("the log's disk is full, nothing was logged: {0}")]
    DiskFull(String),
    /// The envelope cannot be made into a leaf (larger than a leaf may
    /// be, once wrapped): a fault of the submission, not of the log.
    #[error("the envelope cannot be logged: {0}")]
    Leaf(#[source] gatelog_core::LeafError),
    /// The pool is full. Retry later.
    #[error("the log is busy")]
    Busy,
    /// The log stopped (shutdown or a fatal storage error).
    #[error("the log is not accepting entries")]
    Stopped,
}

/// The HTTP side's handle: submits into the bounded pool.
#[derive(Clone)]
pub struct SequencerHandle {
    tx: SyncSender<Submission>,
    cache: Arc<LogCache>,
}

impl SequencerHandle {
    /// A handle whose pool nobody drains, for tests of backpressure.
    #[cfg(test)]
    pub fn detached(pool_size: usize) -> (SequencerHandle, Receiver<Submission>) {
        let (tx, rx) = sync_channel(pool_size);
        let cache = Arc::new(LogCache::new(RECENT_ENTRIES, 0));
        (SequencerHandle { tx, cache }, rx)
    }

    /// What the sequencer remembers of recent entries and device keys.
    pub fn cache(&self) -> &LogCache {
        &self.cache
    }

    /// Queues a submission without waiting; `Busy` when the pool is full.
    pub fn submit(&self, submission: Submission) -> Result<(), SubmitError> {
        self.tx.try_send(submission).map_err(|e| match e {
            TrySendError::Full(_) => SubmitError::Busy,
            TrySendError::Disconnected(_) => SubmitError::Stopped,
        })
    }
}

/// The sequencer's own state; lives on its thread.
pub struct Sequencer<S: LogStore> {
    store: Arc<S>,
    key: SignerKey,
    origin: Origin,
    clock: Arc<dyn Clock>,
    published: Arc<Published>,
    metrics: Arc<Metrics>,
    range: CompactRange,
    state: TreeState,
    cache: Arc<LogCache>,
    /// The latest durable entry of recently seen packages.
    heads: HashMap<PackageKey, LeafIndex>,
}

/// A package as the log keys it: its registry's host and its name. One
/// registry's events never continue another registry's chain.
type PackageKey = (String, String);

/// The [`PackageKey`] of an event.
fn package_key(event: &Event) -> PackageKey {
    (
        event.registry.host().to_owned(),
        event.package.as_str().to_owned(),
    )
}

/// One entry of the batch being built, and who to tell.
struct Pending {
    reply: oneshot::Sender<Result<Accepted, SubmitError>>,
    index: LeafIndex,
    duplicate: bool,
}

impl<S: LogStore> Sequencer<S> {
    /// A sequencer continuing from the store's durable state, which the
    /// startup check has already reconciled with `published`.
    pub fn new(
        store: Arc<S>,
        key: SignerKey,
        origin: Origin,
        clock: Arc<dyn Clock>,
        published: Arc<Published>,
        metrics: Arc<Metrics>,
    ) -> Result<Sequencer<S>, StoreError> {
        let state = store.state()?;
        let range = load_range(&*store, state)?;
        Ok(Sequencer {
            store,
            key,
            origin,
            clock,
            published,
            metrics,
            range,
            state,
            cache: Arc::new(LogCache::new(RECENT_ENTRIES, state.size.0)),
            heads: HashMap::new(),
        })
    }

    /// Starts the sequencer thread. It runs until every handle is dropped,
    /// finishing the batch in flight, or until storage fails fatally.
    /// `alive` turns false when the thread ends.
    pub fn spawn(
        self,
        config: SequencerConfig,
        alive: Arc<AtomicBool>,
    ) -> (SequencerHandle, JoinHandle<()>) {
        let (tx, rx) = sync_channel(config.pool_size.max(1));
        let cache = self.cache.clone();
        alive.store(true, Ordering::SeqCst);
        let thread = std::thread::Builder::new()
            .name("gatelog-sequencer".into())
            .spawn(move || {
                self.run(rx, config);
                alive.store(false, Ordering::SeqCst);
            })
            .expect("spawn sequencer thread");
        (SequencerHandle { tx, cache }, thread)
    }

    fn run(mut self, rx: Receiver<Submission>, config: SequencerConfig) {
        while let Ok(first) = rx.recv() {
            // The interval runs from the first submission's arrival, so time
            // it waited while the previous batch committed counts.
            let deadline = first.received + config.batch_interval;
            let mut batch = vec![first];
            while batch.len() < config.max_batch {
                let left = deadline.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left) {
                    Ok(s) => batch.push(s),
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                }
            }
            if let Err(e) = self.commit(batch) {
                tracing::error!("sequencer stopped: {e}");
                // Dropping `rx` makes every later submission fail as Stopped.
                return;
            }
        }
        tracing::info!("sequencer finished");
    }

    /// Commits one batch and answers its submitters. An `Err` is fatal: the
    /// store no longer matches what the sequencer believes.
    pub fn commit(&mut self, batch: Vec<Submission>) -> Result<(), StoreError> {
        let started = Instant::now();
        let committed = self.state.size;
        let mut append = AppendBatch {
            first: committed.0,
            ..AppendBatch::default()
        };
        let (logged, stored_heads) = match self.prefetch(&batch) {
            Ok(found) => found,
            Err(e) => {
                for sub in batch {
                    let _ = sub.reply.send(Err(SubmitError::Storage(e.to_string())));
                }
                return Ok(());
            }
        };
        let mut pending = Vec::with_capacity(batch.len());
        let mut envelopes: HashMap<Hash, LeafIndex> = HashMap::new();
        let mut heads: HashMap<PackageKey, LeafIndex> = HashMap::new();
        let mut fresh: Vec<(Hash, Arc<Event>)> = Vec::new();
        let mut state = self.state;
        for sub in batch {
            let digest = sub.digest;
            // Step 1: assign. Identical resubmissions get the existing index.
            let known = envelopes
                .get(&digest)
                .copied()
                .or_else(|| logged.get(&digest).copied().flatten());
            if let Some(index) = known {
                pending.push(Pending {
                    reply: sub.reply,
                    index,
                    duplicate: true,
                });
                continue;
            }
            if let Err(e) = references::check(
                &*self.store,
                &self.cache,
                committed,
                &sub.event,
                sub.device_check.as_ref(),
            ) {
                let answer = match e {
                    ReferenceError::Store(s) => SubmitError::Storage(s.to_string()),
                    refused => SubmitError::Reference(refused),
                };
                let _ = sub.reply.send(Err(answer));
                continue;
            }
            let package = package_key(&sub.event);
            let prev = heads
                .get(&package)
                .or_else(|| self.heads.get(&package))
                .copied()
                .or_else(|| stored_heads.get(&package).copied().flatten());
            let logged_at = self.clock.now_ms().max(state.clock);
            let leaf = match Leaf::new(logged_at, prev, sub.envelope) {
                Ok(leaf) => leaf,
                Err(e) => {
                    let _ = sub.reply.send(Err(SubmitError::Leaf(e)));
                    continue;
                }
            };
            let index = LeafIndex(committed.0 + append.leaves.len() as u64);
            let hash = leaf.hash();
            append.nodes.extend(self.range.append(hash));
            append
                .keys
                .extend(index_keys(&sub.event, hash, digest, index));
            append.leaves.push(leaf.into_bytes());
            state.size = index.tree_size_including();
            state.clock = logged_at;
            envelopes.insert(digest, index);
            heads.insert(package, index);
            fresh.push((hash, Arc::new(sub.event)));
            pending.push(Pending {
                reply: sub.reply,
                index,
                duplicate: false,
            });
        }
        append.state = state;

        if !append.leaves.is_empty() {
            self.published.mark_unsigned();
            // Step 2: write.
            if let Err(e) = self.store.append(&append) {
                self.write_failed(&e);
                fail_all(pending, &e);
                self.reload()?;
                // Nothing reached the disk: no entries wait for a signature.
                if self.state.size == self.published.get().head().size {
                    self.published.clear_unsigned();
                }
                return Ok(());
            }
            self.state = state;
            // Step 3: check the root against what the store now holds on
            // disk (not a copy in memory).
            let stored = self.store.read_stored_hashes(&root_nodes(state.size))?;
            let stored_root = root_from_nodes(state.size, &stored)?;
            if stored_root != self.range.root() {
                fail_all(pending, &StoreError::Corrupt("root mismatch".into()));
                return Err(StoreError::Corrupt(format!(
                    "after writing, the stored tree of size {} has root {stored_root}, expected {}",
                    state.size,
                    self.range.root()
                )));
            }
            // Durable: later checks may use these entries from memory.
            self.cache.add(committed.0, fresh);
            if self.heads.len() + heads.len() > HEADS {
                self.heads.clear();
            }
            self.heads.extend(heads);
        }

        // Step 4: sign and store, if the published checkpoint is behind.
        let mut checkpoint = self.published.get();
        if checkpoint.head().size != self.state.size {
            match self.sign_and_store() {
                Ok(cp) => {
                    self.write_ok();
                    // Step 5: publish, now that it is durable.
                    self.published.set(cp.clone());
                    checkpoint = cp;
                }
                Err(e) => {
                    self.write_failed(&e);
                    fail_all(pending, &e);
                    return Ok(());
                }
            }
        }

        self.metrics.record_batch(
            append.leaves.len(),
            started.elapsed(),
            checkpoint.head().size.0,
        );
        // Step 6: answer, each with a proof against the checkpoint.
        let fresh: HashMap<NodeId, Hash> = append.nodes.iter().copied().collect();
        match self.acknowledgements(&pending, &checkpoint, fresh) {
            Ok(acks) => {
                for (p, ack) in pending.into_iter().zip(acks) {
                    let _ = p.reply.send(Ok(ack));
                }
            }
            Err(e) => fail_all(pending, &e),
        }
        Ok(())
    }

    /// Reads, one batch read each, which envelopes of `batch` are logged
    /// already, and the latest entry of its packages the sequencer does not
    /// remember.
    #[allow(clippy::type_complexity)]
    fn prefetch(
        &self,
        batch: &[Submission],
    ) -> Result<
        (
            HashMap<Hash, Option<LeafIndex>>,
            HashMap<PackageKey, Option<LeafIndex>>,
        ),
        StoreError,
    > {
        let mut digests: Vec<Hash> = batch.iter().map(|s| s.digest).collect();
        digests.sort_unstable();
        digests.dedup();
        let keys: Vec<IndexKey> = digests.iter().map(|d| IndexKey::Envelope(*d)).collect();
        let logged = digests
            .into_iter()
            .zip(self.store.lookup_many(&keys)?)
            .collect();
        let mut packages: Vec<PackageKey> = batch
            .iter()
            .map(|s| package_key(&s.event))
            .filter(|p| !self.heads.contains_key(p))
            .collect();
        packages.sort_unstable();
        packages.dedup();
        let keys: Vec<IndexKey> = packages
            .iter()
            .map(|(r, p)| IndexKey::PackageHead(r.clone(), p.clone()))
            .collect();
        let heads = packages
            .into_iter()
            .zip(self.store.lookup_many(&keys)?)
            .collect();
        Ok((logged, heads))
    }

    /// Builds every submitter's answer. Proofs of one batch share most of
    /// their nodes, and the batch's own nodes are still in memory, so the
    /// store is asked once, for the distinct nodes not in `known`.
    fn acknowledgements(
        &self,
        pending: &[Pending],
        checkpoint: &Arc<SignedCheckpoint>,
        mut known: HashMap<NodeId, Hash>,
    ) -> Result<Vec<Accepted>, StoreError> {
        let size = checkpoint.head().size;
        let mut wanted = Vec::with_capacity(pending.len());
        let mut missing = Vec::new();
        let mut asked = std::collections::HashSet::new();
        for p in pending {
            let nodes = inclusion_proof_nodes(p.index, size)?;
            for id in nodes.iter().copied().chain([NodeId::leaf(p.index)]) {
                if !known.contains_key(&id) && asked.insert(id) {
                    missing.push(id);
                }
            }
            wanted.push(nodes);
        }
        known.extend(
            missing
                .iter()
                .copied()
                .zip(self.store.read_hashes(&missing)?),
        );
        pending
            .iter()
            .zip(wanted)
            .map(|(p, nodes)| {
                let hashes: Vec<Hash> = nodes.iter().map(|id| known[id]).collect();
                Ok(Accepted {
                    index: p.index,
                    leaf_hash: known[&NodeId::leaf(p.index)],
                    proof: inclusion_proof(p.index, size, &hashes)?,
                    checkpoint: checkpoint.clone(),
                    duplicate: p.duplicate,
                })
            })
            .collect()
    }

    fn sign_and_store(&self) -> Result<Arc<SignedCheckpoint>, StoreError> {
        let cp = Checkpoint::new(
            self.origin.clone(),
            TreeHead {
                size: self.state.size,
                root: self.range.root(),
            },
        );
        let note = cp.sign(&self.key).map_err(StoreError::Signing)?;
        self.store
            .put_checkpoint(self.state.size, &note.to_bytes())?;
        Ok(Arc::new(SignedCheckpoint {
            checkpoint: cp,
            note,
        }))
    }

    /// Tells the operator once (and then every minute) that writes fail.
    fn write_failed(&self, e: &StoreError) {
        if self.metrics.record_write_failure(&e.to_string()) {
            let hint = match e {
                StoreError::DiskFull(_) => {
                    "; free space on the data folder's disk: RocksDB resumes writing by itself \
                     once its write buffer (64 MiB) fits, else restart the server"
                }
                _ => "",
            };
            tracing::error!(
                "writes fail; nothing is acknowledged until they work again: {e}{hint}"
            );
        }
    }

    /// Tells the operator when writes work again.
    fn write_ok(&self) {
        if let Some(failed) = self.metrics.record_write_ok() {
            tracing::warn!(
                "writes work again after failing for {:.1}s",
                failed.as_secs_f64()
            );
        }
    }

    /// After a failed write: believe the store, whatever it kept, and
    /// forget what was remembered of it.
    fn reload(&mut self) -> Result<(), StoreError> {
        let state = self.store.state()?;
        self.range = load_range(&*self.store, state)?;
        self.state = state;
        self.cache.reset(state.size.0);
        self.heads.clear();
        Ok(())
    }
}

fn fail_all(pending: Vec<Pending>, e: &StoreError) {
    for p in pending {
        let answer = match e {
            StoreError::DiskFull(m) => SubmitError::DiskFull(m.clone()),
            other => SubmitError::Storage(other.to_string()),
        };
        let _ = p.reply.send(Err(answer));
    }
}

/// Rebuilds the compact range of a stored tree from its stored nodes.
pub fn load_range<S: LogStore + ?Sized>(
    store: &S,
    state: TreeState,
) -> Result<CompactRange, StoreError> {
    let hashes = store.read_hashes(&root_nodes(state.size))?;
    Ok(CompactRange::from_nodes(state.size, hashes)?)
}

/// The index keys a new entry adds.
fn index_keys(
    event: &Event,
    leaf: Hash,
    envelope: Hash,
    index: LeafIndex,
) -> Vec<(IndexKey, LeafIndex)> {
    let (registry, package) = package_key(event);
    let mut keys = vec![
        (IndexKey::LeafHash(leaf), index),
        (IndexKey::Envelope(envelope), index),
        (
            IndexKey::PackageHead(registry.clone(), package.clone()),
            index,
        ),
        (IndexKey::Package(registry.clone(), package.clone()), index),
    ];
    if let Some(version) = event.version() {
        keys.push((
            IndexKey::Version(registry.clone(), package, version.to_string()),
            index,
        ));
    }
    if let EventBody::DeviceRegister(change) | EventBody::DeviceRevoke(change) = &event.body {
        keys.push((
            IndexKey::Device(
                registry,
                change.maintainer.clone(),
                change.device.id.clone(),
            ),
            index,
        ));
    }
    keys
}

#[cfg(test)]
mod tests;
