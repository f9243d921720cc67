//! # gatelog-server
//!
//! The gatelog log: accepts DSSE-signed release events from allowlisted
//! registries, sequences them into an RFC 6962 Merkle tree stored in
//! RocksDB, signs c2sp.org/tlog-checkpoint checkpoints with the log's
//! Ed25519 key, and serves the c2sp.org/tlog-tiles API plus a JSON API of
//! entries, proofs and release bundles.
//!
//! Modules, each with one job:
//! - [`config`]: flags, TOML file and defaults.
//! - [`check`]: `gatelog-server check`, the read-only audit of a data folder.
//! - [`keyfile`]: loads or creates the log's signing key.
//! - [`store`]: the storage trait, RocksDB and in-memory backends.
//! - [`log`]: opening a log; the startup check of stored state against
//!   the latest signed checkpoint.
//! - [`sequencer`]: the only writer — pool, batch, write, check, sign, answer.
//! - [`published`]: the checkpoint readers see.
//! - [`submitters`]: allowlist and rate limits of registries.
//! - [`http`]: the axum router and handlers.
//! - [`metrics`], [`clock`]: Prometheus metrics; the injected clock.
//!
//! - [`witnessing`]: asks the witnesses of a c2sp.org/tlog-policy file to
//!   cosign each checkpoint, and serves it with their cosignatures.
//!
//! Out of scope: judging events (the monitor and the client do that);
//! being a witness (`gatelog-witness`); mirroring.

pub mod check;
pub mod clock;
pub mod config;
pub mod http;
pub mod keyfile;
pub mod log;
pub mod metrics;
pub mod published;
pub mod sequencer;
pub mod serve;
pub mod store;
pub mod submitters;
pub mod witnessing;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::clock::{Clock, SkewCheck, SkewLimits};
use crate::http::AppState;
use crate::log::Log;
use crate::metrics::Metrics;
use crate::sequencer::{Sequencer, SequencerConfig};
use crate::store::{LogStore, StoreError};
use crate::submitters::Submitters;

/// Settings [`start`] needs beyond the open log.
pub struct Settings {
    /// Batching.
    pub sequencer: SequencerConfig,
    /// Allowed submitters and their rate limits.
    pub submitters: Submitters,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// In-flight, failed-authentication and read limits.
    pub guard: crate::http::guard::GuardConfig,
    /// Health threshold for unsigned entries.
    pub max_checkpoint_lag: Duration,
    /// When a registry's event time is flagged as skewed.
    pub skew: SkewLimits,
    /// Witnesses to collect cosignatures from, if any.
    pub witnesses: Option<crate::witnessing::WitnessSettings>,
    /// A monitor's alert feed (JSON lines) the explorer shows.
    pub monitor_alerts: Option<std::path::PathBuf>,
}

/// A started log: its router and the sequencer thread to join at the end.
pub struct Started {
    /// The HTTP API.
    pub router: axum::Router,
    /// The sequencer thread; it ends once the router (and every request
    /// holding it) is gone, after finishing the batch in flight.
    pub sequencer: JoinHandle<()>,
    /// Shared state (for tests).
    pub state: Arc<AppState>,
}

/// Starts the sequencer over an open log and builds the router.
pub fn start<S: LogStore>(
    log: Log<S>,
    settings: Settings,
    clock: Arc<dyn Clock>,
) -> Result<Started, StoreError> {
    let metrics = Arc::new(Metrics::new());
    metrics.set_tree_size(log.published.get().head().size.0);
    // With witnesses, readers are served what the witnessing task settles.
    let published = match &settings.witnesses {
        None => log.published.clone(),
        Some(_) => Arc::new(crate::published::Published::with_witnesses(
            (*log.published.get()).clone(),
            true,
        )),
    };
    let sequencer = Sequencer::new(
        log.store.clone(),
        log.key.clone(),
        log.origin.clone(),
        clock.clone(),
        published.clone(),
        metrics.clone(),
    )?;
    let alive = Arc::new(AtomicBool::new(false));
    let (handle, thread) = sequencer.spawn(settings.sequencer, alive.clone());
    let state = Arc::new(AppState {
        store: log.store.clone(),
        published: published.clone(),
        sequencer: handle,
        submitters: settings.submitters,
        metrics,
        sequencer_alive: alive,
        max_checkpoint_lag: settings.max_checkpoint_lag,
        origin: log.origin.as_str().to_owned(),
        skew: SkewCheck {
            clock,
            limits: settings.skew,
        },
        log_key: log.key.verifier(),
        monitor_alerts: settings.monitor_alerts,
    });
    if let Some(witnesses) = settings.witnesses {
        let store: Arc<dyn LogStore> = log.store.clone();
        witnessing::spawn(store, published, witnesses);
    }
    Ok(Started {
        router: http::app(state.clone(), settings.request_timeout, settings.guard),
        sequencer: thread,
        state,
    })
}

/// Serves `app` on `listener` until `shutdown` completes, then lets
/// in-flight requests finish ([`serve::serve`], with the default header
/// timeout).
pub async fn run(
    listener: TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve::serve(listener, app, serve::HEADER_READ_TIMEOUT, shutdown).await
}
