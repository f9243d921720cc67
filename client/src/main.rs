//! `gatelog`: the gatelog command line.
//!
//! Exit codes: 0 success, 1 verification failed, 2 usage or configuration
//! error, 3 the log is unreachable or the answer cannot be decided.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gatelog_client::keygen::{self, KeyRole};

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
}

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
    }
}
