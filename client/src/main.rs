//! `gatelog`: the gatelog command line.
//!
//! Exit codes: 0 success, 1 verification failed, 2 usage or configuration
//! error, 3 the log is unreachable or the answer cannot be decided.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use gatelog_client::hammer::{self, HammerConfig, HammerError};
use gatelog_client::keygen::{self, KeyRole};
use gatelog_core::VerifierKey;
use gatelog_core::sample::SampleRegistry;

#[derive(Parser, Debug)]
#[command(
    name = "gatelog",
    version,
    about = "Check package releases against a gatelog log"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Make a new Ed25519 key; prints the private key, then the public (verifier) key.
    Keygen {
        /// Key name: a log's origin, a registry's host, a device or witness name.
        #[arg(long)]
        name: String,
        /// What the key is for.
        #[arg(long, value_enum, default_value = "log")]
        role: KeyRole,
    },
    /// Load a local log with verified release chains and report throughput
    /// and latency. Signs as the sample registry `hammer.registry.test`;
    /// allow it with the key `--print-registry-key` shows.
    Hammer {
        /// Base URL of the log (loopback only).
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        log: String,
        /// The log's verifier key.
        #[arg(long, required_unless_present = "print_registry_key")]
        log_key: Option<String>,
        /// Print the sample registry's verifier key and exit.
        #[arg(long)]
        print_registry_key: bool,
        /// Concurrent writers.
        #[arg(long, default_value_t = 8)]
        writers: usize,
        /// Concurrent verifying readers.
        #[arg(long, default_value_t = 2)]
        readers: usize,
        /// Envelopes per request (1 = one event per request).
        #[arg(long, default_value_t = 256)]
        batch_size: usize,
        /// Release chains to log (3 events each).
        #[arg(long, default_value_t = 10_000)]
        releases: u64,
        /// Packages the releases are spread over.
        #[arg(long, default_value_t = 1000)]
        packages: u64,
        /// Stop after this many seconds at the latest.
        #[arg(long, default_value_t = 120)]
        max_seconds: u64,
        /// PID of the server, to report its CPU time and memory.
        #[arg(long)]
        server_pid: Option<u32>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

const HAMMER_REGISTRY: &str = "hammer.registry.test";

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Keygen { name, role } => match keygen::generate(&name, role) {
            Ok(key) => {
                println!("{}", key.to_private_text());
                println!("{}", key.verifier());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("gatelog keygen: {e}");
                ExitCode::from(2)
            }
        },
        Command::Hammer {
            log,
            log_key,
            print_registry_key,
            writers,
            readers,
            batch_size,
            releases,
            packages,
            max_seconds,
            server_pid,
            json,
        } => {
            let registry = SampleRegistry::new(HAMMER_REGISTRY, 77);
            if print_registry_key {
                println!("{}", registry.verifier_key());
                return ExitCode::SUCCESS;
            }
            let key = match VerifierKey::parse(log_key.as_deref().unwrap_or_default()) {
                Ok(k) => k,
                Err(e) => {
                    eprintln!("gatelog hammer: --log-key: {e}");
                    return ExitCode::from(2);
                }
            };
            let config = HammerConfig {
                log,
                writers,
                readers,
                batch_size,
                releases,
                packages,
                max_duration: Duration::from_secs(max_seconds),
                server_pid,
            };
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("gatelog hammer: {e}");
                    return ExitCode::from(3);
                }
            };
            match runtime.block_on(hammer::run(&config, key, registry)) {
                Ok(report) => {
                    if json {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&report).unwrap_or_default()
                        );
                    } else {
                        print!("{}", report.to_text());
                    }
                    if report.verification_failures > 0 {
                        ExitCode::from(1)
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(e @ HammerError::NotLoopback(_)) => {
                    eprintln!("gatelog hammer: {e}");
                    ExitCode::from(2)
                }
                Err(e) => {
                    eprintln!("gatelog hammer: {e}");
                    ExitCode::from(3)
                }
            }
        }
    }
}
