//! Errors of tile coordinates, tile paths, tile data and entry bundles.

use thiserror::Error;

use super::{MAX_ENTRY_SIZE, MAX_TILE_PATH_LEN};

/// What is wrong with a tile path, a tile, its data or an entry bundle
/// (c2sp.org/tlog-tiles).
///
/// Path text copied into a variant is escaped (`str::escape_default`), so a
/// hostile request path cannot inject control characters into logs.
/// Entries are counted from 0.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TileError {
    /// The path is longer than any canonical tile path.
    #[error("tile path is {len} bytes; at most {MAX_TILE_PATH_LEN} allowed")]
    PathTooLong {
        /// Length of the rejected path in bytes.
        len: usize,
    },
    /// The path does not start with `tile/`.
    #[error("tile path must start with `tile/` (without a leading slash)")]
    NotTilePath,
    /// Two slashes in a row, or a trailing slash.
    #[error("tile path has an empty element at position {position} (doubled or trailing slash)")]
    EmptyElement {
        /// Zero-based position of the element, `tile` being 0.
        position: usize,
    },
    /// A `.` or `..` element: never canonical, and a path traversal risk.
    #[error("tile path element `{element}` is a relative path component")]
    DotElement {
        /// The offending element.
        element: String,
    },
    /// The level is not a decimal integer without leading zeros.
    #[error("tile level `{element}` is not a decimal integer without leading zeros")]
    LevelSyntax {
        /// The offending element.
        element: String,
    },
    /// The level is a number above 63.
    #[error("tile level {level} out of range 0..=63")]
    LevelOutOfRange {
        /// The level as written.
        level: String,
    },
    /// The path ends before the tile index.
    #[error("tile path has no tile index")]
    MissingIndex,
    /// An index element is not three ASCII digits (after its `x`, if any).
    #[error("tile path element `{element}` is not three digits")]
    IndexElement {
        /// The offending element.
        element: String,
    },
    /// An index element without `x` is followed by more elements.
    #[error(
        "tile index element `{element}` is followed by `{next}`; only the last element may lack the `x` prefix"
    )]
    MissingX {
        /// The element lacking the `x`.
        element: String,
        /// The element after it.
        next: String,
    },
    /// The path ends with an `x`-prefixed element.
    #[error("last tile index element `{element}` must not start with `x`")]
    LastElementHasX {
        /// The offending element.
        element: String,
    },
    /// The index starts with `x000`, which a canonical path never has.
    #[error("tile index has a leading zero group `x000`")]
    IndexLeadingZeros,
    /// The index is larger than `u64::MAX`.
    #[error("tile index does not fit in a u64")]
    IndexOverflow,
    /// The path ends with `.p` and no width.
    #[error("tile path ends with `.p` but no `/<W>` width follows")]
    MissingWidth,
    /// The width is not a decimal integer without leading zeros.
    #[error("partial width `{element}` is not a decimal integer without leading zeros")]
    WidthSyntax {
        /// The offending element.
        element: String,
    },
    /// The partial width is 0 or above 255.
    #[error("partial width {width} out of range 1..=255")]
    WidthOutOfRange {
        /// The width as written.
        width: String,
    },
    /// Elements follow a complete tile path.
    #[error("unexpected element `{element}` after the end of the tile path")]
    TrailingElement {
        /// The first extra element.
        element: String,
    },
    /// A Merkle tree tile was expected but the path names an entry bundle.
    #[error("path names an entry bundle, not a Merkle tree tile")]
    NotHashTile,
    /// An entry bundle was expected but the path names a Merkle tree tile.
    #[error("path names a Merkle tree tile, not an entry bundle")]
    NotEntryTile,
    /// A tile built from values has a width outside 1..=256.
    #[error("tile width {width} out of range 1..=256")]
    InvalidWidth {
        /// The rejected width.
        width: u16,
    },
    /// No tree of at most `u64::MAX` leaves holds all of the tile's hashes.
    #[error("tile {tile} lies beyond the largest possible tree (2^64 - 1 leaves)")]
    TileBeyondMaxTree {
        /// The tile's path.
        tile: String,
    },
    /// The node is not a complete subtree of a tree of that size.
    #[error("node at level {level}, index {index} is not in a tree of size {size}")]
    NodeNotInTree {
        /// Level of the node.
        level: u8,
        /// Index of the node.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The leaf is not in a tree of that size.
    #[error("leaf {index} is not in a tree of size {size}")]
    LeafNotInTree {
        /// Index of the leaf.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A tree was asked to grow to a smaller size.
    #[error("tree cannot shrink from size {from} to {to}")]
    TreeShrinks {
        /// The earlier size.
        from: u64,
        /// The later, smaller size.
        to: u64,
    },
    /// Tile data is not exactly `width · 32` bytes.
    #[error("tile {tile} must be {expected} bytes, got {actual}")]
    TileDataLength {
        /// The tile's path.
        tile: String,
        /// `width · 32`.
        expected: usize,
        /// Length of the data given.
        actual: usize,
    },
    /// A tile was to be built from the wrong number of hashes.
    #[error("tile {tile} holds {expected} hashes, got {actual}")]
    HashCount {
        /// The tile's path.
        tile: String,
        /// The tile's width.
        expected: usize,
        /// Number of hashes given.
        actual: usize,
    },
    /// The node's hash cannot be computed from that tile's hashes.
    #[error("node at level {level}, index {index} cannot be computed from tile {tile}")]
    NodeNotInTile {
        /// Level of the node.
        level: u8,
        /// Index of the node.
        index: u64,
        /// The tile's path.
        tile: String,
    },
    /// Empty bundles are never served (c2sp.org/tlog-tiles: empty tiles
    /// MUST NOT be served), so one is never valid.
    #[error("entry bundle is empty")]
    BundleEmpty,
    /// Fewer than two bytes remain where an entry's length should be.
    #[error(
        "entry bundle truncated: entry {entry} needs a 2-byte length, {remaining} byte remains"
    )]
    BundleTruncatedLength {
        /// The entry whose length is cut short.
        entry: usize,
        /// Bytes left (always 1).
        remaining: usize,
    },
    /// An entry declares more bytes than remain.
    #[error("entry bundle truncated: entry {entry} declares {declared} bytes, {remaining} remain")]
    BundleTruncated {
        /// The entry that is cut short.
        entry: usize,
        /// Its declared length.
        declared: usize,
        /// Bytes left after its length prefix.
        remaining: usize,
    },
    /// Bytes follow the entries the bundle's tile width calls for.
    #[error("entry bundle has {extra} bytes after its {entries} expected entries")]
    BundleTrailingBytes {
        /// The expected entry count.
        entries: usize,
        /// Bytes after the last expected entry.
        extra: usize,
    },
    /// The bundle ends after fewer entries than its tile width.
    #[error("entry bundle holds {actual} entries, expected {expected}")]
    BundleCount {
        /// The tile width.
        expected: usize,
        /// Entries found.
        actual: usize,
    },
    /// A bundle holds at most 256 entries.
    #[error("entry bundle holds more than 256 entries")]
    BundleTooManyEntries,
    /// An entry longer than a uint16 length prefix can express.
    #[error("entry {entry} is {len} bytes; an entry bundle allows at most {MAX_ENTRY_SIZE}")]
    EntryTooLarge {
        /// The entry's position.
        entry: usize,
        /// Its length.
        len: usize,
    },
}

/// Escapes path text for an error message.
pub(super) fn quote(text: &str) -> String {
    text.escape_default().to_string()
}
