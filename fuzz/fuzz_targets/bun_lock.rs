//! bun.lock parsing: never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = gatelog_client::lockfile::parse(std::path::Path::new("bun.lock"), data);
});
