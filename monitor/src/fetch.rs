//! Reading a log through the c2sp.org/tlog-tiles API: the checkpoint, hash
//! tiles and entry bundles. Nothing here decides whether what was read is
//! true; [`crate::follow`] verifies it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatelog_core::tile::{EntryTile, Tile};

/// Why a read failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum FetchError {
    /// The log did not answer.
    #[error("log unreachable: {0}")]
    Unreachable(String),
    /// The log answered with an error status.
    #[error("GET {path}: HTTP {status}")]
    Status {
        /// The path requested.
        path: String,
        /// The status.
        status: u16,
    },
}

/// Largest answer read: an entry bundle is at most 256 leaves of 64 KiB.
const MAX_ANSWER: usize = 32 << 20;

/// Hash tiles kept per follower step; a step reads few distinct tiles.
const TILE_CACHE: usize = 4096;

/// An HTTP reader of one log.
#[derive(Clone)]
pub struct LogReader {
    http: reqwest::Client,
    base: String,
    tiles: Arc<Mutex<HashMap<Tile, Arc<Vec<u8>>>>>,
}

impl LogReader {
    /// A reader of the log at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Result<LogReader, FetchError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(32)
            .build()
            .map_err(|e| FetchError::Unreachable(e.to_string()))?;
        Ok(LogReader {
            http,
            base: base.trim_end_matches('/').to_owned(),
            tiles: Default::default(),
        })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn get(&self, path: &str) -> Result<Vec<u8>, FetchError> {
        let url = format!("{}/{path}", self.base);
        let mut resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| FetchError::Unreachable(format!("GET {url}: {e}")))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                path: path.to_owned(),
                status: status.as_u16(),
            });
        }
        // Read with a cap: a log that streams without end is refused, not
        // buffered until memory runs out.
        let too_large =
            || FetchError::Unreachable(format!("GET {url}: larger than {MAX_ANSWER} bytes"));
        if resp.content_length().is_some_and(|n| n > MAX_ANSWER as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| FetchError::Unreachable(format!("GET {url}: {e}")))?
        {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// The log's current checkpoint, unverified.
    pub async fn checkpoint(&self) -> Result<Vec<u8>, FetchError> {
        self.get("checkpoint").await
    }

    /// A hash tile (cached: tiles are immutable).
    pub async fn tile(&self, tile: Tile) -> Result<Arc<Vec<u8>>, FetchError> {
        if let Some(data) = self.tiles.lock().expect("tile cache lock").get(&tile) {
            return Ok(data.clone());
        }
        let data = Arc::new(self.get(&tile.to_path()).await?);
        let mut cache = self.tiles.lock().expect("tile cache lock");
        if cache.len() >= TILE_CACHE {
            cache.clear();
        }
        cache.insert(tile, data.clone());
        Ok(data)
    }

    /// Entry bundles, fetched concurrently, in the order given.
    pub async fn bundles(&self, tiles: &[EntryTile]) -> Result<Vec<Vec<u8>>, FetchError> {
        let mut set = tokio::task::JoinSet::new();
        for (i, t) in tiles.iter().enumerate() {
            let reader = self.clone();
            let path = t.to_path();
            set.spawn(async move { (i, reader.get(&path).await) });
        }
        let mut out = vec![Vec::new(); tiles.len()];
        while let Some(joined) = set.join_next().await {
            let (i, result) = joined.map_err(|e| FetchError::Unreachable(e.to_string()))?;
            out[i] = result?;
        }
        Ok(out)
    }
}
