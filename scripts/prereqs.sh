#!/usr/bin/env bash
# Installs what building gatelog needs and a fresh Debian machine lacks:
# a C/C++ compiler and libclang (the rocksdb crate compiles RocksDB's C++ and
# generates its bindings with bindgen). Uses apt-get when run as root;
# otherwise names the packages to install and stops.
set -euo pipefail

missing=()
command -v cargo >/dev/null 2>&1 || {
  echo "error: cargo not found. Install the Rust toolchain (https://rustup.rs) first." >&2
  exit 2
}
command -v cc >/dev/null 2>&1 || missing+=(gcc)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
# bindgen loads libclang at run time; any libclang-*.so will do.
if ! ls /usr/lib/llvm-*/lib/libclang*.so* /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1; then
  missing+=(libclang-dev clang)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing build prerequisites: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "==> prerequisites installed"
else
  echo "error: gatelog needs these packages to build: ${missing[*]}" >&2
  echo "       install them, e.g.: sudo apt-get install ${missing[*]}" >&2
  exit 2
fi
