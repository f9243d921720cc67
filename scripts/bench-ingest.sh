#!/usr/bin/env bash
# Durable-ingest benchmark: a release gatelog-server on an embedded RocksDB in
# a temporary folder, loaded by `gatelog hammer` on the same machine
# (loopback only), once through the batch endpoint and once with one event
# per request. Prints each run's report as JSON lines and a summary.
#
#   scripts/bench-ingest.sh [RELEASES]        (default 30000 release chains)
set -euo pipefail
cd "$(dirname "$0")/.."
releases="${1:-30000}"
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -p gatelog-server -p gatelog-client --bins --quiet
bin="$target/release"
out="${BENCH_OUT:-$(mktemp -d)}"
registry_key=$("$bin/gatelog" hammer --print-registry-key)

run() { # name interval-ms hammer-args...
  local name=$1 interval=$2; shift 2
  local data; data=$(mktemp -d)
  local port=$((20000 + RANDOM % 20000))
  "$bin/gatelog-server" --data "$data" --listen "127.0.0.1:$port" \
    --submitter-key "$registry_key" --batch-interval-ms "$interval" \
    --pool-size 65536 --log-format json >"$out/$name.server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do
    grep -q "verifier key" "$out/$name.server.log" 2>/dev/null && break
    sleep 0.1
  done
  local vkey; vkey=$(grep -o 'verifier key: .*' "$out/$name.server.log" | cut -d' ' -f3)
  "$bin/gatelog" hammer --log "http://127.0.0.1:$port" --log-key "$vkey" \
    --server-pid "$pid" --releases "$releases" --json "$@" >"$out/$name.json"
  kill -TERM "$pid"; wait "$pid" || true
  rm -rf "$data"
  echo "== $name (batch interval ${interval} ms)"
  cat "$out/$name.json"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
run batch 200 --writers 8 --batch-size 256 --readers 2
run single 25 --writers 512 --batch-size 1 --readers 2
echo "reports in $out"
