//! Tile paths (c2sp.org/tlog-tiles): `tile/<L>/<N>[.p/<W>]` and
//! `tile/entries/<N>[.p/<W>]`, where `<N>` is written in 3-digit groups,
//! all but the last prefixed with `x` (1234067 is `x001/x234/067`).
//!
//! Paths carry no leading slash: the HTTP server passes the path after it.
//! Parsing accepts only the canonical form, so every accepted path maps to
//! exactly one tile and formatting it gives back the same string; anything
//! else (leading zeros, `x000`, `..`, empty elements, `.p/256`) is rejected
//! rather than normalised, which keeps a file-backed store from serving one
//! tile under several names.

use std::fmt;

use super::error::quote;
use super::{EntryTile, MAX_TILE_LEVEL, TILE_WIDTH, Tile, TileError, TilePath};

/// Longest path [`parse_tile_path`] reads. The longest canonical path,
/// `tile/entries/x018/x446/x744/x073/x709/x551/615.p/255`, is 51 bytes.
pub const MAX_TILE_PATH_LEN: usize = 64;

/// Writes `index` as 3-digit groups, all but the last prefixed with `x`.
fn write_index(f: &mut fmt::Formatter<'_>, index: u64) -> fmt::Result {
    // u64::MAX has 20 digits: 7 groups.
    let mut groups = [0u16; 7];
    let mut len = 0;
    let mut rest = index;
    loop {
        groups[len] = (rest % 1000) as u16;
        len += 1;
        rest /= 1000;
        if rest == 0 {
            break;
        }
    }
    for group in groups[1..len].iter().rev() {
        write!(f, "x{group:03}/")?;
    }
    write!(f, "{:03}", groups[0])
}

fn write_width(f: &mut fmt::Formatter<'_>, width: u16) -> fmt::Result {
    if width < TILE_WIDTH {
        write!(f, ".p/{width}")
    } else {
        Ok(())
    }
}

impl fmt::Display for Tile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tile/{}/", self.level)?;
        write_index(f, self.index)?;
        write_width(f, self.width)
    }
}

impl fmt::Display for EntryTile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tile/entries/")?;
        write_index(f, self.index)?;
        write_width(f, self.width)
    }
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TilePath::Hashes(tile) => tile.fmt(f),
            TilePath::Entries(tile) => tile.fmt(f),
        }
    }
}

impl std::str::FromStr for TilePath {
    type Err = TileError;

    fn from_str(path: &str) -> Result<TilePath, TileError> {
        parse_tile_path(path)
    }
}

impl std::str::FromStr for Tile {
    type Err = TileError;

    fn from_str(path: &str) -> Result<Tile, TileError> {
        Tile::parse(path)
    }
}

impl std::str::FromStr for EntryTile {
    type Err = TileError;

    fn from_str(path: &str) -> Result<EntryTile, TileError> {
        EntryTile::parse(path)
    }
}

/// A decimal integer with no sign and no leading zeros ("0" itself is
/// fine). `None` if the syntax is wrong; saturates at `u64::MAX`, which is
/// out of range for both callers.
fn canonical_decimal(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if bytes.len() > 1 && bytes[0] == b'0' {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

/// Exactly three ASCII digits.
fn three_digits(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    (bytes.len() == 3 && bytes.iter().all(u8::is_ascii_digit))
        .then(|| bytes.iter().fold(0, |n, b| n * 10 + u64::from(b - b'0')))
}

fn parse_level(element: &str) -> Result<u8, TileError> {
    let level = canonical_decimal(element).ok_or_else(|| TileError::LevelSyntax {
        element: quote(element),
    })?;
    match u8::try_from(level) {
        Ok(level) if level <= MAX_TILE_LEVEL => Ok(level),
        _ => Err(TileError::LevelOutOfRange {
            level: quote(element),
        }),
    }
}

fn parse_width(element: &str) -> Result<u16, TileError> {
    let width = canonical_decimal(element).ok_or_else(|| TileError::WidthSyntax {
        element: quote(element),
    })?;
    match u16::try_from(width) {
        Ok(width) if (1..TILE_WIDTH).contains(&width) => Ok(width),
        _ => Err(TileError::WidthOutOfRange {
            width: quote(element),
        }),
    }
}

/// Reads `<N>[.p/<W>]` from the elements after the level, consuming the
/// width element too if present.
fn parse_index<'a>(
    elements: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>,
) -> Result<(u64, u16), TileError> {
    let mut index: u64 = 0;
    let mut previous: Option<&str> = None;
    loop {
        let Some(element) = elements.next() else {
            return Err(match previous {
                None => TileError::MissingIndex,
                Some(last) => TileError::LastElementHasX {
                    element: quote(last),
                },
            });
        };
        let (digits, last, partial) = match element.strip_prefix('x') {
            Some(digits) => (digits, false, false),
            None => match element.strip_suffix(".p") {
                Some(digits) => (digits, true, true),
                None => (element, true, false),
            },
        };
        let group = three_digits(digits).ok_or_else(|| TileError::IndexElement {
            element: quote(element),
        })?;
        if previous.is_none() && !last && group == 0 {
            return Err(TileError::IndexLeadingZeros);
        }
        index = index
            .checked_mul(1000)
            .and_then(|n| n.checked_add(group))
            .ok_or(TileError::IndexOverflow)?;
        if !last {
            previous = Some(element);
            continue;
        }
        if partial {
            let width = elements.next().ok_or(TileError::MissingWidth)?;
            return Ok((index, parse_width(width)?));
        }
        if let Some(next) = elements.peek() {
            return Err(TileError::MissingX {
                element: quote(element),
                next: quote(next),
            });
        }
        return Ok((index, TILE_WIDTH));
    }
}

/// Parses a canonical tile path without a leading slash:
/// `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
///
/// Strict: rejects a leading or trailing slash, empty, `.` or `..`
/// elements, leading zeros, a leading `x000` group, a missing or extra
/// `x`, levels above 63, widths outside 1..=255 (a full tile has no
/// `.p/256`), indexes above `u64::MAX` and paths over
/// [`MAX_TILE_PATH_LEN`] bytes.
pub fn parse_tile_path(path: &str) -> Result<TilePath, TileError> {
    if path.len() > MAX_TILE_PATH_LEN {
        return Err(TileError::PathTooLong { len: path.len() });
    }
    if !path.starts_with("tile/") {
        return Err(TileError::NotTilePath);
    }
    for (position, element) in path.split('/').enumerate() {
        if element.is_empty() {
            return Err(TileError::EmptyElement { position });
        }
        if element == "." || element == ".." {
            return Err(TileError::DotElement {
                element: element.to_owned(),
            });
        }
    }
    let mut elements = path.split('/').skip(1).peekable();
    let kind = elements.next().ok_or(TileError::MissingIndex)?;
    let level = if kind == "entries" {
        None
    } else {
        Some(parse_level(kind)?)
    };
    let (index, width) = parse_index(&mut elements)?;
    if let Some(extra) = elements.next() {
        return Err(TileError::TrailingElement {
            element: quote(extra),
        });
    }
    Ok(match level {
        Some(level) => TilePath::Hashes(Tile {
            level,
            index,
            width,
        }),
        None => TilePath::Entries(EntryTile { index, width }),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn t(level: u8, index: u64, width: u16) -> Tile {
        Tile::new(level, index, width).unwrap()
    }

    fn e(index: u64, width: u16) -> EntryTile {
        EntryTile::new(index, width).unwrap()
    }

    #[test]
    fn known_paths_from_the_spec() {
        let cases = [
            (t(0, 1234067, 256), "tile/0/x001/x234/067"),
            (t(0, 1234067, 8), "tile/0/x001/x234/067.p/8"),
            (t(0, 0, 256), "tile/0/000"),
            (t(0, 0, 1), "tile/0/000.p/1"),
            (t(1, 999, 255), "tile/1/999.p/255"),
            (t(2, 1000, 256), "tile/2/x001/000"),
            (t(63, 1_000_000, 256), "tile/63/x001/x000/000"),
            (
                t(5, u64::MAX, 256),
                "tile/5/x018/x446/x744/x073/x709/x551/615",
            ),
        ];
        for (tile, path) in cases {
            assert_eq!(tile.to_path(), path);
            assert_eq!(Tile::parse(path), Ok(tile), "{path}");
            assert_eq!(parse_tile_path(path), Ok(TilePath::Hashes(tile)));
        }
        let cases = [
            (e(1234067, 256), "tile/entries/x001/x234/067"),
            (e(1234067, 8), "tile/entries/x001/x234/067.p/8"),
            (e(0, 256), "tile/entries/000"),
            (
                e(u64::MAX, 255),
                "tile/entries/x018/x446/x744/x073/x709/x551/615.p/255",
            ),
        ];
        for (tile, path) in cases {
            assert_eq!(tile.to_path(), path);
            assert_eq!(path.parse::<EntryTile>(), Ok(tile), "{path}");
            assert_eq!(TilePath::Entries(tile).to_string(), path);
        }
        assert_eq!(Tile::parse("tile/entries/000"), Err(TileError::NotHashTile));
        assert_eq!(EntryTile::parse("tile/0/000"), Err(TileError::NotEntryTile));
    }

    #[test]
    fn malformed_paths_are_rejected_with_the_right_error() {
        use TileError::*;
        let s = String::from;
        let long = format!("tile/0/{}", "x001/".repeat(12) + "000");
        let cases: Vec<(&str, TileError)> = vec![
            ("", NotTilePath),
            ("tile", NotTilePath),
            ("/tile/0/000", NotTilePath),
            ("tiles/0/000", NotTilePath),
            ("TILE/0/000", NotTilePath),
            ("tile/", EmptyElement { position: 1 }),
            ("tile//000", EmptyElement { position: 1 }),
            ("tile/0/000/", EmptyElement { position: 3 }),
            ("tile/0/x001//234", EmptyElement { position: 3 }),
            ("tile/0/000.p/", EmptyElement { position: 3 }),
            ("tile/../000", DotElement { element: s("..") }),
            ("tile/0/../000", DotElement { element: s("..") }),
            ("tile/0/./000", DotElement { element: s(".") }),
            ("tile/0", MissingIndex),
            ("tile/entries", MissingIndex),
            ("tile/00/000", LevelSyntax { element: s("00") }),
            ("tile/01/000", LevelSyntax { element: s("01") }),
            ("tile/+1/000", LevelSyntax { element: s("+1") }),
            ("tile/-1/000", LevelSyntax { element: s("-1") }),
            ("tile/a/000", LevelSyntax { element: s("a") }),
            (
                "tile/Entries/000",
                LevelSyntax {
                    element: s("Entries"),
                },
            ),
            (
                "tile/\u{1b}/000",
                LevelSyntax {
                    element: s("\\u{1b}"),
                },
            ),
            ("tile/64/000", LevelOutOfRange { level: s("64") }),
            ("tile/255/000", LevelOutOfRange { level: s("255") }),
            (
                "tile/99999999999999999999999/000",
                LevelOutOfRange {
                    level: s("99999999999999999999999"),
                },
            ),
            ("tile/0/x01/000", IndexElement { element: s("x01") }),
            ("tile/0/0", IndexElement { element: s("0") }),
            ("tile/0/1234", IndexElement { element: s("1234") }),
            ("tile/0/00a", IndexElement { element: s("00a") }),
            ("tile/0/X001/000", IndexElement { element: s("X001") }),
            (
                "tile/0/x001/x234/067.p.p/8",
                IndexElement {
                    element: s("067.p.p"),
                },
            ),
            (
                "tile/0/x067.p/8",
                IndexElement {
                    element: s("x067.p"),
                },
            ),
            (
                "tile/0/067.P/8",
                IndexElement {
                    element: s("067.P"),
                },
            ),
            (
                "tile/0/٠٠٠",
                IndexElement {
                    element: s("\\u{660}\\u{660}\\u{660}"),
                },
            ),
            (
                "tile/0/001/234/067",
                MissingX {
                    element: s("001"),
                    next: s("234"),
                },
            ),
            (
                "tile/0/000/extra",
                MissingX {
                    element: s("000"),
                    next: s("extra"),
                },
            ),
            ("tile/0/x001", LastElementHasX { element: s("x001") }),
            ("tile/0/x001/x234", LastElementHasX { element: s("x234") }),
            ("tile/0/x000/001", IndexLeadingZeros),
            ("tile/entries/x000/x001/001", IndexLeadingZeros),
            ("tile/0/x018/x446/x744/x073/x709/x551/616", IndexOverflow),
            (
                "tile/0/x001/x000/x000/x000/x000/x000/x000/000",
                IndexOverflow,
            ),
            ("tile/0/000.p", MissingWidth),
            ("tile/0/000.p/0", WidthOutOfRange { width: s("0") }),
            ("tile/0/000.p/256", WidthOutOfRange { width: s("256") }),
            ("tile/0/000.p/1000", WidthOutOfRange { width: s("1000") }),
            ("tile/0/000.p/08", WidthSyntax { element: s("08") }),
            ("tile/0/000.p/+8", WidthSyntax { element: s("+8") }),
            ("tile/0/000.p/8 ", WidthSyntax { element: s("8 ") }),
            ("tile/0/000.p/8/x", TrailingElement { element: s("x") }),
            ("tile/0/000.p/8/..", DotElement { element: s("..") }),
            (long.as_str(), PathTooLong { len: long.len() }),
        ];
        for (path, want) in cases {
            assert_eq!(parse_tile_path(path), Err(want), "{path:?}");
        }
    }

    #[test]
    fn error_messages_name_the_problem() {
        let err = parse_tile_path("tile/0/x01/000").unwrap_err();
        assert_eq!(
            err.to_string(),
            "tile path element `x01` is not three digits"
        );
        let err = parse_tile_path("tile/0/000.p/256").unwrap_err();
        assert_eq!(err.to_string(), "partial width 256 out of range 1..=255");
    }

    fn any_tile() -> impl Strategy<Value = Tile> {
        (0..=MAX_TILE_LEVEL, any::<u64>(), 1..=TILE_WIDTH)
            .prop_map(|(level, index, width)| Tile::new(level, index, width).unwrap())
    }

    fn small_index() -> impl Strategy<Value = u64> {
        prop_oneof![0..2000u64, any::<u64>()]
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn hash_tile_paths_round_trip(tile in any_tile()) {
            let path = tile.to_path();
            prop_assert!(path.len() <= MAX_TILE_PATH_LEN);
            prop_assert_eq!(Tile::parse(&path), Ok(tile));
        }

        #[test]
        fn entry_tile_paths_round_trip(index in small_index(), width in 1..=TILE_WIDTH) {
            let tile = EntryTile::new(index, width).unwrap();
            let path = tile.to_path();
            prop_assert!(path.len() <= MAX_TILE_PATH_LEN);
            prop_assert_eq!(EntryTile::parse(&path), Ok(tile));
        }

        #[test]
        fn parsing_arbitrary_strings_never_panics(text in any::<String>()) {
            if let Ok(parsed) = parse_tile_path(&text) {
                prop_assert_eq!(parsed.to_string(), text);
            }
        }

        #[test]
        fn mutated_paths_are_rejected_or_canonical(
            tile in any_tile(),
            entries in any::<bool>(),
            at in any::<prop::sample::Index>(),
            with in prop::sample::select(&['0', '1', '9', 'x', 'p', '.', '/', ' '][..]),
            insert in any::<bool>(),
        ) {
            let mut path = if entries {
                EntryTile::new(tile.index(), tile.width()).unwrap().to_path()
            } else {
                tile.to_path()
            };
            let pos = at.index(path.len() + 1);
            if insert || pos == path.len() {
                path.insert(pos, with);
            } else {
                path.replace_range(pos..=pos, &with.to_string());
            }
            if let Ok(parsed) = parse_tile_path(&path) {
                prop_assert_eq!(parsed.to_string(), path);
            }
        }

        #[test]
        fn accepted_path_like_strings_are_canonical(
            text in "tile/(entries|[0-9x]{1,3})(/[0-9xp.]{1,5}){1,5}"
        ) {
            if let Ok(parsed) = parse_tile_path(&text) {
                prop_assert_eq!(parsed.to_string(), text);
            }
        }
    }
}
