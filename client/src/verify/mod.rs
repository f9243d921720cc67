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
pub mod sources;

mod chain;
mod entries;
mod judge;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use gatelog_core::dsse::Keyring;
use gatelog_core::evidence::{ConsistencyOutcome, Misbehaviour, check_consistency};
use gatelog_core::policy::{self, Policy};
use gatelog_core::witness_policy::{QuorumError, WitnessPolicy};
use gatelog_core::{ConsistencyProof, SignedCheckpoint, TreeSize, VerifierKey, checkpoint};

use crate::lockfile::{self, LockfileError, Source};
use crate::logclient::{ClientError, FetchedRelease, LogClient, ReleaseRef};
use crate::state::{StateDir, StateError};
use report::{CheckpointSummary, Finding, PackageResult, Report, Status};

/// Lockfiles with at least this many packages get a progress bar on a terminal.
pub const PROGRESS_FROM: usize = 500;

/// Most releases per `POST /v1/bundles` (the server's limit).
pub const BUNDLE_CHUNK: usize = 5000;

/// Releases per request: as many as the log takes. A compact answer proves
/// all its entries against one checkpoint with one multi-leaf proof, so
/// splitting a lockfile would only send the shared proof hashes again; the
/// log builds each request on all its cores.
pub fn bundle_chunk(releases: usize) -> usize {
    releases.clamp(1, BUNDLE_CHUNK)
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
    /// The registry host of lockfile entries without a `resolved` URL
    /// ([`crate::registry::host_of`]).
    pub registry: String,
    /// The release policy.
    pub policy: Policy,
    /// Extra opt-out patterns from the command line.
    pub allow: Vec<String>,
    /// npm's install-source controls for non-registry packages.
    pub install: sources::InstallSources,
    /// Where the last verified checkpoint is kept; `None` disables fork
    /// detection across runs.
    pub state: Option<StateDir>,
    /// Live log or offline bundle.
    pub evidence: Evidence,
    /// Which witnesses must have cosigned the checkpoint relied on.
    pub witnesses: WitnessPolicy,
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
    /// The evidence is for an older tree than the one this state folder
    /// verified before, even after asking the log again (exit 3): it may
    /// miss events logged since (a device revoke, an unpublish).
    #[error(
        "stale evidence: {} is for a tree of {served} entries, older than the checkpoint of \
         {remembered} entries verified before (state folder); events logged since, such as a \
         device revoke or an unpublish, could be missing, so nothing was decided{}",
        if *.offline { "the offline bundle" } else { "the log's answer" },
        if *.offline {
            "; make a new bundle with `gatelog bundle`"
        } else {
            " (asked twice: a mirror or replica that is behind, or a log hiding newer events)"
        }
    )]
    Stale {
        /// The oldest tree size the evidence was for.
        served: TreeSize,
        /// The remembered tree size.
        remembered: TreeSize,
        /// Whether the evidence is an offline bundle.
        offline: bool,
    },
    /// The checkpoint relied on lacks the cosignatures the witness policy
    /// requires (exit 1): the log may be showing this job a history that
    /// no witness saw.
    #[error(
        "SECURITY ERROR: the checkpoint of {} entries is not witnessed as the policy requires: \
         {error}; without it, this job cannot tell its view of the log from a fork shown only \
         to it\n\ncheckpoint:\n{}",
        checkpoint.head().size,
        String::from_utf8_lossy(&checkpoint.to_bytes())
    )]
    Unwitnessed {
        /// The checkpoint, with the cosignatures it came with.
        checkpoint: Box<SignedCheckpoint>,
        /// What the policy found.
        error: QuorumError,
    },
}

impl VerifyError {
    /// The documented exit code.
    pub fn exit_code(&self) -> crate::exit::Exit {
        use crate::exit::Exit;
        match self {
            VerifyError::Lockfile(_) | VerifyError::BundleFile(_) => Exit::Usage,
            VerifyError::Log(_) | VerifyError::State(_) | VerifyError::Stale { .. } => {
                Exit::Undecided
            }
            VerifyError::BadCheckpoint(_)
            | VerifyError::Misbehaviour(_)
            | VerifyError::RolledBack { .. }
            | VerifyError::Unwitnessed { .. } => Exit::Failed,
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

/// Opens every checkpoint the entries came with, each once.
fn open_all(
    fetched: &[FetchedRelease],
    key: &VerifierKey,
) -> Result<HashMap<Arc<Vec<u8>>, SignedCheckpoint>, VerifyError> {
    let mut opened: HashMap<Arc<Vec<u8>>, SignedCheckpoint> = HashMap::new();
    for e in fetched.iter().flat_map(|r| &r.entries) {
        if !opened.contains_key(&e.checkpoint) {
            let cp = checkpoint::open(&e.checkpoint, key)
                .map_err(|err| VerifyError::BadCheckpoint(err.to_string()))?;
            opened.insert(e.checkpoint.clone(), cp);
        }
    }
    Ok(opened)
}

/// The smallest tree size among `opened` below `remembered`, if any.
fn stale_size(
    opened: &HashMap<Arc<Vec<u8>>, SignedCheckpoint>,
    remembered: Option<&SignedCheckpoint>,
) -> Option<TreeSize> {
    let remembered = remembered?.head().size;
    opened
        .values()
        .map(|c| c.head().size)
        .filter(|s| *s < remembered)
        .min()
}

/// A release as judged: registry, name, version, lockfile integrity, and
/// whether the lockfile can hold none (Yarn Berry).
type JudgeKey<'a> = (
    &'a str,
    &'a str,
    &'a str,
    Option<&'a gatelog_core::Integrity>,
    bool,
);

fn judge_key<'a>((r, p): (&'a PackageResult, &'a lockfile::LockedPackage)) -> JudgeKey<'a> {
    (
        r.registry.as_deref().unwrap_or_default(),
        r.name.as_str(),
        r.version.as_str(),
        p.integrity.as_ref(),
        p.integrity.is_none() && p.yarn_checksum.is_some(),
    )
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

    // 1. Classify, and bind each registry package to its registry.
    let mut results: Vec<PackageResult> = Vec::with_capacity(lock.packages.len());
    let mut wanted: Vec<ReleaseRef> = Vec::new();
    for p in &lock.packages {
        let mut result = PackageResult {
            name: p.name.clone(),
            version: p.version.clone().unwrap_or_default(),
            location: p.location.clone(),
            registry: None,
            status: Status::Verified,
            findings: Vec::new(),
            warnings: Vec::new(),
        };
        let registry = match &p.source {
            Source::Registry {
                resolved: Some(url),
            } => Some(crate::registry::host_of(url)),
            Source::Registry { resolved: None } => Some(Ok(opts.registry.clone())),
            _ => None,
        };
        let install = opts.install.judge(p);
        if skipped(&p.name) {
            result.status = Status::Skipped;
        } else if let Err(e) = gatelog_core::PackageName::parse(&p.name) {
            result.status = Status::Failed;
            result
                .findings
                .push(finding("invalid-name", e.to_string(), vec![]));
        } else if let Some((allowed, f)) = install {
            // Not from a registry: npm's install-source controls decide.
            if allowed {
                result.status = Status::Skipped;
                result.warnings.push(f);
            } else {
                result.status = Status::Failed;
                result.findings.push(f);
            }
        } else if let Some(Err(why)) = &registry {
            result.status = Status::Failed;
            result.findings.push(finding(
                "not-from-registry",
                format!("its `resolved` URL names no registry: {why}"),
                vec![],
            ));
        } else if registry.is_none() {
            result.status = Status::Failed;
            result.findings.push(finding(
                "not-from-registry",
                format!(
                    "installed from {:?}, not from the registry; skip it in the policy if intended",
                    p.source
                ),
                vec![],
            ));
        } else if let (Some(Ok(registry)), Some(version)) = (&registry, &p.version) {
            result.registry = Some(registry.clone());
            wanted.push(ReleaseRef {
                registry: registry.clone(),
                package: p.name.clone(),
                version: version.clone(),
            });
        }
        results.push(result);
    }
    wanted.sort();
    wanted.dedup();

    // 2. Fetch; 3. checkpoints: signature, freshness, then consistency with
    // the remembered one.
    let remembered = match &opts.state {
        Some(state) => state.load(&opts.log_key)?,
        None => None,
    };
    let saved = remembered.as_ref().map(|(cp, _)| cp);
    let client = match &opts.evidence {
        Evidence::Online(client) => Some(&**client),
        Evidence::Offline(_) => None,
    };
    let (evidence, asked) = (&opts.evidence, &wanted);
    let fetch = || async move {
        match evidence {
            Evidence::Online(client) => Ok::<_, VerifyError>(
                client
                    .fetch_bundles(asked, bundle_chunk(asked.len()))
                    .await?,
            ),
            Evidence::Offline(bytes) => Ok(offline::read(bytes)?),
        }
    };
    let mut fetched = fetch().await?;
    let mut opened = open_all(&fetched, &opts.log_key)?;
    if client.is_some() && stale_size(&opened, saved).is_some() {
        // A replica behind, or a mirror: ask once more before refusing.
        fetched = fetch().await?;
        opened = open_all(&fetched, &opts.log_key)?;
    }
    let mut newest: Option<SignedCheckpoint> =
        opened.values().max_by_key(|c| c.head().size).cloned();
    if newest.is_none()
        && let Some(client) = client
    {
        // Nothing was logged for these releases: still pin the log's state.
        newest = Some(client.checkpoint().await?);
    }
    if let Some(newest) = &newest {
        // Every checkpoint seen must be consistent with the newest, and the
        // newest with the one remembered from earlier runs (a fork is a
        // SECURITY ERROR before it is stale).
        let mut older: Vec<&SignedCheckpoint> = opened.values().collect();
        older.extend(saved);
        for old in older {
            prove(client, old, newest).await?;
        }
    }
    // Every checkpoint seen is consistent with the newest, so the newest
    // alone must carry the quorum of cosignatures.
    let witnessed_by = match &newest {
        Some(cp) => {
            opts.witnesses
                .check(&cp.note)
                .map_err(|error| VerifyError::Unwitnessed {
                    checkpoint: Box::new(cp.clone()),
                    error,
                })?
                .cosigned
        }
        None => Vec::new(),
    };
    let mut all: Vec<&SignedCheckpoint> = opened.values().collect();
    all.extend(&newest);
    if let (Some(saved), Some(served)) = (saved, all.iter().map(|c| c.head().size).min())
        && served < saved.head().size
    {
        return Err(VerifyError::Stale {
            served,
            remembered: saved.head().size,
            offline: client.is_none(),
        });
    }

    // 4–5. Entries (each once), then the chain and the policy per release.
    let keyring = Keyring::new(opts.registry_keys.iter().map(|k| *k.key()));
    let checked = entries::check_all(&opts.registry_keys, &keyring, &opened, &fetched);
    let mut by_release: HashMap<(&str, &str, &str), &FetchedRelease> = HashMap::new();
    let mut unlabelled: HashMap<(&str, &str), &FetchedRelease> = HashMap::new();
    for r in &fetched {
        match &r.registry {
            Some(registry) => {
                by_release.insert((registry, &r.package, &r.version), r);
            }
            // Bundles of logs and files from before registries were named.
            None => {
                unlabelled.insert((&r.package, &r.version), r);
            }
        }
    }
    // Each location is judged against its own lockfile integrity; the same
    // release with the same integrity is judged once, on all cores.
    let mut distinct: Vec<JudgeKey<'_>> = results
        .iter()
        .zip(&lock.packages)
        .filter(|(r, _)| r.status == Status::Verified)
        .map(judge_key)
        .collect();
    distinct.sort_by_key(|(r, n, v, i, b)| (*r, *n, *v, i.map(ToString::to_string), *b));
    distinct.dedup();
    // A progress bar on a terminal for long lockfiles (hidden otherwise).
    let bar = if distinct.len() >= PROGRESS_FROM {
        indicatif::ProgressBar::new(distinct.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let verdicts =
        entries::on_all_cores(&distinct, |&(registry, name, version, integrity, berry)| {
            bar.inc(1);
            let release = by_release
                .get(&(registry, name, version))
                .or_else(|| unlabelled.get(&(name, version)));
            match release {
                Some(release) => {
                    judge::judge(&opts.policy, &checked, registry, release, integrity, berry)
                }
                None => (
                    vec![finding(
                        "not-logged",
                        "the log returned no bundle for this release",
                        vec![],
                    )],
                    Vec::new(),
                ),
            }
        });
    bar.finish_and_clear();
    let judged: HashMap<JudgeKey<'_>, judge::Verdict> =
        distinct.into_iter().zip(verdicts).collect();
    let mut outcomes: Vec<(usize, judge::Verdict)> = Vec::new();
    for (k, pair) in results.iter().zip(&lock.packages).enumerate() {
        if pair.0.status == Status::Verified {
            outcomes.push((k, judged[&judge_key(pair)].clone()));
        }
    }
    for (k, (findings, warnings)) in outcomes {
        if !findings.is_empty() {
            results[k].status = Status::Failed;
        }
        results[k].findings = findings;
        results[k].warnings = warnings;
    }

    // 6. Remember the newest checkpoint. Offline, consistency with the
    // remembered checkpoint cannot be proven (no log to ask), so the state
    // is only read, never moved.
    if let (Some(state), Some(newest), Some(_)) = (&opts.state, &newest, client) {
        let expected = remembered.as_ref().map(|(_, bytes)| bytes.as_slice());
        let moves_forward = saved.is_none_or(|cp| newest.head().size > cp.head().size);
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
            witnessed_by,
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
