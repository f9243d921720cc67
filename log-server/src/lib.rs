//! # gatelog-server
//!
//! The gatelog log: an append-only RFC 6962 Merkle tree of signed release
//! events, stored in RocksDB, with checkpoints signed per
//! c2sp.org/tlog-checkpoint and served over HTTP.
//!
//! Modules, each with one job:
//! - [`keyfile`]: loads or creates the log's Ed25519 signing key.
//! - [`store`]: the RocksDB store (tree state and signed checkpoints).
//! - [`log`]: opening the log: startup checks that stored state and the
//!   latest signed checkpoint agree; refuses to start otherwise.
//! - [`http`]: the axum router (`GET /checkpoint`, `GET /healthz`).
//!
//! Not here yet: the write path (sequencer, `/v1/entries`), tiles and the
//! release API. They build on these modules.

pub mod http;
pub mod keyfile;
pub mod log;
pub mod store;

use std::future::Future;

use tokio::net::TcpListener;

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
