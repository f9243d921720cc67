//! `gatelog-bulk-load`: fills a new gatelog data folder with signed release
//! chains through the server's own sequencer, for the scaling benchmarks.
//! It refuses a folder that is not empty. See the library docs.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use gatelog_bulk_load::{BulkLoadError, LoadOptions, load};

/// Fills a NEW gatelog data folder with release chains of `gatelog hammer`'s
/// workload (signed by its sample registry), written by the server's
/// sequencer. Refuses a folder that is not empty: a live log takes entries
/// only through its server.
#[derive(Parser, Debug)]
#[command(name = "gatelog-bulk-load", version)]
struct Args {
    /// The data folder to create (missing or empty).
    #[arg(long)]
    data: PathBuf,
    /// Entries to load (rounded up to whole release chains).
    #[arg(long)]
    entries: u64,
    /// The log's origin, as `gatelog-server --origin` will be given.
    #[arg(long, default_value = "gatelog.localhost/log")]
    origin: String,
    /// Packages the releases are spread over.
    #[arg(long, default_value_t = 10_000)]
    packages: u64,
    /// Number of the first release chain (`gatelog hammer` numbers its
    /// releases from 0; the default keeps them apart).
    #[arg(long, default_value_t = 10_000_000)]
    first_release: u64,
    /// Envelopes per sequencer batch.
    #[arg(long, default_value_t = 4096)]
    batch: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut opts = LoadOptions::new(args.data, args.entries);
    opts.origin = args.origin;
    opts.packages = args.packages;
    opts.first_release = args.first_release;
    opts.batch = args.batch;
    let started = Instant::now();
    let mut last = started;
    let mut logged = 0u64;
    let result = load(&opts, |n| {
        logged += n;
        if last.elapsed().as_secs() >= 10 {
            last = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "{logged} entries in {secs:.0} s ({:.0}/s)",
                logged as f64 / secs
            );
        }
    });
    match result {
        Ok(summary) => {
            let mut out = std::io::stdout().lock();
            let _ = if args.json {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&summary).unwrap_or_default()
                )
            } else {
                write!(
                    out,
                    "loaded {} entries ({} release chains over {} packages) in {:.1} s = {:.0} entries/s\n\
                     {} bytes on disk = {:.0} bytes per entry\nverifier key: {}\n",
                    summary.entries,
                    summary.releases,
                    summary.packages,
                    summary.seconds,
                    summary.entries_per_second,
                    summary.bytes_on_disk,
                    summary.bytes_per_entry,
                    summary.verifier_key
                )
            };
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gatelog-bulk-load: {e}");
            ExitCode::from(match e {
                BulkLoadError::NotEmpty(_) | BulkLoadError::Invalid(_) => 2,
                _ => 1,
            })
        }
    }
}
