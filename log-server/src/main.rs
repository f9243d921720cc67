//! `gatelog-server`: runs a gatelog log with an embedded RocksDB store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use gatelog_server::keyfile::KeySource;
use gatelog_server::{http, log::Log, run};

/// A transparency log for staged and approved package releases.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Folder holding the RocksDB store and the log key (created if missing).
    #[arg(long, env = "GATELOG_DATA", default_value = "./gatelog-data")]
    data: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "GATELOG_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The log's origin: first line of every checkpoint and its key name.
    #[arg(long, env = "GATELOG_ORIGIN", default_value = "gatelog.localhost/log")]
    origin: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let log = match Log::open(&args.data, &args.origin) {
        Ok(log) => log,
        Err(e) => {
            eprintln!("gatelog-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("gatelog-server: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().map_or(args.listen, |a| a);
    if log.key_source == KeySource::Created {
        println!(
            "created a new log key in {}",
            args.data.join("log.key").display()
        );
    }
    println!("gatelog log {} listening on http://{addr}", log.origin);
    println!("verifier key: {}", log.key.verifier());
    println!(
        "tree size {}; try: curl http://{addr}/checkpoint",
        log.latest_checkpoint().head().size
    );
    let app = http::app(Arc::new(log));
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    };
    match run(listener, app, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gatelog-server: {e}");
            ExitCode::FAILURE
        }
    }
}
