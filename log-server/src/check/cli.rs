//! The `gatelog-server check --data DIR` command: opens the store
//! read-only, runs [`check_store`](super::check_store) and prints a
//! summary. Exit codes: 0 everything agrees, 1 damage found (the first
//! problem is named on stderr), 2 the check could not run.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use gatelog_core::VerifierKey;

use super::check_store;
use crate::keyfile;
use crate::store::rocks::RocksStore;

/// Flags of `gatelog-server check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The log's data folder (RocksDB in DIR/db, the key in DIR/log.key).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Verify the checkpoint with this verifier key instead of the log key
    /// in DIR/log.key or GATELOG_LOG_KEY (e.g. to audit a backup copied
    /// without its private key).
    #[arg(long, value_name = "VKEY")]
    pub log_key: Option<String>,
}

fn cannot(why: impl std::fmt::Display) -> ExitCode {
    eprintln!("gatelog-server check: {why}");
    ExitCode::from(2)
}

fn verifier(args: &CheckArgs) -> Result<VerifierKey, String> {
    if let Some(text) = &args.log_key {
        return VerifierKey::parse(text).map_err(|e| format!("--log-key: {e}"));
    }
    match keyfile::load(&args.data) {
        Ok(Some((key, _))) => Ok(key.verifier()),
        Ok(None) => Err(format!(
            "no log key in {} (nor {}): give the verifier key with --log-key",
            args.data.join(keyfile::KEY_FILE).display(),
            keyfile::KEY_ENV
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Runs the command.
pub fn run(args: CheckArgs) -> ExitCode {
    let db = args.data.join("db");
    if !db.join("CURRENT").exists() {
        return cannot(format!("{} holds no log (no RocksDB store)", db.display()));
    }
    let key = match verifier(&args) {
        Ok(k) => k,
        Err(e) => return cannot(e),
    };
    let scratch = match tempfile::Builder::new().prefix("gatelog-check-").tempdir() {
        Ok(d) => d,
        Err(e) => return cannot(format!("cannot create a scratch folder: {e}")),
    };
    let store = match RocksStore::open_read_only(&db, scratch.path()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "gatelog-server check: DAMAGED or unreadable: {}: {e}",
                db.display()
            );
            return ExitCode::FAILURE;
        }
    };
    let show_progress = std::io::stderr().is_terminal();
    let mut last = Instant::now();
    let result = check_store(&store, &key, |done, total| {
        if last.elapsed() >= Duration::from_secs(10)
            || (show_progress && last.elapsed() >= Duration::from_secs(1))
        {
            eprintln!("  … {done} of {total} entries checked");
            last = Instant::now();
        }
    });
    match result {
        Ok(r) => {
            let secs = r.elapsed.as_secs_f64();
            println!("checked {}", db.display());
            println!(
                "  entries     {} re-hashed, structure checked ({} packages)",
                r.entries, r.packages
            );
            println!("  hashes      {} stored subtree hashes re-derived", r.nodes);
            println!(
                "  checkpoint  size {}, root {}, signature verified with {}",
                r.checkpoint.size,
                r.checkpoint.root,
                key.name()
            );
            if r.unsigned > 0 {
                println!(
                    "  unsigned    {} entries after the checkpoint (a batch being written, or \
                     signed when the server next starts)",
                    r.unsigned
                );
            }
            println!(
                "  time        {secs:.2} s ({:.0} entries/s)",
                r.entries as f64 / secs.max(1e-9)
            );
            println!("OK: the entries, the stored tree and the latest checkpoint agree");
            ExitCode::SUCCESS
        }
        Err(damage) => {
            eprintln!("gatelog-server check: DAMAGED: {damage}");
            eprintln!(
                "  The data folder does not match what the log signed. Do not start a \
                 server on it; restore it from a backup (docs/operations.md)."
            );
            ExitCode::FAILURE
        }
    }
}
