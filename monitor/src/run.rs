//! The two ways to run: `--once` (catch up, deliver, exit with a code for
//! cron and CI) and the daemon (poll, deliver with retries, serve
//! `/metrics`).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::alert::{Alert, RuleId, SCHEMA, Severity};
use crate::cli::Settings;
use crate::fetch::LogReader;
use crate::follow::{FollowError, Follower, Registries, Setup};
use crate::metrics::Metrics;
use crate::sinks::Sinks;
use crate::state::State;

/// Exit codes.
pub mod code {
    /// Nothing new to report.
    pub const OK: u8 = 0;
    /// Alerts were raised (or the log misbehaved).
    pub const ALERTS: u8 = 1;
    /// Configuration, state or delivery error.
    pub const ERROR: u8 = 2;
    /// The log could not be reached.
    pub const UNREACHABLE: u8 = 3;
}

/// Runs the monitor with `settings`; returns the exit code.
pub async fn run(settings: Settings) -> u8 {
    let metrics = Arc::new(Metrics::default());
    let sinks = Sinks::new(settings.sinks.clone(), metrics.clone());
    if settings.registries.is_empty() {
        eprintln!(
            "gatelog-monitor: WARNING: running without registry keys (--allow-unauthenticated): \
             no envelope signature is checked, the log alone vouches for every event, and every \
             alert is marked unauthenticated. Pass each registry's --registry-key instead."
        );
    }
    if settings.test_alert {
        return test_alert(&sinks, &settings).await;
    }
    let mut follower = match open(&settings, metrics.clone()).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("gatelog-monitor: {e}");
            return match e {
                FollowError::Fetch(_) => code::UNREACHABLE,
                _ => code::ERROR,
            };
        }
    };
    if settings.once {
        once(&mut follower, &sinks).await
    } else {
        daemon(follower, sinks, &settings, metrics).await
    }
}

async fn open(settings: &Settings, metrics: Arc<Metrics>) -> Result<Follower, FollowError> {
    let reader = LogReader::new(&settings.log)?;
    // A first run that is refused (say, --start-at beyond the log) leaves
    // no state folder behind.
    let new_folder = !settings.state.exists();
    let opened = open_state(settings, reader, metrics).await;
    if opened.is_err() && new_folder {
        let _ = std::fs::remove_dir_all(&settings.state);
    }
    opened
}

async fn open_state(
    settings: &Settings,
    reader: LogReader,
    metrics: Arc<Metrics>,
) -> Result<Follower, FollowError> {
    let state = State::open(&settings.state)?;
    let registries =
        (!settings.registries.is_empty()).then(|| Arc::new(Registries::new(&settings.registries)));
    let setup = Setup {
        log_key: settings.log_key.clone(),
        registries,
        start: settings.start,
        rules: settings.rules.clone(),
        watch: settings.watch.clone(),
        witnesses: settings.witnesses.clone(),
    };
    Follower::open(reader, state, setup, metrics).await
}

/// Tries delivery a few times with backoff; returns what still waits.
async fn deliver_with_retries(
    follower: &Follower,
    sinks: &Sinks,
    attempts: u32,
) -> Result<u64, FollowError> {
    let mut delay = Duration::from_millis(500);
    let mut waiting = 0;
    for attempt in 0..attempts {
        waiting = sinks.deliver(follower.state()).await?;
        if waiting == 0 || attempt + 1 == attempts {
            break;
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
    Ok(waiting)
}

async fn once(follower: &mut Follower, sinks: &Sinks) -> u8 {
    if let Err(e) = sinks.init(follower.state(), follower.last_seq()) {
        eprintln!("gatelog-monitor: {e}");
        return code::ERROR;
    }
    let before = follower.last_seq();
    let outcome = follower.step().await;
    // Cron runs are separate processes: the lag is since the last verified
    // progress the state remembers.
    if let (Err(e), Some(lag)) = (&outcome, follower.stored_lag())
        && !matches!(e, FollowError::Misbehaviour(_))
        && let Err(e) = follower.no_progress(lag, &e.to_string())
    {
        eprintln!("gatelog-monitor: {e}");
    }
    let delivered = deliver_with_retries(follower, sinks, 4).await;
    let raised = follower.last_seq() - before;
    match (&outcome, &delivered) {
        (Ok(p), Ok(0)) => {
            eprintln!(
                "gatelog-monitor: verified {} entries of {} ({} new), {raised} alert(s)",
                follower.cursor(),
                follower.origin(),
                p.entries
            );
        }
        (Ok(_), Ok(waiting)) => {
            eprintln!(
                "gatelog-monitor: {waiting} alert(s) could not be delivered; they wait in the state for the next run"
            );
            return code::ERROR;
        }
        (_, Err(e)) => {
            eprintln!("gatelog-monitor: {e}");
            return code::ERROR;
        }
        (Err(e), _) => eprintln!("gatelog-monitor: {e}"),
    }
    match outcome {
        Ok(_) if raised > 0 => code::ALERTS,
        Ok(_) => code::OK,
        Err(FollowError::Misbehaviour(_) | FollowError::Unverifiable(_)) => code::ALERTS,
        Err(FollowError::Fetch(_)) if raised > 0 => code::ALERTS,
        Err(FollowError::Fetch(_)) => code::UNREACHABLE,
        Err(_) => code::ERROR,
    }
}

/// The c2sp.org/tlog-witness API for the followed log, with the witness's
/// state and key in `dir` (the key is created on first start).
fn witness_router(
    dir: &std::path::Path,
    name: &str,
    log_key: &gatelog_core::VerifierKey,
) -> Result<axum::Router, String> {
    let (key, created) = gatelog_witness::keyfile::load_or_create(dir, name)?;
    if created {
        println!(
            "created a new witness key in {}",
            dir.join(gatelog_witness::keyfile::KEY_FILE).display()
        );
    }
    let state = gatelog_witness::state::State::open(&dir.join("db")).map_err(|e| e.to_string())?;
    let witness = gatelog_witness::witness::Witness::new(key, std::slice::from_ref(log_key), state);
    println!(
        "witnessing {} as {} (POST /add-checkpoint next to /metrics)",
        log_key.name(),
        witness.verifier()
    );
    Ok(gatelog_witness::http::router(witness, WITNESS_RATE))
}

/// add-checkpoint requests per second the built-in witness takes (burst 10×).
const WITNESS_RATE: u32 = 20;

async fn daemon(
    mut follower: Follower,
    sinks: Sinks,
    settings: &Settings,
    metrics: Arc<Metrics>,
) -> u8 {
    let listener = match tokio::net::TcpListener::bind(settings.metrics_listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "gatelog-monitor: cannot listen on {}: {e}",
                settings.metrics_listen
            );
            return code::ERROR;
        }
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    println!(
        "gatelog-monitor following {} ({}); metrics on http://{addr}/metrics",
        settings.log,
        follower.origin()
    );
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get({
            let metrics = metrics.clone();
            move || async move {
                (
                    [(
                        "content-type",
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    metrics.render(),
                )
            }
        }),
    );
    let app = match &settings.witness {
        None => app,
        Some((dir, name)) => match witness_router(dir, name, &settings.log_key) {
            Ok(router) => app.merge(router),
            Err(e) => {
                eprintln!("gatelog-monitor: witness: {e}");
                return code::ERROR;
            }
        },
    };
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    if let Err(e) = sinks.init(follower.state(), follower.last_seq()) {
        eprintln!("gatelog-monitor: {e}");
        return code::ERROR;
    }

    let wake = Arc::new(Notify::new());
    let state = follower.shared_state();
    let sinks = Arc::new(sinks);
    let delivery = tokio::spawn(delivery_loop(sinks.clone(), state.clone(), wake.clone()));
    let mut backoff = settings.poll_interval;
    let clock = follower.progress_clock();
    let threshold = settings.rules.no_progress();
    let mut last_error = String::from("no answer from the log yet");
    let result = loop {
        // The step runs under a watch: no verified progress for longer
        // than the threshold raises `no-progress` even while a step hangs
        // on a log that answers slowly (the step is then dropped and
        // started again; committed chunks stay committed).
        let outcome = {
            // Once alerted, a long step (a catch-up) is left alone.
            let watching = !follower.alerted_no_progress();
            let step = follower.step();
            tokio::pin!(step);
            let period = Duration::from_secs(1).min(threshold);
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            loop {
                tokio::select! {
                    outcome = &mut step => break Watched::Done(outcome),
                    _ = tick.tick() => {
                        if watching && clock.lag() > threshold {
                            break Watched::Stalled;
                        }
                    }
                    _ = tokio::signal::ctrl_c() => break Watched::Stop,
                }
            }
        };
        let outcome = match outcome {
            Watched::Stop => break code::OK,
            Watched::Done(outcome) => outcome,
            Watched::Stalled => Err(FollowError::Unverifiable(format!(
                "a step took longer than the no-progress threshold; last error: {last_error}"
            ))),
        };
        match outcome {
            Ok(progress) => {
                backoff = settings.poll_interval;
                if progress.alerts > 0 {
                    wake.notify_one();
                }
            }
            Err(FollowError::Misbehaviour(id)) => {
                wake.notify_one();
                eprintln!(
                    "gatelog-monitor: the log signed contradicting checkpoints (evidence in alert {id}); stopping"
                );
                break code::ALERTS;
            }
            Err(
                e @ (FollowError::Fetch(_)
                | FollowError::Malformed(_)
                | FollowError::Unverifiable(_)),
            ) => {
                tracing::warn!("{e}; retrying in {:?}", backoff);
                last_error = e.to_string();
                wake.notify_one();
                // Retried at least twice within the no-progress threshold.
                let cap = Duration::from_secs(60).min(threshold / 2);
                backoff = (backoff * 2).min(cap).max(settings.poll_interval);
            }
            Err(e) => {
                eprintln!("gatelog-monitor: {e}");
                break code::ERROR;
            }
        }
        match follower.no_progress(clock.lag(), &last_error) {
            Ok(true) => wake.notify_one(),
            Ok(false) => {}
            Err(e) => {
                eprintln!("gatelog-monitor: {e}");
                break code::ERROR;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = tokio::signal::ctrl_c() => break code::OK,
        }
    };
    // One last delivery round before exiting; what fails waits in the
    // state for the next start.
    delivery.abort();
    let _ = tokio::time::timeout(Duration::from_secs(10), sinks.deliver(&state)).await;
    result
}

/// How a watched step ended.
enum Watched {
    /// It returned.
    Done(Result<crate::follow::Progress, FollowError>),
    /// No verified progress for longer than the threshold: dropped.
    Stalled,
    /// Ctrl-C.
    Stop,
}

/// Delivers whenever woken, and retries failed deliveries with backoff.
async fn delivery_loop(sinks: Arc<Sinks>, state: Arc<State>, wake: Arc<Notify>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        match sinks.deliver(&state).await {
            Ok(0) => {
                backoff = Duration::from_secs(1);
                // Also poll now and then: alerts may come from a restart.
                let _ = tokio::time::timeout(Duration::from_secs(5), wake.notified()).await;
            }
            Ok(_) => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
            Err(e) => {
                tracing::error!("alert delivery: {e}");
                tokio::time::sleep(backoff).await;
            }
        }
    }
}

async fn test_alert(sinks: &Sinks, settings: &Settings) -> u8 {
    let alert = Alert {
        schema: SCHEMA.into(),
        seq: 0,
        id: "test-alert".into(),
        rule: RuleId::PublishWithoutApproval,
        severity: Severity::Low,
        log: settings.log_key.name().to_owned(),
        package: Some("@gatelog/test-alert".into()),
        version: Some("0.0.0".into()),
        message: "a test alert from gatelog-monitor --test-alert; nothing happened".into(),
        explanation: RuleId::PublishWithoutApproval.explanation().into(),
        evidence: Vec::new(),
        event_time: None,
        checkpoint_size: 0,
        details: [("test".to_owned(), serde_json::Value::Bool(true))]
            .into_iter()
            .collect(),
        unauthenticated: settings.registries.is_empty(),
    };
    let failures = sinks.send_all(&alert).await;
    for f in &failures {
        eprintln!("gatelog-monitor: test alert not delivered: {f}");
    }
    if failures.is_empty() {
        eprintln!("gatelog-monitor: test alert delivered");
        code::OK
    } else {
        code::ERROR
    }
}
