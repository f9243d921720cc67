//! Reading a log through the c2sp.org/tlog-tiles API: the checkpoint, hash
//! tiles and entry bundles. Nothing here decides whether what was read is
//! true; [`crate::follow`] verifies it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatelog_core::tile::{EntryTile, MAX_ENTRY_BUNDLE_SIZE, Tile};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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

/// Largest entry bundle read: 256 leaves of at most 64 KiB, with their
/// length prefixes (about 16 MiB).
pub const MAX_BUNDLE: usize = MAX_ENTRY_BUNDLE_SIZE;

/// Largest checkpoint or hash tile read (a tile is 8 KiB; a signed note
/// at most 256 KiB).
const MAX_SMALL: usize = gatelog_core::note::MAX_NOTE_SIZE;

/// Entry-bundle bytes held at once, downloading or waiting to be decoded:
/// 128 MiB. A download reserves [`MAX_BUNDLE`] before it starts, keeps
/// what the answer's length says once its headers arrive, and the bytes
/// are released when the chunk is decoded. A chunk whose bundles would
/// not fit ends early (see `follow`), so a hostile log that serves the
/// largest bundles it may costs this much memory, not gigabytes.
pub const MAX_IN_FLIGHT: usize = 128 << 20;

/// Entry-bundle bytes, counted against [`MAX_IN_FLIGHT`] until dropped.
pub struct Held {
    /// The bundle.
    pub bytes: Vec<u8>,
    _permit: OwnedSemaphorePermit,
}

/// The budget of [`MAX_IN_FLIGHT`] bytes, and the most ever reserved.
pub struct Budget {
    permits: Arc<Semaphore>,
    peak: AtomicUsize,
}

impl Budget {
    fn new(bytes: usize) -> Budget {
        Budget {
            permits: Arc::new(Semaphore::new(bytes)),
            peak: AtomicUsize::new(0),
        }
    }

    fn note_peak(&self) {
        let used = MAX_IN_FLIGHT.saturating_sub(self.permits.available_permits());
        self.peak.fetch_max(used, Ordering::Relaxed);
    }

    /// Reserves room for one bundle download, waiting for it.
    pub async fn reserve(&self) -> OwnedSemaphorePermit {
        let permit = self
            .permits
            .clone()
            .acquire_many_owned(MAX_BUNDLE as u32)
            .await
            .expect("the budget is never closed");
        self.note_peak();
        permit
    }

    /// Reserves room for one bundle download if there is room now.
    pub fn try_reserve(&self) -> Option<OwnedSemaphorePermit> {
        let permit = self
            .permits
            .clone()
            .try_acquire_many_owned(MAX_BUNDLE as u32)
            .ok()?;
        self.note_peak();
        Some(permit)
    }

    /// The most bytes ever reserved at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }
}

/// Hash tiles kept per follower step; a step reads few distinct tiles.
const TILE_CACHE: usize = 4096;

/// An HTTP reader of one log.
#[derive(Clone)]
pub struct LogReader {
    http: reqwest::Client,
    base: String,
    tiles: Arc<Mutex<HashMap<Tile, Arc<Vec<u8>>>>>,
    budget: Arc<Budget>,
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
            budget: Arc::new(Budget::new(MAX_IN_FLIGHT)),
        })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The bundle byte budget.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// GETs `path`, reading at most `cap` bytes; with `permit` (holding
    /// `cap` bytes of the budget), keeps of it only what the answer needs.
    async fn get_capped(
        &self,
        path: &str,
        cap: usize,
        mut permit: Option<OwnedSemaphorePermit>,
    ) -> Result<(Vec<u8>, Option<OwnedSemaphorePermit>), FetchError> {
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
        let too_large = || FetchError::Unreachable(format!("GET {url}: larger than {cap} bytes"));
        let mut limit = cap;
        if let Some(n) = resp.content_length() {
            if n > cap as u64 {
                return Err(too_large());
            }
            limit = n as usize;
            shrink(&mut permit, limit);
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| FetchError::Unreachable(format!("GET {url}: {e}")))?
        {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        shrink(&mut permit, body.len());
        Ok((body, permit))
    }

    async fn get(&self, path: &str) -> Result<Vec<u8>, FetchError> {
        Ok(self.get_capped(path, MAX_SMALL, None).await?.0)
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

    /// One entry bundle, within the budget `permit` reserved for it.
    pub async fn bundle(
        &self,
        tile: EntryTile,
        permit: OwnedSemaphorePermit,
    ) -> Result<Held, FetchError> {
        let (bytes, permit) = self
            .get_capped(&tile.to_path(), MAX_BUNDLE, Some(permit))
            .await?;
        Ok(Held {
            bytes,
            _permit: permit.expect("a permit was given"),
        })
    }
}

/// Keeps `bytes` of `permit` (at least one, so it stays a permit) and
/// gives the rest back to the budget.
fn shrink(permit: &mut Option<OwnedSemaphorePermit>, bytes: usize) {
    if let Some(p) = permit {
        let keep = bytes.max(1);
        if p.num_permits() > keep {
            drop(p.split(p.num_permits() - keep));
        }
    }
}
