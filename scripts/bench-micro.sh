#!/usr/bin/env bash
# Microbenchmarks of gatelog and its peers, side by side, in bounded time:
#   1. `micro` (bench/benches/micro.rs): hashing, compact-range appends,
#      inclusion and consistency proofs built from a hash store and verified
#      at 1 K, 1 M and 100 M leaves, notes and cosignatures, event
#      validation as the server and the monitor run it, lockfile parsing;
#   2. `peers` (bench/benches/peers.rs): the same proofs with ct-merkle and
#      rs_merkle, and SHA-256 / Ed25519 as the floor of this machine;
#   3. Ed25519 verifiers side by side (scripts/bench-ed25519.sh): dalek
#      verify_strict, verify and batch, ring and aws-lc-rs on the same
#      inputs, once per curve25519-dalek backend (ed25519.md);
#   4. durable append + inclusion proofs: gatelog's RocksDB store
#      (gatelog-durable-bench) and pymerkle's SQLite tree
#      (scripts/bench-pymerkle.py, in a virtual environment made here), with
#      the same entries, commits and proofs, in alternating order for
#      3 rounds; their roots must be equal.
# The 100 M-leaf tree is built for real (about 6 GiB of hashes) once in each
# of 1 and 2; its setup time is reported.
#
# Writes under $BENCH_OUT (default: a new temporary folder):
#   micro.md, peers.md         markdown tables (for docs/benchmarks.md)
#   micro.jsonl, peers.jsonl   one JSON line per benchmark (median, 95 % CI, ns)
#   durable.jsonl              the durable append + proof reports
#   setup.jsonl, run.json      setup times; machine, load, settings
#   micro.log, peers.log       criterion's own output
#   ed25519.md, ed25519.jsonl  the Ed25519 table (scripts/bench-ed25519.sh)
#
#   scripts/bench-micro.sh
# Settings (environment):
#   GATELOG_BENCH_SIZES=1K,1M,100M   tree sizes (default all three)
#   BENCH_PYMERKLE=0                 skip the durable comparison
#   BENCH_ED25519=0                  skip the Ed25519 verifiers; its own
#                                    settings (BENCH_ED25519_BACKENDS,
#                                    BENCH_ED25519_RUNS) pass through, and a
#                                    quick run (BENCH_QUICK=1) measures only
#                                    the default backend, once
#   BENCH_DURABLE_ENTRIES=100000     entries in the batched durable run
#   BENCH_DURABLE_SINGLE=300         entries in the one-per-commit run
#   BENCH_DURABLE_PROOFS=1000        inclusion proofs at the end of each
#   BENCH_DURABLE_ROUNDS=3           rounds of each (medians reported)
#   BENCH_VENV=<dir>                 the pymerkle virtual environment
#                                    (default: $CARGO_TARGET_DIR/bench-venv)
#   CRITERION_ARGS="..."             extra criterion flags, e.g.
#                                    "--measurement-time 5" for precision
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
out="${BENCH_OUT:-$(mktemp -d)}"
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out/criterion" "$out/setup.jsonl" "$out/durable.jsonl"
pymerkle_version=7.0.0

cargo bench -p gatelog-bench --no-run --quiet
cargo build --release -p gatelog-bench --bin gatelog-durable-bench --quiet

export GATELOG_BENCH_SETUP_OUT="$out/setup.jsonl"
load() { cut -d' ' -f1-3 /proc/loadavg; }
load_before=$(load)
started=$(date +%s)
# shellcheck disable=SC2086 # CRITERION_ARGS is a list of flags
for bench in micro peers; do
  echo "== cargo bench -p gatelog-bench --bench $bench (sizes: ${GATELOG_BENCH_SIZES:-1K,1M,100M})"
  CRITERION_HOME="$out/criterion/$bench" \
    cargo bench -q -p gatelog-bench --bench "$bench" -- ${CRITERION_ARGS:-} >"$out/$bench.log" 2>&1 ||
    { tail -30 "$out/$bench.log" >&2; exit 1; }
  grep '^setup:' "$out/$bench.log" || true
done
echo "criterion benches: $(($(date +%s) - started)) s"

if [ "${BENCH_ED25519:-1}" != 0 ]; then
  ed_env=()
  [ "${BENCH_QUICK:-0}" = 1 ] && ed_env=("BENCH_ED25519_BACKENDS=${BENCH_ED25519_BACKENDS:-default}"
    "BENCH_ED25519_RUNS=${BENCH_ED25519_RUNS:-1}")
  echo "== scripts/bench-ed25519.sh (Ed25519 verifiers per curve25519-dalek backend)"
  env "${ed_env[@]}" BENCH_OUT="$out" scripts/bench-ed25519.sh >"$out/ed25519.log" 2>&1 ||
    { tail -30 "$out/ed25519.log" >&2; exit 1; }
  grep -E '^(==|   run)' "$out/ed25519.log" || true
fi

run_gatelog() { # mode round entries batch dir
  "$target/release/gatelog-durable-bench" --dir "$5" --entries "$3" --batch "$4" --proofs "$proofs" |
    sed "s/^{/{\"mode\":\"$1\",\"round\":$2,/" >>"$out/durable.jsonl"
}
run_pymerkle() { # mode round entries batch dir
  "$venv/bin/python" scripts/bench-pymerkle.py --dir "$5" --entries "$3" --batch "$4" --proofs "$proofs" |
    sed "s/^{/{\"mode\": \"$1\", \"round\": $2, /" >>"$out/durable.jsonl"
}
# Disk syncs on a shared machine vary from minute to minute: the two run
# in alternating order, round after round, on the same file system.
durable() { # mode entries batch
  local work round
  for round in $(seq "$rounds"); do
    work=$(mktemp -d "$out/durable.XXXXXX")
    if [ $((round % 2)) = 1 ]; then
      run_gatelog "$1" "$round" "$2" "$3" "$work/gatelog"
      run_pymerkle "$1" "$round" "$2" "$3" "$work/pymerkle"
    else
      run_pymerkle "$1" "$round" "$2" "$3" "$work/pymerkle"
      run_gatelog "$1" "$round" "$2" "$3" "$work/gatelog"
    fi
    rm -rf "$work"
  done
}

if [ "${BENCH_PYMERKLE:-1}" != 0 ]; then
  venv="${BENCH_VENV:-$target/bench-venv}"
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import pymerkle" 2>/dev/null; then
    echo "== pymerkle $pymerkle_version into $venv"
    python3 -m venv "$venv" ||
      { echo "error: python3 -m venv failed; install python3-venv (apt-get install python3-venv) or set BENCH_PYMERKLE=0" >&2; exit 2; }
    "$venv/bin/pip" install --quiet "pymerkle==$pymerkle_version"
  fi
  proofs="${BENCH_DURABLE_PROOFS:-1000}"
  rounds="${BENCH_DURABLE_ROUNDS:-3}"
  echo "== durable append + proofs: gatelog (RocksDB) and pymerkle (SQLite)"
  durable "one entry per commit" "${BENCH_DURABLE_SINGLE:-300}" 1
  durable "batched" "${BENCH_DURABLE_ENTRIES:-100000}" 1000
  python3 - "$out/durable.jsonl" <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
for mode in sorted({r["mode"] for r in runs}):
    mine = [r for r in runs if r["mode"] == mode]
    roots = {r["root"] for r in mine}
    if len(roots) != 1:
        sys.exit(f"error: roots differ in run {mode!r}: {roots}")
    print(f"{mode}: " + ", ".join(
        f"{r['impl']} {r['appends_per_second']:.0f}" for r in mine) + " appends/s (same root)")
PY
fi

python3 - "$out/run.json" "$load_before" "$(load)" <<'PY'
import json, os, subprocess, sys, time
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
json.dump({
    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    "cpus": os.cpu_count(), "cpu": cpu, "mem_gib": round(mem / 2**20),
    "load_before": sys.argv[2], "load_after": sys.argv[3],
    "command": "scripts/bench-micro.sh",
    "criterion": "warm-up 0.3 s, measurement 1 s per benchmark"
                 + (f", {os.environ['CRITERION_ARGS']}" if os.environ.get("CRITERION_ARGS") else ""),
    "sizes": os.environ.get("GATELOG_BENCH_SIZES", "1K,1M,100M"),
}, open(sys.argv[1], "w"), indent=1)
PY
python3 bench/summarize.py "$out"
echo "== summaries in $out: micro.md, peers.md, micro.jsonl, peers.jsonl, durable.jsonl, setup.jsonl"
echo "total: $(($(date +%s) - started)) s"
