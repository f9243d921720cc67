//! Entry bundle parsing: never panics; accepted bundles re-encode to the same bytes.
#![no_main]
use gatelog_core::tile::{encode_entry_bundle, parse_entry_bundle};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(entries) = parse_entry_bundle(data) {
        let again = encode_entry_bundle(entries.iter().copied()).expect("re-encodes");
        assert_eq!(again, data);
    }
});
