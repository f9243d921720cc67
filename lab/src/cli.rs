//! The `gatelog-lab` command line: `demo` and `hammer`. Exit codes as
//! `gatelog`'s: 0 success, 1 a failed check, 2 usage, 3 the log could not
//! be reached.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use gatelog_client::exit::{Exit, Failure};
use gatelog_client::logclient::LogClient;
use gatelog_core::VerifierKey;

use crate::demo::{self, DemoOptions};
use crate::hammer::{self, HammerConfig, HammerError};

#[derive(Parser, Debug)]
#[command(
    name = "gatelog-lab",
    version,
    about = "gatelog's demo and load generator, on a simulated registry"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Load a local log with verified release chains and report throughput
    /// and latency (signs as the sample registry `hammer.registry.test`).
    Hammer(HammerArgs),
    /// Show what gatelog is for: run a local log and monitor, log an npm
    /// organisation's releases and the attacks of 2026 into them, verify
    /// an honest and an attacked lockfile, then (with the npm CLI of
    /// tools/) stage, approve, install and attack through gatelog-registry.
    Demo {
        /// Folder for the demo's log, monitor state, lockfiles and logs; a
        /// previous demo there is removed first.
        #[arg(long, default_value = "./demo-data")]
        data: PathBuf,
        /// Stop the log and the monitor at the end instead of leaving them
        /// running until Ctrl-C.
        #[arg(long)]
        no_wait: bool,
        /// The npm CLI that plays the registry chapter (default:
        /// tools/node_modules/.bin/npm in the working folder or above it,
        /// as `make tools` installs it; without one the chapter is skipped).
        #[arg(long, value_name = "PATH")]
        npm: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
struct HammerArgs {
    /// Base URL of the log (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    log: String,
    /// The log's verifier key.
    #[arg(long, required_unless_present = "print_registry_key")]
    log_key: Option<String>,
    /// Print the sample registry's verifier key and exit.
    #[arg(long)]
    print_registry_key: bool,
    /// Log one direct publish of PACKAGE@1.0.0 (an attack a monitor must
    /// alert on), wait for its signed checkpoint, and exit.
    #[arg(long, value_name = "PACKAGE")]
    attack_direct_publish: Option<String>,
    /// Concurrent writers (with --rate: requests in flight at most); 0 only
    /// reads, for --duration or --max-seconds.
    #[arg(long, default_value_t = 8)]
    writers: usize,
    /// Concurrent verifying readers: checkpoints with consistency proofs,
    /// and release bundles of published releases.
    #[arg(long, default_value_t = 2)]
    readers: usize,
    /// Concurrent proof readers: inclusion proofs of random entries from
    /// `GET /v1/proofs/inclusion`, each verified against a verified
    /// checkpoint.
    #[arg(long, default_value_t = 0)]
    proof_readers: usize,
    /// Inclusion proofs per proof reader's request: 1 asks
    /// `GET /v1/proofs/inclusion` for each, more (up to 1000) asks
    /// `POST /v1/proofs/inclusion` for that many at once.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1000))]
    proof_batch: u16,
    /// Concurrent tile readers: inclusion proofs of random entries built
    /// here from the log's tiles (fetched once), each verified; reported
    /// apart from the log's proofs.
    #[arg(long, default_value_t = 0)]
    tile_readers: usize,
    /// Envelopes per request (1 = one event per request).
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    /// Release chains to log (3 events each) [default: 10000, or no limit
    /// with --duration].
    #[arg(long)]
    releases: Option<u64>,
    /// Packages the releases are spread over.
    #[arg(long, default_value_t = 1000)]
    packages: u64,
    /// Stop after this many seconds at the latest.
    #[arg(long, default_value_t = 120, conflicts_with = "duration")]
    max_seconds: u64,
    /// Offer load for this many seconds, then let the requests in flight
    /// finish (release chains are then unlimited unless --releases is given).
    #[arg(long, value_name = "SECONDS")]
    duration: Option<u64>,
    /// Offer this many events per second (open loop: requests of
    /// --batch-size events on a fixed schedule, latency counted from each
    /// request's scheduled time, so queueing in the log is not hidden).
    /// Without it, writers send as fast as the log answers.
    #[arg(long, value_name = "EVENTS_PER_SEC")]
    rate: Option<f64>,
    /// PID of the server, to report its CPU time and memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn usage(msg: impl std::fmt::Display) -> Failure {
    Failure::usage(msg)
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Runtime::new().map_err(|e| Failure(Exit::Undecided, e.to_string()))
}

/// Runs the command line and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let (name, result) = match cli.command {
        Command::Hammer(h) => ("hammer", hammer_cmd(h)),
        Command::Demo { data, no_wait, npm } => (
            "demo",
            demo::run(&DemoOptions {
                data,
                wait: !no_wait,
                npm,
            })
            .map_err(|e| Failure(e.exit_code(), e.to_string())),
        ),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(Failure(code, msg)) => {
            eprintln!(
                "gatelog-lab {name}: {}",
                gatelog_client::sanitize::lines(&msg)
            );
            ExitCode::from(code)
        }
    }
}

fn hammer_cmd(h: HammerArgs) -> Result<u8, Failure> {
    let registry = hammer::workload::registry();
    if h.print_registry_key {
        println!("{}", registry.verifier_key());
        return Ok(Exit::Ok.code());
    }
    let key = VerifierKey::parse(h.log_key.as_deref().unwrap_or_default())
        .map_err(|e| usage(format!("--log-key: {e}")))?;
    if let Some(package) = &h.attack_direct_publish {
        if !hammer::is_loopback(&h.log) {
            return Err(usage("the hammer only targets loopback logs"));
        }
        let envelope = registry.publish_direct(package, "1.0.0", b"attack", 1_780_000_000);
        let client = LogClient::new(&h.log, key)?;
        let ack = runtime()?
            .block_on(client.submit(&[envelope]))?
            .pop()
            .ok_or_else(|| Failure(Exit::Undecided, "no answer".into()))??;
        println!("{}", ack.index);
        return Ok(Exit::Ok.code());
    }
    let config = HammerConfig {
        log: h.log,
        writers: h.writers,
        readers: h.readers,
        proof_readers: h.proof_readers,
        proof_batch: usize::from(h.proof_batch),
        tile_readers: h.tile_readers,
        batch_size: h.batch_size,
        releases: h.releases.unwrap_or(if h.duration.is_some() {
            u64::MAX
        } else {
            10_000
        }),
        packages: h.packages,
        max_duration: Duration::from_secs(h.duration.unwrap_or(h.max_seconds)),
        rate: h.rate,
        server_pid: h.server_pid,
    };
    let report = runtime()?
        .block_on(hammer::run(&config, key, registry))
        .map_err(|e| match e {
            HammerError::NotLoopback(_) | HammerError::Rate(_) => usage(e),
            HammerError::Client(c) => Failure::from(c),
        })?;
    if h.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{}", report.to_text());
    }
    Ok(if report.verification_failures > 0 {
        Exit::Failed.code()
    } else {
        Exit::Ok.code()
    })
}
