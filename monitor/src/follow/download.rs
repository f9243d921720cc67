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
