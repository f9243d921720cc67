//! The log's answer to `POST /v1/bundles`, as `gatelog verify` reads it
//! (a hostile or broken log controls these bytes): never panics.
#![no_main]
use gatelog_client::logclient::parse_bundles;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(releases) = parse_bundles(data) {
        for r in &releases {
            for e in &r.entries {
                let _ = gatelog_core::leaf::Leaf::parse(&e.leaf);
            }
        }
    }
});
