#!/usr/bin/env bash
# Prints the path of a libclang that bindgen can load, or exits 1.
#
# The one place that decides whether libclang is present (scripts/prereqs.sh
# and .ci/run call it; tests/prereqs.rs tests it). It looks the way
# bindgen's loader (clang-sys) does: LIBCLANG_PATH first, then the library
# folders, for `libclang.so`, `libclang-<ver>.so`, `libclang.so.<ver>` or
# `libclang-<ver>.so.<ver>`. `libclang-cpp*` is the C++ interface library, not
# libclang, and does not count: Debian images ship it without libclang.
#
# GATELOG_LIBCLANG_DIRS (colon-separated) replaces the default folders, so a
# test can point the search at a fake folder.
set -euo pipefail

dirs=()
if [ -n "${GATELOG_LIBCLANG_DIRS:-}" ]; then
  IFS=: read -r -a dirs <<<"$GATELOG_LIBCLANG_DIRS"
else
  if [ -n "${LIBCLANG_PATH:-}" ]; then
    # LIBCLANG_PATH may name the folder or the library file itself.
    if [ -f "$LIBCLANG_PATH" ]; then dirs+=("$(dirname "$LIBCLANG_PATH")"); else dirs+=("$LIBCLANG_PATH"); fi
  fi
  IFS=: read -r -a ld_dirs <<<"${LD_LIBRARY_PATH:-}"
  dirs+=("${ld_dirs[@]}")
  for d in /usr/lib/llvm-*/lib /usr/local/llvm*/lib /usr/lib/x86_64-linux-gnu \
           /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib /lib/x86_64-linux-gnu; do
    dirs+=("$d")
  done
fi

for dir in "${dirs[@]}"; do
  [ -n "$dir" ] && [ -d "$dir" ] || continue
  for path in "$dir"/libclang*.so*; do
    [ -e "$path" ] || continue
    name=$(basename "$path")
    case "$name" in
      libclang-cpp*) continue ;;
      libclang.so | libclang.so.* | libclang-[0-9]*.so | libclang-[0-9]*.so.*)
        echo "$path"
        exit 0
        ;;
    esac
  done
done
exit 1
