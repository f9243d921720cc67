#!/usr/bin/env bash
# Benchmarks a release gatelog-server on an embedded RocksDB in a temporary
# folder, driven from this machine over loopback by `gatelog-lab hammer`:
#   1. durable ingest through the batch endpoint (release chains, every
#      acknowledgement verified, 2 verifying readers);
#   2. reads only on that log: the log's inclusion proofs of random entries
#      (16 proof readers), then proofs built from tiles (4 tile readers);
#   3. `gatelog verify` of lockfiles of 100, 2,000 and 10,000 packages
#      against the log from run 1 (5 runs each, median reported);
#   4. the monitor's catch-up and alert delay on that log;
#   5. durable ingest with one event per request;
#   6. latency at a fixed offered rate (open loop, BENCH_RATE events/s,
#      default 2000, in requests of 100 for 20 s, 200 ms batches), without
#      readers and then with 2 verifying readers.
# Prints each report as JSON and a summary; scripts/bench.sh reads the
# files it leaves in BENCH_OUT (*.json, verify-N.times, monitor-catchup.json,
# alert-delays.txt).
#
#   scripts/bench-ingest.sh [RELEASES]        (default 30000 release chains)
#   BENCH_LOCKFILES="100 2000"                lockfile sizes (default 100 2000 10000;
#                                             each at most RELEASES)
set -euo pipefail
cd "$(dirname "$0")/.."
releases="${1:-30000}"
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -p gatelog-server -p gatelog-client -p gatelog-lab -p gatelog-monitor --bins --quiet
bin="$target/release"
out="${BENCH_OUT:-$(mktemp -d)}"
mkdir -p "$out"
registry_key=$("$bin/gatelog-lab" hammer --print-registry-key)
packages=10000

start_server() { # name interval-ms -> sets pid, port, vkey, data
  data=$(mktemp -d)
  port=$((20000 + RANDOM % 20000))
  "$bin/gatelog-server" --data "$data" --listen "127.0.0.1:$port" \
    --submitter-key "$registry_key" --batch-interval-ms "$2" \
    --pool-size 65536 --log-format json >"$out/$1.server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    grep -q "verifier key" "$out/$1.server.log" 2>/dev/null && break
    sleep 0.1
  done
  vkey=$(grep -o 'verifier key: .*' "$out/$1.server.log" | cut -d' ' -f3)
}

stop_server() { kill -TERM "$pid"; wait "$pid" || true; rm -rf "$data"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"

start_server batch 200
"$bin/gatelog-lab" hammer --log "http://127.0.0.1:$port" --log-key "$vkey" --server-pid "$pid" \
  --releases "$releases" --packages "$packages" --writers 32 --batch-size 1000 --readers 2 --json >"$out/batch.json"
echo "== batch endpoint (batch interval 200 ms)"; cat "$out/batch.json"

# Reads only, at the size run 1 left: proofs from the log, then from tiles.
"$bin/gatelog-lab" hammer --log "http://127.0.0.1:$port" --log-key "$vkey" --server-pid "$pid" \
  --writers 0 --duration 10 --readers 0 --proof-readers 16 --json >"$out/proofs.json"
echo "== inclusion proofs from the log (16 proof readers, no writers)"; cat "$out/proofs.json"
"$bin/gatelog-lab" hammer --log "http://127.0.0.1:$port" --log-key "$vkey" --server-pid "$pid" \
  --writers 0 --duration 10 --readers 0 --tile-readers 4 --json >"$out/tile-proofs.json"
echo "== inclusion proofs built from tiles (4 tile readers, no writers)"; cat "$out/tile-proofs.json"

# Lockfiles of releases the hammer logged: package p at version 1.0.0 is release p.
for n in ${BENCH_LOCKFILES:-100 2000 10000}; do
  python3 - "$n" >"$out/lock-$n.json" <<'PY'
import base64, hashlib, json, sys
n = int(sys.argv[1])
pkgs = {"": {"name": "bench", "version": "1.0.0"}}
for p in range(n):
    name = f"@hammer/pkg-{p}"
    sri = "sha512-" + base64.b64encode(hashlib.sha512(f"release-{p}.tgz".encode()).digest()).decode()
    pkgs[f"node_modules/{name}"] = {"version": "1.0.0", "integrity": sri,
        "resolved": f"https://hammer.registry.test/{name}/-/pkg-{p}-1.0.0.tgz"}
print(json.dumps({"name": "bench", "version": "1.0.0", "lockfileVersion": 3, "requires": True, "packages": pkgs}))
PY
  times=()
  for _ in 1 2 3 4 5; do
    TIMEFORMAT=%R
    t=$( { time "$bin/gatelog" verify --lockfile "$out/lock-$n.json" --log "http://127.0.0.1:$port" \
      --log-key "$vkey" --registry-key "$registry_key" --no-state --format json \
      >"$out/verify-$n.json" 2>"$out/verify-$n.err"; } 2>&1 )
    times+=("$t")
  done
  printf '%s\n' "${times[@]}" >"$out/verify-$n.times"
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
  echo "== gatelog verify, $n packages: median ${median}s of 5 (min $(printf '%s\n' "${times[@]}" | sort -n | head -1), max $(printf '%s\n' "${times[@]}" | sort -n | tail -1)); $(python3 -c "import json;d=json.load(open('$out/verify-$n.json'));print(d['counts'])")"
done

# Monitor catch-up over the whole batch log, all rules on but time-skew
# (the hammer's registry times are fixed in May 2026, so every entry would be
# flagged against today's log clock), then the delay from a checkpoint
# holding an attack to the monitor's alert.
mstate=$(mktemp -d)
# The attack packages have no logged policy; the monitor is told they
# require staging, as a maintainer would configure it.
printf '[rules]\nrequire_staging = ["bench-attack-*"]\ndisabled = ["time-skew"]\nrecency_clock = "registry"\n' >"$mstate/monitor.toml"
TIMEFORMAT=%R
t=$( { time "$bin/gatelog-monitor" --once --quiet --log "http://127.0.0.1:$port" --log-key "$vkey" --registry-key "$registry_key" \
  --config "$mstate/monitor.toml" --state "$mstate/catch-up" --start-at 0 2>"$out/monitor.err" || true; } 2>&1 )
entries=$(grep -o 'verified [0-9]* entries' "$out/monitor.err" | cut -d' ' -f2)
alerts=$(grep -o '[0-9]* alert(s)' "$out/monitor.err" | cut -d' ' -f1)
echo "{\"entries\": $entries, \"seconds\": $t, \"alerts\": ${alerts:-null}}" >"$out/monitor-catchup.json"
echo "== monitor catch-up: $entries entries in ${t}s = $(python3 -c "print(round($entries / $t))") entries/s ($(grep -o '[0-9]* alert(s)' "$out/monitor.err"))"
"$bin/gatelog-monitor" --log "http://127.0.0.1:$port" --log-key "$vkey" --registry-key "$registry_key" --state "$mstate/catch-up" \
  --config "$mstate/monitor.toml" --format json --poll-interval 0.5 --metrics-listen 127.0.0.1:0 \
  >"$out/monitor.alerts" 2>"$out/monitor.daemon.err" &
mpid=$!
sleep 2
delays=()
for i in 0 1 2 3 4 5; do  # attack 0 warms up (the daemon may still be starting)
  before=$(wc -l <"$out/monitor.alerts")
  "$bin/gatelog-lab" hammer --log "http://127.0.0.1:$port" --log-key "$vkey" --attack-direct-publish "bench-attack-$i" >/dev/null
  t0=$(date +%s.%N)
  while [ "$(wc -l <"$out/monitor.alerts")" -le "$before" ]; do sleep 0.01; done
  [ "$i" = 0 ] || delays+=("$(python3 -c "print(round($(date +%s.%N) - $t0, 3))")")
done
kill -INT "$mpid"; wait "$mpid" || true
printf '%s\n' "${delays[@]}" >"$out/alert-delays.txt"
echo "== monitor alert delay after the checkpoint (poll 0.5 s): ${delays[*]} s (max $(printf '%s\n' "${delays[@]}" | sort -n | tail -1))"
rm -rf "$mstate"
stop_server

start_server single 25
"$bin/gatelog-lab" hammer --log "http://127.0.0.1:$port" --log-key "$vkey" --server-pid "$pid" \
  --releases "$((releases / 3))" --packages "$packages" --writers 512 --batch-size 1 --readers 2 --json >"$out/single.json"
echo "== one event per request (batch interval 25 ms)"; cat "$out/single.json"
stop_server

# Latency at a fixed offered rate, first with the writers alone (the
# commit path: batch wait, synced write, signature, answer), then with 2
# verifying readers reading flat out beside them (a closed loop that keeps
# both cores busy, so the writers' answers queue for CPU).
rate="${BENCH_RATE:-2000}"
for readers in 0 2; do
  name=paced; [ "$readers" = 0 ] || name=paced-readers
  start_server "$name" 200
  "$bin/gatelog-lab" hammer --log "http://127.0.0.1:$port" --log-key "$vkey" --server-pid "$pid" \
    --rate "$rate" --duration 20 --packages "$packages" --writers 1024 --batch-size 100 \
    --readers "$readers" --json >"$out/$name.json"
  echo "== offered $rate events/s, requests of 100 (batch interval 200 ms), $readers readers"; cat "$out/$name.json"
  stop_server
done
echo "reports in $out"
