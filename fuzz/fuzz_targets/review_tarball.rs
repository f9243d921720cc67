//! `gatelog review`'s tarball reader: never panics, and every path it
//! returns stays inside the package.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let gz = gatelog_client::review::tarball::read(data);
    for files in [gz, gatelog_client::review::tarball::read_tar(data)]
        .into_iter()
        .flatten()
    {
        for path in files.keys() {
            assert!(!path.is_empty() && !path.starts_with('/'), "{path:?}");
            assert!(
                path.split('/').all(|p| p != ".." && !p.is_empty()),
                "{path:?}"
            );
        }
    }
});
