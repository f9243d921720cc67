#!/usr/bin/env bash
# Type-checks every fuzz target with the stable toolchain, so a change to a
# parser's API cannot silently break the fuzzers. Running them is `make fuzz`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --manifest-path fuzz/Cargo.toml --check
cargo check --manifest-path fuzz/Cargo.toml --bins --quiet
cargo clippy --manifest-path fuzz/Cargo.toml --bins --quiet -- -D warnings
echo "fuzz targets: $(ls fuzz/fuzz_targets | wc -l) compile"
