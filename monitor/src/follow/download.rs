//! Downloading a chunk's entry bundles within the byte budget
//! ([`crate::fetch::MAX_IN_FLIGHT`]).
//!
//! Bundles are requested in order, several at once; each request first
//! reserves the largest bundle's worth of the budget, and keeps only what
//! its answer holds. When the budget is spent by the bundles already
//! downloaded, the chunk ends there: it is verified and judged as it is,
//! and the next chunk starts after it. So however large the bundles a log
//! serves, the monitor never holds more than the budget of them.

use gatelog_core::TreeSize;
use gatelog_core::tile::EntryTile;
use tokio::task::JoinSet;

use super::FollowError;
use crate::fetch::{FetchError, Held, LogReader};

/// Bundle requests in flight at once.
const PARALLEL: usize = 32;

/// The downloaded bundles of a chunk, with the tiles they are.
pub struct Fetched {
    /// The entry tiles, in order.
    pub tiles: Vec<EntryTile>,
    /// `bundles[i]` is the bundle of `tiles[i]`.
    pub bundles: Vec<Held>,
    /// The end of the chunk: `to` as asked, or the end of the last
    /// bundle downloaded when the budget ended the chunk early.
    pub to: u64,
}

/// Downloads the entry bundles holding entries `[from, to)` of the tree of
/// `size`, or a prefix of them (at least one bundle) when the budget is
/// spent.
pub async fn fetch_chunk(
    reader: LogReader,
    from: u64,
    to: u64,
    size: TreeSize,
) -> Result<Fetched, FollowError> {
    let tiles: Vec<EntryTile> = (from / 256..to.div_ceil(256))
        .filter_map(|i| EntryTile::at_size(i, size))
        .collect();
    let mut got: Vec<Option<Held>> = (0..tiles.len()).map(|_| None).collect();
    let mut set: JoinSet<(usize, Result<Held, FetchError>)> = JoinSet::new();
    let mut next = 0;
    let budget = reader.budget();
    while next < tiles.len() || !set.is_empty() {
        let permit = if next == tiles.len() || set.len() >= PARALLEL {
            None
        } else if next == 0 {
            // The first bundle always goes: nothing of the chunk is held.
            Some(budget.reserve().await)
        } else if set.is_empty() {
            // Everything requested is in; no room for one more bundle
            // means the chunk ends here.
            match budget.try_reserve() {
                Some(p) => Some(p),
                None => break,
            }
        } else {
            tokio::select! {
                p = budget.reserve() => Some(p),
                joined = set.join_next() => {
                    take(joined, &mut got)?;
                    continue;
                }
            }
        };
        match permit {
            Some(permit) => {
                let (r, tile) = (reader.clone(), tiles[next]);
                let i = next;
                set.spawn(async move { (i, r.bundle(tile, permit).await) });
                next += 1;
            }
            None => take(set.join_next().await, &mut got)?,
        }
    }
    let bundles: Vec<Held> = got.into_iter().map_while(|b| b).collect();
    let tiles = tiles[..bundles.len()].to_vec();
    let end = tiles.last().map_or(from, |t| (t.index() + 1) * 256).min(to);
    Ok(Fetched {
        tiles,
        bundles,
        to: end,
    })
}

/// One download's end: its bundle's position and what it got.
type Joined = Result<(usize, Result<Held, FetchError>), tokio::task::JoinError>;

/// Files one finished download, or fails the chunk with its error.
fn take(joined: Option<Joined>, got: &mut [Option<Held>]) -> Result<(), FollowError> {
    if let Some(joined) = joined {
        let (i, result) = joined.map_err(|e| FollowError::Malformed(format!("download: {e}")))?;
        got[i] = Some(result?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::{MAX_BUNDLE, MAX_IN_FLIGHT};

    /// A "log" whose every entry bundle is `size` bytes of zeros.
    async fn hostile_log(size: usize) -> String {
        let body = std::sync::Arc::new(vec![0u8; size]);
        let app = axum::Router::new().fallback(move || {
            let body = body.clone();
            async move { body.as_ref().clone() }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn huge_bundles_end_the_chunk_within_the_byte_budget() {
        // 12 MiB per bundle, 64 bundles asked: 768 MiB without a budget.
        let size = 12 << 20;
        let reader = LogReader::new(&hostile_log(size).await).unwrap();
        let fetched = fetch_chunk(reader.clone(), 0, 16_384, TreeSize(1 << 20))
            .await
            .unwrap();
        let held: usize = fetched.bundles.iter().map(|b| b.bytes.len()).sum();
        assert!(
            fetched.to < 16_384 && fetched.to % 256 == 0,
            "{}",
            fetched.to
        );
        assert_eq!(fetched.bundles.len() as u64, fetched.to / 256);
        assert!(held <= MAX_IN_FLIGHT, "{held}");
        assert!(reader.budget().peak() <= MAX_IN_FLIGHT);
        assert!(
            fetched.bundles.len() >= (MAX_IN_FLIGHT - MAX_BUNDLE) / size,
            "the budget is used, not wasted: {} bundles",
            fetched.bundles.len()
        );
        // Decoded (dropped), the bytes go back: the next chunk fits again.
        drop(fetched);
        let next = fetch_chunk(reader.clone(), 0, 512, TreeSize(1 << 20))
            .await
            .unwrap();
        assert_eq!(next.to, 512);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_honest_chunk_is_not_cut() {
        let reader = LogReader::new(&hostile_log(300 << 10).await).unwrap();
        let fetched = fetch_chunk(reader, 100, 16_384, TreeSize(1 << 20))
            .await
            .unwrap();
        assert_eq!(fetched.to, 16_384);
        assert_eq!(fetched.bundles.len(), 64);
    }
}
