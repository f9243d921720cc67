//! `gatelog-witness`: runs a c2sp.org/tlog-witness witness with an embedded
//! RocksDB state. See `gatelog-witness --help` and docs/witness.md.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use gatelog_core::VerifierKey;
use gatelog_witness::{http, keyfile, state::State, witness::Witness};

/// Command-line flags.
#[derive(Parser, Debug)]
#[command(
    name = "gatelog-witness",
    version,
    about = "A c2sp.org/tlog-witness witness"
)]
struct Flags {
    /// Folder holding the state (RocksDB) and the witness key.
    #[arg(long, default_value = "./witness-data")]
    data: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// The witness's name: its key's name.
    #[arg(long, default_value = "witness.localhost/w1")]
    name: String,
    /// Verifier key of a log to witness (repeatable; named after its origin).
    #[arg(long = "log-key", value_name = "VKEY", required = true)]
    log_keys: Vec<String>,
    /// add-checkpoint requests per second per log (burst 10×).
    #[arg(long, default_value_t = 20)]
    rate: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let flags = Flags::parse();
    let mut logs = Vec::new();
    for text in &flags.log_keys {
        match VerifierKey::parse(text) {
            Ok(k) => logs.push(k),
            Err(e) => {
                eprintln!("gatelog-witness: log key {text:?}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let (key, created) = match keyfile::load_or_create(&flags.data, &flags.name) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("gatelog-witness: {e}");
            return ExitCode::from(2);
        }
    };
    if created {
        println!(
            "created a new witness key in {}",
            flags.data.join(keyfile::KEY_FILE).display()
        );
    }
    let state = match State::open(&flags.data.join("db")) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gatelog-witness: {e}");
            return ExitCode::FAILURE;
        }
    };
    let witness = Witness::new(key, &logs, state);
    let vkey = witness.verifier();
    let listener = match tokio::net::TcpListener::bind(flags.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("gatelog-witness: cannot listen on {}: {e}", flags.listen);
            return ExitCode::from(2);
        }
    };
    let addr = listener.local_addr().map_or(flags.listen, |a| a);
    println!("gatelog witness {} listening on http://{addr}", flags.name);
    println!("verifier key: {vkey}");
    let app = http::router(witness, flags.rate);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gatelog-witness: {e}");
            ExitCode::FAILURE
        }
    }
}
