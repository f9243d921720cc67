//! Tile path parsing: never panics; accepted paths format back to themselves.
#![no_main]
use gatelog_core::tile::parse_tile_path;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(path) = parse_tile_path(text) {
        assert_eq!(path.to_string(), text);
    }
});
