//! The body of `POST /v1/bundles`, as the log reads it (any client sends
//! these bytes): never panics, keeps at most the limit, and what it keeps
//! serializes back to releases that parse the same.
#![no_main]
use gatelog_core::wire::{MAX_BUNDLE_RELEASES, parse_bundles_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = parse_bundles_request(data) {
        assert!(request.releases.len() <= MAX_BUNDLE_RELEASES);
        assert!(request.releases.len() <= request.count);
        if request.count <= MAX_BUNDLE_RELEASES {
            let again = serde_json::json!({ "releases": request.releases }).to_string();
            let reparsed = parse_bundles_request(again.as_bytes()).expect("reparses");
            assert_eq!(reparsed.releases, request.releases);
        }
    }
});
