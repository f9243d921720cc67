//! `gatelog-server`: runs a gatelog log with an embedded RocksDB store.
//! See `gatelog-server --help` and docs/operations.md.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use gatelog_server::clock::SystemClock;
use gatelog_server::config::{Command, Config, Flags};
use gatelog_server::keyfile::{KeyFileError, KeySource};
use gatelog_server::log::{Log, OpenError};
use gatelog_server::submitters::Submitters;
use gatelog_server::{Settings, start};

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,tower_http=warn".into());
    // Logs go to stderr, coloured only on a terminal; stdout keeps the
    // start-up lines a person or a script reads.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests and the batch in flight");
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut flags = Flags::parse();
    if let Some(Command::Check(args)) = flags.command.take() {
        return gatelog_server::check::cli::run(args);
    }
    let config = match Config::resolve(flags) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gatelog-server: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(config.json_logs);
    let log = match Log::open(&config.data, &config.origin) {
        Ok(log) => log,
        Err(e) => {
            eprintln!("gatelog-server: {e}");
            // An unusable origin or a key for another origin is configuration.
            return match e {
                OpenError::Origin(_) | OpenError::Key(KeyFileError::NameMismatch { .. }) => {
                    ExitCode::from(2)
                }
                _ => ExitCode::FAILURE,
            };
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("gatelog-server: cannot listen on {}: {e}", config.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().map_or(config.listen, |a| a);
    if log.key_source == KeySource::Created {
        println!(
            "created a new log key in {}",
            config.data.join("log.key").display()
        );
    }
    let vkey = log.key.verifier();
    let size = log.published.get().head().size;
    let settings = Settings {
        sequencer: config.sequencer,
        submitters: Submitters::new(&config.submitters, config.rate),
        request_timeout: config.request_timeout,
        guard: config.guard,
        max_checkpoint_lag: config.max_checkpoint_lag,
        skew: config.skew,
        witnesses: config.witnesses,
        monitor_alerts: config.monitor_alerts,
    };
    if let Some(w) = &settings.witnesses {
        let names: Vec<&str> = w.targets.iter().map(|t| t.name.as_str()).collect();
        println!(
            "asking {} witness(es) to cosign each checkpoint: {}",
            names.len(),
            names.join(", ")
        );
    }
    if settings.submitters.is_empty() {
        println!("no --submitter-key given: the log is read-only until a registry key is allowed");
    }
    let started = match start(log, settings, Arc::new(SystemClock)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gatelog-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("gatelog log {} listening on http://{addr}", config.origin);
    println!("verifier key: {vkey}");
    println!("tree size {size}; try: curl http://{addr}/checkpoint");
    let result = gatelog_server::serve::serve(
        listener,
        started.router,
        config.header_timeout,
        shutdown_signal(),
    )
    .await;
    drop(started.state);
    let _ = tokio::task::spawn_blocking(move || started.sequencer.join()).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gatelog-server: {e}");
            ExitCode::FAILURE
        }
    }
}
