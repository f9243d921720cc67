//! Leaf parsing: never panics; a parsed leaf keeps exactly the bytes it came from.
#![no_main]
use gatelog_core::leaf::Leaf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(leaf) = Leaf::parse(data) {
        assert_eq!(leaf.as_bytes(), data);
        assert_eq!(leaf.hash(), gatelog_core::leaf_hash(data));
    }
});
