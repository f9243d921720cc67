#!/usr/bin/env bash
# Ed25519 verification side by side (bench/ed25519, `gatelog-ed25519-bench`):
# ed25519-dalek verify_strict (gatelog's verifier), verify and batch
# verification of 64, ring and aws-lc-rs (alone and with the small-order
# refusals that make them decide as verify_strict), and sign, all on the same
# 256 (key, 600-byte message, signature) triples. One build per
# curve25519-dalek backend, each in its own target folder
# ($CARGO_TARGET_DIR/ed25519-<backend>):
#   default  no flags: curve25519-dalek picks `simd` on x86_64 and, at run
#            time, AVX2 (AVX-512 IFMA only on a nightly rustc)
#   serial   RUSTFLAGS='--cfg curve25519_dalek_backend="serial"'
#   simd     RUSTFLAGS='--cfg curve25519_dalek_backend="simd"'
#   avx512   the default flags on the nightly toolchain (`cargo +nightly`),
#            where curve25519-dalek compiles its AVX-512 IFMA code and uses
#            it when the CPU has AVX-512 IFMA + VL; skipped, and said so,
#            without a nightly toolchain
# Each backend's bench runs BENCH_ED25519_RUNS times; the table gives, per
# operation, the min–median–max over the runs of criterion's median time per
# signature, and its ratio to the default build's verify_strict.
#
#   scripts/bench-ed25519.sh
# Writes under $BENCH_OUT (default: a new temporary folder):
#   ed25519.md      the table (bench-report.py: section "Ed25519 floor")
#   ed25519.jsonl   one line per backend, operation and run (ns/signature)
#   ed25519.json    machine, load, rustc and the backend each build ran
#   ed25519/*.log   criterion's output per backend and run
# Settings (environment):
#   BENCH_ED25519_BACKENDS="default serial simd avx512"
#   BENCH_ED25519_RUNS=3
#   CRITERION_ARGS="..."   extra criterion flags
set -euo pipefail
cd "$(dirname "$0")/.."
base="${CARGO_TARGET_DIR:-target}"
out="${BENCH_OUT:-$(mktemp -d)}"
mkdir -p "$out/ed25519"
out=$(cd "$out" && pwd)
backends="${BENCH_ED25519_BACKENDS:-default serial simd avx512}"
runs="${BENCH_ED25519_RUNS:-3}"
rm -rf "$out/ed25519/criterion" "$out/ed25519.jsonl"
load() { cut -d' ' -f1-3 /proc/loadavg; }
load_before=$(load)
started=$(date +%s)
: >"$out/ed25519/backends.tsv"

flags_of() { # backend -> RUSTFLAGS
  case "$1" in
    serial) echo '--cfg curve25519_dalek_backend="serial"' ;;
    simd) echo '--cfg curve25519_dalek_backend="simd"' ;;
    *) echo "" ;;
  esac
}
cargo_for() { # backend cargo-args...: cargo with that backend's toolchain, flags and folder
  local backend=$1
  shift
  local toolchain=()
  [ "$backend" = avx512 ] && toolchain=(+nightly)
  RUSTFLAGS="$(flags_of "$backend")" CARGO_TARGET_DIR="$base/ed25519-$backend" \
    cargo "${toolchain[@]}" "$@"
}
# Every build first, then the runs round-robin over the backends, so that
# a change of load on the shared machine falls on all of them alike.
built=()
for backend in $backends; do
  case "$backend" in
    default | serial | simd) ;;
    avx512)
      if ! cargo +nightly -V >/dev/null 2>&1; then
        echo "== $backend: unavailable (no nightly toolchain: rustup toolchain install nightly)"
        printf '%s\tunavailable: no nightly toolchain\t\n' "$backend" >>"$out/ed25519/backends.tsv"
        continue
      fi ;;
    *) echo "error: unknown backend '$backend' (default, serial, simd, avx512)" >&2; exit 2 ;;
  esac
  flags=$(flags_of "$backend")
  target="$base/ed25519-$backend"
  echo "== $backend: building in $target${flags:+ with RUSTFLAGS=$flags}"
  if ! cargo_for "$backend" bench -q -p gatelog-ed25519-bench --bench verify --no-run >"$out/ed25519/$backend.build.log" 2>&1; then
    tail -20 "$out/ed25519/$backend.build.log" >&2
    echo "== $backend: unavailable (build failed; see $out/ed25519/$backend.build.log)"
    printf '%s\tunavailable: build failed\t\n' "$backend" >>"$out/ed25519/backends.tsv"
    continue
  fi
  built+=("$backend")
done
for run in $(seq "$runs"); do
  for backend in "${built[@]}"; do
    log="$out/ed25519/$backend.$run.log"
    # shellcheck disable=SC2086 # CRITERION_ARGS is a list of flags
    CRITERION_HOME="$out/ed25519/criterion/$backend/$run" \
      cargo_for "$backend" bench -q -p gatelog-ed25519-bench --bench verify -- ${CRITERION_ARGS:-} \
      >"$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
    echo "   run $run/$runs, $backend: $(sed -n 's/^curve25519-dalek backend: //p' "$log") (load $(load))"
  done
done
for backend in "${built[@]}"; do
  log="$out/ed25519/$backend.1.log"
  printf '%s\t%s\t%s\n' "$backend" "$(sed -n 's/^curve25519-dalek backend: //p' "$log")" \
    "$(sed -n 's/^rustc: //p' "$log")" >>"$out/ed25519/backends.tsv"
done

python3 scripts/bench-ed25519-table.py "$out" "$load_before" "$(load)" "$runs"
cat "$out/ed25519.md"
echo "ed25519: $(($(date +%s) - started)) s; table in $out/ed25519.md"
