//! The `gatelog-monitor` binary: see the library's documentation.

use std::process::ExitCode;

use clap::Parser;
use gatelog_monitor::cli::{Flags, Settings};
use gatelog_monitor::run::{code, run};

// Answers and decoded entries are many small allocations; mimalloc serves
// them faster than the system allocator (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let flags = Flags::parse();
    // Logs go to stderr; stdout carries alerts.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let settings = match Settings::resolve(flags) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gatelog-monitor: {e}");
            return ExitCode::from(code::ERROR);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gatelog-monitor: cannot start the runtime: {e}");
            return ExitCode::from(code::ERROR);
        }
    };
    ExitCode::from(runtime.block_on(run(settings)))
}
