#!/usr/bin/env bash
# Runs every fuzz target for N seconds (default 60) with cargo-fuzz and
# libFuzzer. cargo-fuzz wants nightly-only rustc flags; RUSTC_BOOTSTRAP lets
# the stable toolchain accept them, so no second toolchain is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
for target in $(cargo fuzz list --fuzz-dir fuzz); do
  echo "==> fuzz $target for ${seconds}s"
  mkdir -p "fuzz/corpus/$target"
  cargo fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 2>&1 |
    grep -E "^(stat::|#[0-9]+ *DONE|==|SUMMARY|Done)" || true
  test "${PIPESTATUS[0]}" -eq 0
done
