//! What the log says about the release under review: its `stage` event
//! (fetched with its inclusion proof) and the `publish` event of the
//! previous release. Every entry is proven against a checkpoint signed by
//! the log's key before it is read.

use gatelog_core::event::{EventBody, Integrity, Publisher};
use gatelog_core::{Event, Hash};

use crate::logclient::{ClientError, LogClient};

/// Why the log's record does not back the release.
#[derive(Debug, thiserror::Error)]
pub enum LoggedError {
    /// The log could not be asked or did not prove its answer.
    #[error(transparent)]
    Log(#[from] ClientError),
    /// The log's record disagrees with what the registry serves.
    #[error("{0}")]
    Mismatch(String),
}

/// The verified `stage` event of the item under review.
#[derive(Clone, Debug)]
pub struct LoggedStage {
    /// Its leaf index.
    pub index: u64,
    /// Its leaf hash.
    pub leaf_hash: Hash,
    /// The integrity it logged.
    pub integrity: Integrity,
    /// Who staged it.
    pub publisher: Publisher,
    /// When, by the registry's clock.
    pub time: String,
}

/// Fetches entry `index`, proves it, and checks that it is a `stage` of
/// the tarball whose integrity is `computed` (first: that is the check
/// that matters), then that it is of `package@version` at `host`.
pub async fn stage(
    log: &LogClient,
    index: u64,
    computed: &str,
    (host, package, version): (&str, &str, &str),
) -> Result<LoggedStage, LoggedError> {
    let (leaf, event) = log.verified_entry(index).await?;
    let EventBody::Stage(stage) = &event.body else {
        return Err(LoggedError::Mismatch(format!(
            "REFUSED: log entry {index} is a {} event, not the stage the registry names",
            event.event_type()
        )));
    };
    if stage.integrity.to_string() != computed {
        return Err(LoggedError::Mismatch(format!(
            "REFUSED: the staged tarball differs from the one the log's stage event names\n  \
             computed from the tarball served: {computed}\n  \
             the log's stage event (entry {index}): {}",
            stage.integrity
        )));
    }
    same_release(&event, index, host, package, version)?;
    Ok(LoggedStage {
        index,
        leaf_hash: leaf.hash(),
        integrity: stage.integrity,
        publisher: stage.publisher.clone(),
        time: event.time.as_str().to_owned(),
    })
}

fn same_release(
    event: &Event,
    index: u64,
    host: &str,
    package: &str,
    version: &str,
) -> Result<(), LoggedError> {
    let logged_host = crate::registry::host_of_registry(&event.registry);
    let logged_version = event.version().map(|v| v.to_string()).unwrap_or_default();
    if logged_host != host || event.package.as_str() != package || logged_version != version {
        return Err(LoggedError::Mismatch(format!(
            "REFUSED: log entry {index} is about {}@{logged_version} at {logged_host}, not {package}@{version} at {host}",
            event.package
        )));
    }
    Ok(())
}

/// The verified `publish` event(s) of `package@version`: their indexes
/// and integrities (a version is published once; more is reported).
pub async fn publishes(
    log: &LogClient,
    host: &str,
    package: &str,
    version: &str,
) -> Result<Vec<(u64, Integrity)>, LoggedError> {
    let (_, entries) = log.verified_bundle(host, package, version).await?;
    let mut out = Vec::new();
    for (index, bytes) in entries {
        let leaf = gatelog_core::Leaf::parse(&bytes)
            .map_err(|e| ClientError::Malformed(format!("leaf {}: {e}", index.0)))?;
        let event = Event::from_envelope(leaf.envelope())
            .map_err(|e| ClientError::Malformed(format!("event {}: {e}", index.0)))?;
        // The bundle holds the package's chain: other versions' events too.
        if let EventBody::Publish(p) = &event.body
            && p.version.to_string() == version
        {
            same_release(&event, index.0, host, package, version)?;
            out.push((index.0, p.integrity));
        }
    }
    Ok(out)
}
