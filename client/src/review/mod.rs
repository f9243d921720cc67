//! `gatelog review <stage-id>`: a maintainer's look at a staged release
//! before approving it (docs/maintainers.md).
//!
//! 1. The staged tarball's sha512 must equal the registry's integrity and
//!    the `stage` event's in the log (proven with the log's key); any
//!    difference refuses the review before anything else.
//! 2. Who staged it, from the logged event.
//! 3. The previous published version (its tarball checked against the
//!    packument and the log's `publish`): files added, removed, changed,
//!    diffs, and [`findings`].
//! 4. With `--source`, the checkout's files as `npm pack` lists them.
//!
//! Modules: [`fetch`] (registry), [`logged`] (log), [`tarball`] (limits),
//! [`compare`] (diffs), [`findings`], [`source`], [`report`].

pub mod compare;
pub mod fetch;
pub mod findings;
pub mod logged;
pub mod report;
pub mod source;
pub mod tarball;

use std::path::PathBuf;

use gatelog_core::VerifierKey;
use gatelog_core::event::Integrity;
use serde_json::{Value, json};

use crate::logclient::{ClientError, LogClient};
use fetch::{FetchError, Registry, StageItem};
use findings::Finding;
use logged::LoggedError;
use report::{Previous, Review, Staged};
use tarball::Files;

/// Output format of a review.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ReviewFormat {
    /// For a person.
    Text,
    /// `gatelog-review/v1`.
    Json,
}

/// What makes the review exit 1 (besides a refused integrity).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Any flagged finding.
    Flagged,
    /// Nothing: report only.
    None,
}

/// `gatelog review`'s flags.
#[derive(clap::Args, Debug)]
pub struct ReviewArgs {
    /// The stage id (`npm stage publish` prints it; `npm stage list`).
    pub stage_id: String,
    /// The registry's URL, e.g. http://127.0.0.1:4873.
    #[arg(long, value_name = "URL")]
    pub registry: String,
    /// A token of a maintainer of the package.
    #[arg(long, env = "GATELOG_REGISTRY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Base URL of the log.
    #[arg(long, env = "GATELOG_LOG", value_name = "URL")]
    pub log: String,
    /// The log's verifier key (`<origin>+<id>+<base64>`).
    #[arg(long, env = "GATELOG_LOG_KEY", value_name = "VKEY")]
    pub log_key: String,
    /// A checkout of the package's source to compare the tarball with.
    #[arg(long, value_name = "DIR")]
    pub source: Option<PathBuf>,
    /// The npm CLI run in `--source` (`npm pack --dry-run --json`).
    #[arg(long, value_name = "PATH", default_value = "npm")]
    pub npm: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ReviewFormat,
    /// Exit 1 on flagged findings (`flagged`) or never for them (`none`).
    #[arg(long, value_enum, default_value = "flagged")]
    pub fail_on: FailOn,
}

pub use crate::exit::{Exit, Failure};

fn usage(msg: impl std::fmt::Display) -> Failure {
    Failure(Exit::Usage, msg.to_string())
}

/// A registry failure as an exit code and message.
pub fn from_fetch(e: FetchError) -> Failure {
    let code = match e {
        FetchError::Refused { .. } => Exit::Usage,
        _ => Exit::Undecided,
    };
    Failure(code, e.to_string())
}

/// A log failure as an exit code and message.
pub fn from_logged(e: LoggedError) -> Failure {
    let code = match &e {
        LoggedError::Mismatch(_) => Exit::Failed,
        LoggedError::Log(ClientError::Verification(_)) => Exit::Failed,
        LoggedError::Log(ClientError::Status { status, .. }) if (400..500).contains(status) => {
            Exit::Failed
        }
        LoggedError::Log(_) => Exit::Undecided,
    };
    Failure(code, e.to_string())
}

fn refuse(what: &str, computed: &str, other_name: &str, other: &str) -> Failure {
    Failure(
        Exit::Failed,
        format!(
            "REFUSED: {what}\n  computed from the tarball served: {computed}\n  {other_name}: {other}"
        ),
    )
}

/// Runs a review; returns the exit code, or a failure to print.
pub fn run(args: ReviewArgs) -> Result<Exit, Failure> {
    if !fetch::valid_stage_id(&args.stage_id) {
        return Err(usage(format!("{:?} is not a stage id", args.stage_id)));
    }
    for (flag, url) in [("--registry", &args.registry), ("--log", &args.log)] {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(usage(format!("{flag} {url:?} is not an http(s) URL")));
        }
    }
    let host = crate::registry::host_of(&args.registry).map_err(usage)?;
    let token = args
        .token
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| usage("a registry token is needed: --token or GATELOG_REGISTRY_TOKEN"))?;
    let key = VerifierKey::parse(&args.log_key).map_err(|e| usage(format!("--log-key: {e}")))?;
    if let Some(dir) = &args.source
        && !dir.is_dir()
    {
        return Err(usage(format!("--source {} is not a folder", dir.display())));
    }
    let log =
        LogClient::new(&args.log, key).map_err(|e| Failure(Exit::Undecided, e.to_string()))?;
    let registry = Registry::new(&args.registry, token).map_err(from_fetch)?;
    let rt = tokio::runtime::Runtime::new().map_err(|e| Failure(Exit::Undecided, e.to_string()))?;

    // 1. The integrity gate, before anything else is looked at.
    let Gated {
        item,
        tgz,
        computed,
        stage,
    } = rt.block_on(gate(&registry, &log, &host, &args.stage_id))?;
    let staged_files =
        tarball::read(&tgz).map_err(|e| Failure(Exit::Failed, format!("staged tarball: {e}")))?;
    let version = semver::Version::parse(&item.version).map_err(|e| {
        Failure(
            Exit::Failed,
            format!("staged version {:?}: {e}", item.version),
        )
    })?;

    // 3. The previous release, backed by the log.
    let packument = rt
        .block_on(registry.packument(&item.package))
        .map_err(from_fetch)?;
    let previous = match previous_version(&packument, &version) {
        Some(prev) => Some(rt.block_on(fetch_previous(
            &registry, &log, &host, &item, &packument, &prev,
        ))?),
        None => None,
    };

    let mut all = Vec::new();
    let empty = Files::new();
    let prev_files = previous.as_ref().map_or(&empty, |(_, f)| f);
    let files = compare::compare(prev_files, &staged_files);
    let new_manifest = match findings::manifest(&staged_files, "staged") {
        Ok(m) => {
            all.extend(manifest_identity(&m, &item));
            m
        }
        Err(f) => {
            all.push(f);
            json!({})
        }
    };
    let old_manifest = match &previous {
        Some((p, f)) => findings::manifest(f, &format!("{} ", p.version)).unwrap_or(json!({})),
        None => {
            all.push(Finding::note(
                "first-release",
                format!("no published version of {} below {version}", item.package),
                None,
            ));
            json!({})
        }
    };
    all.extend(findings::manifest_changes(&old_manifest, &new_manifest));
    all.extend(findings::file_changes(&files));
    if let Some((p, _)) = &previous
        && let Ok(prev) = semver::Version::parse(&p.version)
    {
        all.extend(findings::version_skip(&prev, &version));
    }

    // 4. The checkout.
    let source = match &args.source {
        Some(dir) => {
            let packed = source::packed_files(&args.npm, dir).map_err(usage)?;
            let (report, found) = source::compare(dir, &packed, &staged_files);
            all.extend(found);
            let unaccounted = report
                .extra
                .iter()
                .chain(report.differs.iter().map(|d| &d.path));
            all.extend(findings::minified(
                &staged_files,
                unaccounted.map(String::as_str),
                "not in the source",
            ));
            Some(report)
        }
        None => {
            let touched = files
                .iter()
                .filter(|f| f.change != compare::Change::Removed)
                .map(|f| f.path.as_str());
            all.extend(findings::minified(
                &staged_files,
                touched,
                "new or changed in this release",
            ));
            None
        }
    };

    let review = Review {
        staged: Staged {
            id: item.id.clone(),
            package: item.package.clone(),
            version: item.version.clone(),
            tag: item.tag.clone(),
            status: item.status.clone(),
            integrity: computed,
            stage_log_index: stage.index,
            stage_leaf_hash: stage.leaf_hash.to_hex(),
            staged_at: stage.time.clone(),
        },
        publisher: stage.publisher.clone(),
        actor: item.actor.clone(),
        previous: previous.map(|(p, _)| p),
        files,
        source,
        findings: all,
    };
    match args.format {
        ReviewFormat::Text => print!("{}", review.to_text()),
        ReviewFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&review.to_json()).unwrap_or_default()
        ),
    }
    Ok(if review.flagged() > 0 && args.fail_on == FailOn::Flagged {
        Exit::Failed
    } else {
        Exit::Ok
    })
}

/// A staged item whose tarball is the one its logged `stage` names.
pub struct Gated {
    /// The registry's item.
    pub item: StageItem,
    /// The tarball served.
    pub tgz: Vec<u8>,
    /// Its SRI sha512, equal to the item's and the logged stage's.
    pub computed: String,
    /// The verified `stage` event.
    pub stage: logged::LoggedStage,
}

/// Fetches stage item `id` and its tarball and checks the tarball's
/// sha512 against the item and against the logged `stage` event (with
/// its proof); a mismatch is refused with both digests.
pub async fn gate(
    registry: &Registry,
    log: &LogClient,
    host: &str,
    id: &str,
) -> Result<Gated, Failure> {
    let item = registry.stage_item(id).await.map_err(from_fetch)?;
    let tgz = registry.stage_tarball(id).await.map_err(from_fetch)?;
    let computed = Integrity::of(&tgz).to_string();
    if computed != item.integrity {
        return Err(refuse(
            "the staged tarball differs from the integrity the registry recorded",
            &computed,
            "the registry's stage item",
            &item.integrity,
        ));
    }
    let stage = logged::stage(
        log,
        item.stage_log_index,
        &computed,
        (host, &item.package, &item.version),
    )
    .await
    .map_err(from_logged)?;
    Ok(Gated {
        item,
        tgz,
        computed,
        stage,
    })
}

/// The highest version in the packument below `staged`.
fn previous_version(packument: &Value, staged: &semver::Version) -> Option<String> {
    packument["versions"]
        .as_object()?
        .keys()
        .filter_map(|k| semver::Version::parse(k).ok())
        .filter(|v| v < staged)
        .max()
        .map(|v| v.to_string())
}

/// The previous release's tarball, checked against the packument's
/// `dist.integrity` and the log's `publish` event of that version.
async fn fetch_previous(
    registry: &Registry,
    log: &LogClient,
    host: &str,
    item: &StageItem,
    packument: &Value,
    version: &str,
) -> Result<(Previous, Files), Failure> {
    let name = &item.package;
    let dist = &packument["versions"][version]["dist"];
    let what = format!("{name}@{version}");
    let (Some(claimed), Some(url)) = (dist["integrity"].as_str(), dist["tarball"].as_str()) else {
        return Err(Failure(
            Exit::Undecided,
            format!("the packument has no dist.integrity and dist.tarball for {what}"),
        ));
    };
    let tgz = registry
        .tarball(url, &format!("the tarball of {what}"))
        .await
        .map_err(from_fetch)?;
    let computed = Integrity::of(&tgz).to_string();
    if computed != claimed {
        return Err(refuse(
            &format!("the tarball of {what} differs from its packument's dist.integrity"),
            &computed,
            "the packument's",
            claimed,
        ));
    }
    let published = logged::publishes(log, host, name, version)
        .await
        .map_err(from_logged)?;
    let Some((index, _)) = published.first() else {
        return Err(Failure(
            Exit::Failed,
            format!("REFUSED: the log holds no publish event of {what}, the release compared with"),
        ));
    };
    if let Some((i, logged)) = published.iter().find(|(_, i)| i.to_string() != computed) {
        return Err(refuse(
            &format!("the tarball of {what} differs from the log's publish event"),
            &computed,
            &format!("the log's publish event (entry {i})"),
            &logged.to_string(),
        ));
    }
    let files = tarball::read(&tgz)
        .map_err(|e| Failure(Exit::Failed, format!("the tarball of {what}: {e}")))?;
    Ok((
        Previous {
            version: version.to_owned(),
            integrity: computed,
            publish_log_index: *index,
        },
        files,
    ))
}

/// A flagged finding when the tarball's package.json names another
/// package or version than the one staged.
fn manifest_identity(m: &Value, item: &StageItem) -> Option<Finding> {
    let (name, version) = (
        m["name"].as_str().unwrap_or_default(),
        m["version"].as_str().unwrap_or_default(),
    );
    (name != item.package || version != item.version).then(|| {
        Finding::flag(
            "manifest",
            format!(
                "package.json says {name}@{version}, the stage is {}@{}",
                item.package, item.version
            ),
            Some("package.json"),
        )
    })
}
