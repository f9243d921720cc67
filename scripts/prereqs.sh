#!/usr/bin/env bash
# Installs what gatelog needs and a fresh Debian machine lacks, or names the
# command that installs it and stops. `docs/operations.md` ("Building from
# nothing") lists every tool and which target needs it.
#
#   scripts/prereqs.sh          build (make demo, make serve): cc, c++, make,
#                               libclang (the rocksdb crate compiles
#                               RocksDB's C++ and generates its bindings
#                               with bindgen)
#   scripts/prereqs.sh test     the above, plus Debian's chromium (the
#                               explorer's browser tests drive it headless)
#   scripts/prereqs.sh bench    the build ones, plus python3 and its venv module
#                               (the report scripts and the pymerkle peer)
#
# Uses apt-get when run as root; otherwise prints the apt-get line and exits 2.
set -euo pipefail
cd "$(dirname "$0")/.."
purpose="${1:-build}"

command -v cargo >/dev/null 2>&1 || {
  echo "error: cargo not found. Install the Rust toolchain (https://rustup.rs) first." >&2
  exit 2
}

missing=()
# cc also builds aws-lc-sys (bench/ed25519's peer, compiled by clippy
# --all-targets): on x86_64 and aarch64 Linux it ships its bindings and builds
# with the cc crate, so it needs neither cmake, clang, Go nor NASM.
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
# bindgen loads libclang at run time; scripts/find-libclang.sh looks for it
# the way bindgen does (libclang-cpp does not count).
scripts/find-libclang.sh >/dev/null || missing+=(libclang-dev clang)
# tests/explorer.rs runs the explorer's pages in /usr/bin/chromium.
if [ "$purpose" = test ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
fi
if [ "$purpose" = bench ]; then
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  python3 -c "import ensurepip, venv" >/dev/null 2>&1 || missing+=(python3-venv)
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing prerequisites: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    echo "==> prerequisites installed"
    GATELOG_PREREQS_VERBOSE=1
  else
    echo "error: gatelog needs these packages: ${missing[*]}" >&2
    echo "       install them with: sudo apt-get install ${missing[*]}" >&2
    exit 2
  fi
fi

if ! libclang=$(scripts/find-libclang.sh); then
  echo "error: libclang is still not found after installing libclang-dev;" >&2
  echo "       set LIBCLANG_PATH to the folder that holds libclang.so" >&2
  exit 2
fi
[ -z "${GATELOG_PREREQS_VERBOSE:-}" ] || echo "==> libclang: $libclang"
