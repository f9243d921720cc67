//! `gatelog-durable-bench`: durable append + inclusion proofs on the
//! server's RocksDB store, printing one JSON report (see
//! `gatelog_bench::durable`). `scripts/bench-micro.sh` runs it next to
//! `scripts/bench-pymerkle.py` with the same arguments.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use gatelog_bench::durable::{Workload, run};

/// Durable append + inclusion proofs on gatelog's RocksDB store.
#[derive(Parser)]
struct Args {
    /// An empty (or missing) folder for the store.
    #[arg(long)]
    dir: PathBuf,
    /// Entries to append.
    #[arg(long, default_value_t = 100_000)]
    entries: u64,
    /// Entries per durable commit.
    #[arg(long, default_value_t = 1000)]
    batch: u64,
    /// Bytes per entry (a multiple of 8).
    #[arg(long, default_value_t = 600)]
    entry_bytes: usize,
    /// Inclusion proofs to build and verify at the end.
    #[arg(long, default_value_t = 1000)]
    proofs: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.entries == 0
        || args.batch == 0
        || args.entry_bytes == 0
        || !args.entry_bytes.is_multiple_of(8)
    {
        eprintln!(
            "error: --entries and --batch must be positive, --entry-bytes a positive multiple of 8"
        );
        return ExitCode::from(2);
    }
    let workload = Workload {
        entries: args.entries,
        batch: args.batch,
        entry_bytes: args.entry_bytes,
        proofs: args.proofs,
    };
    match run(&args.dir, &workload) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
