//! # gatelog-bulk-load
//!
//! Fills a **new** gatelog data folder with millions of realistic entries in
//! minutes, so the scaling benchmarks can start a real server on a log of
//! 1 M, 10 M or 100 M entries without submitting them all over HTTP.
//!
//! - **Events:** the release chains of `gatelog hammer`
//!   ([`gatelog_lab::hammer::workload`]): device registrations, stages
//!   from CI, approvals signed by the maintainer's device over the staged
//!   leaf, and publishes, all signed by the hammer's sample registry. Each
//!   event is decoded and validated as the server does on submission; the
//!   registry signatures the loader makes are not checked again here (half
//!   the cost of a load), but `gatelog-monitor --registry-key` checks every
//!   one on the loaded log.
//! - **Writing:** the server's code, not a copy of its formats:
//!   [`Log::open`](gatelog_server::log::Log::open) creates the key, the
//!   RocksDB store and the first checkpoint, and the sequencer's
//!   [`commit`](gatelog_server::sequencer::Sequencer::commit) logs each
//!   batch (references and device signatures checked against the log,
//!   leaves, hashes and index keys in one synced write, the root read back,
//!   the checkpoint signed). The folder then holds what the server would
//!   have stored for the same events in the same order, and opening it runs
//!   the server's startup check.
//! - **Only new folders** ([`folder`]): a log that holds entries takes new
//!   ones only through its own server's sequencer. Writing beside it would
//!   sign a tree that contradicts checkpoints it already handed out, so a
//!   folder that is not empty is refused. (RocksDB's lock file also stops a
//!   second process from opening a folder a running server holds.)
//!
//! Out of scope: anything a live log needs; this is a benchmark tool.

pub mod folder;
pub mod load;
pub mod pipeline;

pub use load::{LoadOptions, Summary, load};

/// Why a bulk load failed.
#[derive(Debug, thiserror::Error)]
pub enum BulkLoadError {
    /// The data folder already holds something.
    #[error(
        "refusing to bulk-load into {0}: the folder is not empty. The bulk loader only fills \
         a new log; a log that holds entries takes new ones through its server"
    )]
    NotEmpty(String),
    /// The options cannot produce a log.
    #[error("{0}")]
    Invalid(String),
    /// The folder could not be read or created.
    #[error("data folder {0}: {1}")]
    Io(String, std::io::Error),
    /// Opening the log (key, store, startup check) failed.
    #[error(transparent)]
    Open(#[from] gatelog_server::log::OpenError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] gatelog_server::store::StoreError),
    /// A generated event was refused: the workload and the log disagree.
    #[error("entry refused: {0}")]
    Refused(String),
}
