//! Entry bundles (c2sp.org/tlog-tiles "log entries"): up to 256 entries,
//! each prefixed by its length as a big-endian uint16.

use super::{EntryTile, TILE_WIDTH, TileError};

/// Longest entry a uint16 length prefix can express.
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// Upper bound on a bundle's size: 256 entries of [`MAX_ENTRY_SIZE`]
/// bytes plus their 2-byte prefixes. A client can refuse a longer body
/// before reading it all.
pub const MAX_ENTRY_BUNDLE_SIZE: usize = TILE_WIDTH as usize * (2 + MAX_ENTRY_SIZE);

/// Splits off up to `limit` entries; returns them and the unread rest.
fn split_entries(data: &[u8], limit: usize) -> Result<(Vec<&[u8]>, &[u8]), TileError> {
    let mut entries = Vec::new();
    let mut rest = data;
    while !rest.is_empty() && entries.len() < limit {
        let entry = entries.len();
        let Some((len, tail)) = rest.split_first_chunk::<2>() else {
            return Err(TileError::BundleTruncatedLength {
                entry,
                remaining: rest.len(),
            });
        };
        let declared = usize::from(u16::from_be_bytes(*len));
        if tail.len() < declared {
            return Err(TileError::BundleTruncated {
                entry,
                declared,
                remaining: tail.len(),
            });
        }
        let (body, tail) = tail.split_at(declared);
        entries.push(body);
        rest = tail;
    }
    Ok((entries, rest))
}

/// Splits a bundle into its entries, borrowing from `data`.
///
/// Rejects an empty bundle (never served), truncation anywhere and more
/// than 256 entries. Prefer [`parse_entry_bundle_for_tile`] when the tile
/// is known: it also checks the entry count.
pub fn parse_entry_bundle(data: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    if data.is_empty() {
        return Err(TileError::BundleEmpty);
    }
    let (entries, rest) = split_entries(data, usize::from(TILE_WIDTH))?;
    if !rest.is_empty() {
        return Err(TileError::BundleTooManyEntries);
    }
    Ok(entries)
}

/// Splits the bundle of `tile` into exactly `tile.width()` entries,
/// rejecting fewer entries, truncation and trailing bytes.
pub fn parse_entry_bundle_for_tile(tile: EntryTile, data: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    let expected = usize::from(tile.width());
    let (entries, rest) = split_entries(data, expected)?;
    if entries.len() < expected {
        return Err(TileError::BundleCount {
            expected,
            actual: entries.len(),
        });
    }
    if !rest.is_empty() {
        return Err(TileError::BundleTrailingBytes {
            entries: expected,
            extra: rest.len(),
        });
    }
    Ok(entries)
}

/// Builds a bundle from 1..=256 entries of at most [`MAX_ENTRY_SIZE`]
/// bytes each.
pub fn encode_entry_bundle<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::new();
    let mut count = 0;
    for (entry, body) in entries.into_iter().enumerate() {
        if entry >= usize::from(TILE_WIDTH) {
            return Err(TileError::BundleTooManyEntries);
        }
        let len = u16::try_from(body.len()).map_err(|_| TileError::EntryTooLarge {
            entry,
            len: body.len(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(body);
        count += 1;
    }
    if count == 0 {
        return Err(TileError::BundleEmpty);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_including_empty_entries() {
        let entries: Vec<&[u8]> = vec![b"one", b"", b"three", b""];
        let bundle = encode_entry_bundle(entries.iter().copied()).unwrap();
        assert_eq!(bundle, b"\x00\x03one\x00\x00\x00\x05three\x00\x00");
        assert_eq!(parse_entry_bundle(&bundle), Ok(entries.clone()));
        let tile = EntryTile::new(7, 4).unwrap();
        assert_eq!(parse_entry_bundle_for_tile(tile, &bundle), Ok(entries));
    }

    #[test]
    fn full_bundle_round_trips_and_a_257th_entry_is_rejected() {
        let bodies: Vec<Vec<u8>> = (0..256u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let bundle = encode_entry_bundle(bodies.iter().map(Vec::as_slice)).unwrap();
        let parsed = parse_entry_bundle_for_tile(EntryTile::full(0), &bundle).unwrap();
        assert_eq!(parsed.len(), 256);
        assert_eq!(parsed[255], 255u32.to_be_bytes());
        let mut more = bundle.clone();
        more.extend_from_slice(b"\x00\x00");
        assert_eq!(
            parse_entry_bundle(&more),
            Err(TileError::BundleTooManyEntries)
        );
        let extra = [b"x".as_slice()].into_iter().cycle().take(257);
        assert_eq!(
            encode_entry_bundle(extra),
            Err(TileError::BundleTooManyEntries)
        );
    }

    #[test]
    fn truncation_is_rejected() {
        assert_eq!(
            parse_entry_bundle(b"\x00\x01a\x00"),
            Err(TileError::BundleTruncatedLength {
                entry: 1,
                remaining: 1
            })
        );
        let mut data = b"\x00\x00\x00\x01a\x00\x02bc".to_vec();
        data.extend_from_slice(&500u16.to_be_bytes());
        data.extend_from_slice(&[0; 12]);
        let err = parse_entry_bundle(&data).unwrap_err();
        assert_eq!(
            err,
            TileError::BundleTruncated {
                entry: 3,
                declared: 500,
                remaining: 12
            }
        );
        assert_eq!(
            err.to_string(),
            "entry bundle truncated: entry 3 declares 500 bytes, 12 remain"
        );
        assert_eq!(parse_entry_bundle(b""), Err(TileError::BundleEmpty));
    }

    #[test]
    fn tile_width_fixes_the_entry_count() {
        let bundle = encode_entry_bundle([b"a".as_slice(), b"b", b"c"]).unwrap();
        let two = EntryTile::new(0, 2).unwrap();
        assert_eq!(
            parse_entry_bundle_for_tile(two, &bundle),
            Err(TileError::BundleTrailingBytes {
                entries: 2,
                extra: 3
            })
        );
        let four = EntryTile::new(0, 4).unwrap();
        assert_eq!(
            parse_entry_bundle_for_tile(four, &bundle),
            Err(TileError::BundleCount {
                expected: 4,
                actual: 3
            })
        );
        let mut cut = bundle.clone();
        cut.pop();
        let three = EntryTile::new(0, 3).unwrap();
        assert_eq!(
            parse_entry_bundle_for_tile(three, &cut),
            Err(TileError::BundleTruncated {
                entry: 2,
                declared: 1,
                remaining: 0
            })
        );
        cut.push(b'c');
        cut.push(0);
        assert_eq!(
            parse_entry_bundle_for_tile(three, &cut),
            Err(TileError::BundleTrailingBytes {
                entries: 3,
                extra: 1
            })
        );
        assert_eq!(
            parse_entry_bundle(&cut),
            Err(TileError::BundleTruncatedLength {
                entry: 3,
                remaining: 1
            })
        );
    }

    #[test]
    fn entry_size_limit() {
        let max = vec![0xabu8; MAX_ENTRY_SIZE];
        let bundle = encode_entry_bundle([max.as_slice()]).unwrap();
        assert_eq!(bundle.len(), 2 + MAX_ENTRY_SIZE);
        assert_eq!(&bundle[..2], b"\xff\xff");
        assert_eq!(parse_entry_bundle(&bundle), Ok(vec![max.as_slice()]));
        let over = vec![0u8; MAX_ENTRY_SIZE + 1];
        let err = encode_entry_bundle([b"ok".as_slice(), over.as_slice()]).unwrap_err();
        assert_eq!(
            err,
            TileError::EntryTooLarge {
                entry: 1,
                len: 65536
            }
        );
        assert_eq!(
            err.to_string(),
            "entry 1 is 65536 bytes; an entry bundle allows at most 65535"
        );
        assert_eq!(encode_entry_bundle([]), Err(TileError::BundleEmpty));
        assert_eq!(MAX_ENTRY_BUNDLE_SIZE, 16_777_472);
    }
}
