//! `gatelog verify`: checks every package of a lockfile against a log and
//! trusts nothing it receives.
//!
//! 1. Read the lockfile ([`crate::lockfile`]); packages the policy skips
//!    (or `--allow`) are reported as skipped, packages not from the registry
//!    fail unless skipped.
//! 2. Fetch the release bundles in few requests (or read an offline bundle).
//! 3. Verify every checkpoint with the log key, then consistency from the
//!    checkpoint remembered in the state folder: a failure is a
//!    `SECURITY ERROR` with both checkpoints and the proof, and the state is
//!    left alone.
//! 4. For every entry: hash the leaf, check its inclusion proof, check the
//!    registry's signature on its envelope (and that the registry speaks for
//!    itself), decode the event.
//! 5. Judge each release with the shared policy ([`gatelog_core::policy`]).
//! 6. Remember the newest verified checkpoint (compare-and-swap).

pub mod offline;
pub mod report;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use gatelog_core::dsse::Keyring;
use gatelog_core::event::PackageName;
use gatelog_core::evidence::{ConsistencyOutcome, Misbehaviour, check_consistency};
use gatelog_core::merkle::verify_inclusion;
use gatelog_core::policy::{self, LoggedEvent, Policy};
use gatelog_core::{
    ConsistencyProof, Event, InclusionProof, Leaf, SignedCheckpoint, VerifierKey, checkpoint,
    leaf_hash,
};

use crate::lockfile::{self, LockfileError, Source};
use crate::logclient::{ClientError, FetchedRelease, LogClient, ReceivedEntry};
use crate::state::{StateDir, StateError};
use report::{CheckpointSummary, Finding, PackageResult, Report, Status};

/// Lockfiles with at least this many packages get a progress bar on a terminal.
pub const PROGRESS_FROM: usize = 500;

/// Most releases per `POST /v1/bundles` (the server's limit).
pub const BUNDLE_CHUNK: usize = 5000;

/// Releases per request: small enough that a few requests run in parallel
/// (the server builds each on its own thread), never above the limit.
pub fn bundle_chunk(releases: usize) -> usize {
    releases.div_ceil(4).clamp(100, BUNDLE_CHUNK)
}

/// Where the evidence comes from.
pub enum Evidence {
    /// A live log at this base URL.
    Online(Box<LogClient>),
    /// An offline bundle file's contents.
    Offline(Vec<u8>),
}

/// Everything `verify` needs, validated.
pub struct VerifyOptions {
    /// The lockfile (or the folder holding it).
    pub lockfile: PathBuf,
    /// The log's verifier key.
    pub log_key: VerifierKey,
    /// Registries whose event signatures are accepted.
    pub registry_keys: Vec<VerifierKey>,
    /// The release policy.
    pub policy: Policy,
    /// Extra opt-out patterns from the command line.
    pub allow: Vec<String>,
    /// Where the last verified checkpoint is kept; `None` disables fork
    /// detection across runs.
    pub state: Option<StateDir>,
    /// Live log or offline bundle.
    pub evidence: Evidence,
}

/// Why `verify` could not decide.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The lockfile is missing or malformed (exit 2).
    #[error(transparent)]
    Lockfile(#[from] LockfileError),
    /// The offline bundle is malformed (exit 2).
    #[error(transparent)]
    BundleFile(#[from] offline::BundleFileError),
    /// The log could not be reached or answered nonsense (exit 3).
    #[error(transparent)]
    Log(#[from] ClientError),
    /// The state folder failed (exit 3).
    #[error(transparent)]
    State(#[from] StateError),
    /// A checkpoint does not verify with the log key (exit 1).
    #[error("checkpoint does not verify with the given log key: {0}")]
    BadCheckpoint(String),
    /// The log contradicted itself (exit 1), with evidence.
    #[error("{0}")]
    Misbehaviour(Box<Misbehaviour>),
    /// The log now serves a smaller tree than one it signed before, and
    /// cannot prove the two consistent (exit 1).
    #[error(
        "SECURITY ERROR: the log signed a checkpoint of {} entries before, but now serves one of {} \
         entries and cannot prove them consistent ({reason}): it rolled back or shows another \
         history\n\nremembered checkpoint:\n{}\nlatest checkpoint:\n{}",
        remembered.head().size,
        latest.head().size,
        String::from_utf8_lossy(&remembered.to_bytes()),
        String::from_utf8_lossy(&latest.to_bytes())
    )]
    RolledBack {
        /// The larger checkpoint, signed earlier.
        remembered: Box<SignedCheckpoint>,
        /// The smaller one the log serves now.
        latest: Box<SignedCheckpoint>,
        /// What the log answered when asked for the proof.
        reason: String,
    },
}

impl VerifyError {
    /// The documented exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            VerifyError::Lockfile(_) | VerifyError::BundleFile(_) => 2,
            VerifyError::Log(_) | VerifyError::State(_) => 3,
            VerifyError::BadCheckpoint(_)
            | VerifyError::Misbehaviour(_)
            | VerifyError::RolledBack { .. } => 1,
        }
    }
}

fn finding(rule: &str, message: impl Into<String>, entries: Vec<u64>) -> Finding {
    Finding {
        rule: rule.to_owned(),
        message: message.into(),
        entries,
    }
}

/// Runs a verification.
pub async fn verify(opts: VerifyOptions) -> Result<Report, VerifyError> {
    let path = if opts.lockfile.is_dir() {
        lockfile::find(&opts.lockfile)?
    } else {
        opts.lockfile.clone()
    };
    let lock = lockfile::load(&path)?;
    let skipped =
        |name: &str| opts.policy.skips(name) || opts.allow.iter().any(|p| policy::matches(p, name));

    // 1. Classify.
    let mut results: Vec<PackageResult> = Vec::with_capacity(lock.packages.len());
    let mut wanted: Vec<(String, String)> = Vec::new();
    for p in &lock.packages {
        let mut result = PackageResult {
            name: p.name.clone(),
            version: p.version.clone().unwrap_or_default(),
            location: p.location.clone(),
            status: Status::Verified,
            findings: Vec::new(),
        };
        if skipped(&p.name) {
            result.status = Status::Skipped;
        } else if !matches!(p.source, Source::Registry { .. }) {
            result.status = Status::Failed;
            result.findings.push(finding(
                "not-from-registry",
                format!(
                    "installed from {:?}, not from the registry; skip it in the policy if intended",
                    p.source
                ),
                vec![],
            ));
        } else if let Some(version) = &p.version {
            wanted.push((p.name.clone(), version.clone()));
        }
        results.push(result);
    }
    wanted.sort();
    wanted.dedup();

    // 2. Fetch.
    let (fetched, client) = match &opts.evidence {
        Evidence::Online(client) => (
            client
                .fetch_bundles(&wanted, bundle_chunk(wanted.len()))
                .await?,
            Some(&**client),
        ),
        Evidence::Offline(bytes) => (offline::read(bytes)?, None),
    };

    // 3. Checkpoints: signature, then consistency with the remembered one.
    let mut opened: HashMap<Arc<Vec<u8>>, SignedCheckpoint> = HashMap::new();
    for r in &fetched {
        for e in &r.entries {
            if !opened.contains_key(&e.checkpoint) {
                let cp = checkpoint::open(&e.checkpoint, &opts.log_key)
                    .map_err(|err| VerifyError::BadCheckpoint(err.to_string()))?;
                opened.insert(e.checkpoint.clone(), cp);
            }
        }
    }
    let mut newest: Option<SignedCheckpoint> =
        opened.values().max_by_key(|c| c.head().size).cloned();
    if newest.is_none()
        && let Some(client) = client
    {
        // Nothing was logged for these releases: still pin the log's state.
        newest = Some(client.checkpoint().await?);
    }
    let remembered = match &opts.state {
        Some(state) => state.load(&opts.log_key)?,
        None => None,
    };
    if let Some(newest) = &newest {
        // Every checkpoint seen must be consistent with the newest, and the
        // newest with the one remembered from earlier runs.
        let mut older: Vec<&SignedCheckpoint> = opened.values().collect();
        if let Some((cp, _)) = &remembered {
            older.push(cp);
        }
        for old in older {
            prove(client, old, newest).await?;
        }
    }

    // 4–5. Entries (each once), then the policy per release.
    let keyring = Keyring::new(opts.registry_keys.iter().map(|k| *k.key()));
    let checked = check_all(&opts, &keyring, &opened, &fetched);
    let by_release: HashMap<(&str, &str), &FetchedRelease> = fetched
        .iter()
        .map(|r| ((r.package.as_str(), r.version.as_str()), r))
        .collect();
    // Each location is judged against its own lockfile integrity; the same
    // release with the same integrity is judged once, on all cores.
    type JudgeKey<'a> = (&'a str, &'a str, Option<&'a gatelog_core::Integrity>);
    let mut distinct: Vec<JudgeKey<'_>> = results
        .iter()
        .zip(&lock.packages)
        .filter(|(r, _)| r.status == Status::Verified)
        .map(|(r, p)| (r.name.as_str(), r.version.as_str(), p.integrity.as_ref()))
        .collect();
    distinct.sort_by_key(|(n, v, i)| (*n, *v, i.map(ToString::to_string)));
    distinct.dedup();
    // A progress bar on a terminal for long lockfiles (hidden otherwise).
    let bar = if distinct.len() >= PROGRESS_FROM {
        indicatif::ProgressBar::new(distinct.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let verdicts = on_all_cores(&distinct, |&(name, version, integrity)| {
        bar.inc(1);
        match by_release.get(&(name, version)) {
            Some(release) => judge(&opts, &checked, release, integrity),
            None => vec![finding(
                "not-logged",
                "the log returned no bundle for this release",
                vec![],
            )],
        }
    });
    bar.finish_and_clear();
    let judged: HashMap<JudgeKey<'_>, Vec<Finding>> = distinct.into_iter().zip(verdicts).collect();
    let mut failed: Vec<(usize, Vec<Finding>)> = Vec::new();
    for (k, (r, p)) in results.iter().zip(&lock.packages).enumerate() {
        if r.status != Status::Verified {
            continue;
        }
        let findings = &judged[&(r.name.as_str(), r.version.as_str(), p.integrity.as_ref())];
        if !findings.is_empty() {
            failed.push((k, findings.clone()));
        }
    }
    for (k, findings) in failed {
        results[k].status = Status::Failed;
        results[k].findings = findings;
    }

    // 6. Remember the newest checkpoint. Offline, consistency with the
    // remembered checkpoint cannot be proven (no log to ask), so the state
    // is only read, never moved.
    if let (Some(state), Some(newest), Some(_)) = (&opts.state, &newest, client) {
        let expected = remembered.as_ref().map(|(_, bytes)| bytes.as_slice());
        let moves_forward = remembered
            .as_ref()
            .is_none_or(|(cp, _)| newest.head().size > cp.head().size);
        if moves_forward {
            state.store(&opts.log_key, expected, newest)?;
        }
    }
    Ok(Report {
        lockfile: path.display().to_string(),
        checkpoint: newest.map(|c| CheckpointSummary {
            origin: c.checkpoint.origin.as_str().to_owned(),
            tree_size: c.head().size.0,
            root_hash: c.head().root.to_hex(),
        }),
        packages: results,
    })
}

/// Proves `new` extends `old` (asking the log for the proof when online;
/// offline, checkpoints of different sizes cannot be compared and only equal
/// ones are checked).
pub async fn prove(
    client: Option<&LogClient>,
    old: &SignedCheckpoint,
    new: &SignedCheckpoint,
) -> Result<(), VerifyError> {
    let (small, large) = if old.head().size <= new.head().size {
        (old, new)
    } else {
        (new, old)
    };
    let path = match client {
        Some(c) if small.head().size.0 > 0 && small.head().size < large.head().size => {
            match c
                .consistency_path(small.head().size, large.head().size)
                .await
            {
                Ok(path) => path,
                // The log refuses to prove a tree it signed: it no longer has it.
                Err(ClientError::Status { status, message })
                    if (400..500).contains(&status) && std::ptr::eq(large, old) =>
                {
                    return Err(VerifyError::RolledBack {
                        remembered: Box::new(old.clone()),
                        latest: Box::new(new.clone()),
                        reason: format!("{status}: {message}"),
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
        Some(_) => Vec::new(),
        None if small.head().size == large.head().size => Vec::new(),
        None => return Ok(()),
    };
    let proof = ConsistencyProof {
        old_size: small.head().size,
        new_size: large.head().size,
        path,
    };
    match check_consistency(small, large, &proof) {
        Ok(ConsistencyOutcome::Consistent | ConsistencyOutcome::Stale) => Ok(()),
        Err(m) => Err(VerifyError::Misbehaviour(m)),
    }
}

/// An entry after its checks: its event, or the finding against it.
type Checked = Result<LoggedEvent, Finding>;

/// Received entries by their index and the checkpoint they came with;
/// copies that differ in any byte of leaf or proof are kept (and checked)
/// separately.
#[derive(Default)]
struct Distinct<'a, T> {
    by_place: HashMap<(u64, usize), Vec<(&'a ReceivedEntry, T)>>,
}

fn place(e: &ReceivedEntry) -> (u64, usize) {
    (e.index.0, Arc::as_ptr(&e.checkpoint) as usize)
}

fn same(a: &ReceivedEntry, b: &ReceivedEntry) -> bool {
    a.leaf == b.leaf && a.path == b.path
}

impl<'a, T> Distinct<'a, T> {
    /// What was stored for an entry with the same bytes as `e`.
    fn get(&self, e: &ReceivedEntry) -> Option<&T> {
        self.by_place
            .get(&place(e))?
            .iter()
            .find(|(seen, _)| same(seen, e))
            .map(|(_, value)| value)
    }
}

/// Runs `work` on every item, spread over the machine's cores; results in
/// the order of `items`.
fn on_all_cores<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = items.len().div_ceil(workers).max(1);
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|part| scope.spawn(move || part.iter().map(work).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("verification worker panicked"))
            .collect()
    })
}

/// Checks one received entry: its inclusion in its (already verified)
/// checkpoint, the registry's signature, and the event itself.
fn check_entry(
    registry_keys: &[VerifierKey],
    keyring: &Keyring,
    opened: &HashMap<Arc<Vec<u8>>, SignedCheckpoint>,
    e: &ReceivedEntry,
) -> Option<Checked> {
    let cp = opened.get(&e.checkpoint)?;
    let hash = leaf_hash(&e.leaf);
    let proof = InclusionProof {
        index: e.index,
        tree_size: cp.head().size,
        path: e.path.clone(),
    };
    if let Err(err) = verify_inclusion(&hash, &proof, &cp.head()) {
        return Some(Err(finding(
            "bad-proof",
            format!("entry {} is not proven in the checkpoint: {err}", e.index),
            vec![e.index.0],
        )));
    }
    let event = Leaf::parse(&e.leaf)
        .map_err(|err| err.to_string())
        .and_then(|leaf| {
            let signer = leaf
                .envelope()
                .verify(keyring)
                .map_err(|err| err.to_string())?;
            let event = Event::from_envelope(leaf.envelope()).map_err(|err| err.to_string())?;
            // The registry must speak for itself (its key is named after its host).
            let host = event.registry.host();
            if registry_keys
                .iter()
                .any(|k| k.key() == signer && k.name() == host)
            {
                Ok(event)
            } else {
                Err(format!("signed by a key not named {host}"))
            }
        });
    Some(match event {
        Ok(event) => Ok(LoggedEvent {
            index: e.index,
            leaf_hash: hash,
            event,
        }),
        Err(why) => Err(finding(
            "bad-event-signature",
            format!("entry {}: {why}", e.index),
            vec![e.index.0],
        )),
    })
}

/// Checks every distinct entry once (a maintainer's device registration is
/// in many bundles), spread over the machine's cores.
fn check_all<'a>(
    opts: &VerifyOptions,
    keyring: &Keyring,
    opened: &HashMap<Arc<Vec<u8>>, SignedCheckpoint>,
    fetched: &'a [FetchedRelease],
) -> Distinct<'a, Option<Checked>> {
    let mut distinct: Distinct<'a, ()> = Distinct::default();
    let mut entries: Vec<&ReceivedEntry> = Vec::new();
    for e in fetched.iter().flat_map(|r| &r.entries) {
        let copies = distinct.by_place.entry(place(e)).or_default();
        if !copies.iter().any(|(seen, _)| same(seen, e)) {
            copies.push((e, ()));
            entries.push(e);
        }
    }
    let checked = on_all_cores(&entries, |e| {
        check_entry(&opts.registry_keys, keyring, opened, e)
    });
    let mut out: Distinct<'a, Option<Checked>> = Distinct::default();
    for (e, c) in entries.into_iter().zip(checked) {
        out.by_place.entry(place(e)).or_default().push((e, c));
    }
    out
}

/// Applies the policy to one release whose entries were checked.
fn judge(
    opts: &VerifyOptions,
    checked: &Distinct<'_, Option<Checked>>,
    release: &FetchedRelease,
    expected: Option<&gatelog_core::Integrity>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut events = Vec::new();
    for e in &release.entries {
        match checked.get(e) {
            Some(Some(Ok(event))) => events.push(event.clone()),
            Some(Some(Err(f))) => findings.push(f.clone()),
            _ => {}
        }
    }
    let (Ok(package), Ok(version)) = (
        PackageName::parse(&release.package),
        semver::Version::parse(&release.version),
    ) else {
        findings.push(finding(
            "not-logged",
            "not a valid npm package name and version",
            vec![],
        ));
        return findings;
    };
    // Without a sha512 digest the tarball npm installs cannot be tied to
    // the logged one, however well the release checks out.
    if expected.is_none() {
        findings.push(finding(
            "no-integrity",
            "the lockfile pins no sha512 integrity, so the installed tarball cannot be \
             compared with the logged digest",
            vec![],
        ));
    }
    let verdict = policy::evaluate(&opts.policy, &package, &version, expected, &events);
    findings.extend(verdict.findings.into_iter().map(|f| Finding {
        rule: f.rule.as_str().to_owned(),
        message: f.message,
        entries: f.evidence.iter().map(|i| i.0).collect(),
    }));
    findings
}
