#!/usr/bin/env bash
# Soak test: a release gatelog-server on RocksDB under a steady load for
# MINUTES, with `gatelog-lab hammer` writing at a fixed rate and verifying every
# acknowledgement (plus 2 verifying readers), and `gatelog-monitor` following
# the log as a daemon. Every second it reads the log's checkpoint and the
# monitor's /metrics; every 10 s it writes a CSV row:
#
#   seconds, tree_size, monitor_verified, lag_entries, lag_seconds,
#   server_rss_kib, monitor_rss_kib, server_errors, monitor_errors, alerts
#
# `gatelog-server check` runs once half-way (while the server runs) and once
# on the stopped data folder. At the end the run PASSes only if:
#   - the hammer saw no refusal and no verification failure;
#   - the server and the monitor logged no error, and the monitor raised no
#     alert (the hammer's load is honest);
#   - memory is bounded: each process's peak RSS in the last quarter of the
#     run is at most SOAK_RSS_GROWTH (1.2) times its peak in the second
#     quarter (by then the caches and RocksDB's memtables have filled: a
#     leak keeps raising the peaks, a full cache only saws below them), and
#     never above SOAK_RSS_MAX_MIB (512);
#   - the monitor never lagged more than SOAK_MAX_LAG (5) seconds;
#   - the monitor verified the whole log, and both checks passed.
#
#   scripts/soak.sh MINUTES            (make soak: MINUTES=30)
#
# Environment: SOAK_RATE events/s (default 500), SOAK_BATCH events per
# request (20), SOAK_OUT output folder (default a new /tmp folder),
# SOAK_BIN folder of already built binaries (default: build release),
# SOAK_SECONDS overrides MINUTES.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes="${1:?usage: scripts/soak.sh MINUTES}"
seconds="${SOAK_SECONDS:-$((minutes * 60))}"
rate="${SOAK_RATE:-500}"
batch="${SOAK_BATCH:-20}"
max_lag="${SOAK_MAX_LAG:-5}"
rss_growth="${SOAK_RSS_GROWTH:-1.2}"
rss_max_mib="${SOAK_RSS_MAX_MIB:-512}"
warmup=$((seconds / 10 > 60 ? seconds / 10 : 60))
if [ -z "${SOAK_BIN:-}" ]; then
  cargo build --release --bins --quiet -p gatelog-server -p gatelog-client -p gatelog-lab -p gatelog-monitor
  bin="${CARGO_TARGET_DIR:-target}/release"
else
  bin="$SOAK_BIN"
fi
out="${SOAK_OUT:-$(mktemp -d /tmp/gatelog-soak.XXXXXX)}"
mkdir -p "$out"
data="$out/data"
csv="$out/soak.csv"
port=$((20000 + RANDOM % 20000))
mport=$((port + 1))
origin="soak.gatelog.test/log"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

rss_kib() { awk '/^VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

echo "soak: ${seconds}s at $rate events/s in batches of $batch; binaries in $bin; results in $out"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(date -u +%Y-%m-%dT%H:%MZ)"

registry_key=$("$bin/gatelog-lab" hammer --print-registry-key)
"$bin/gatelog-server" --data "$data" --listen "127.0.0.1:$port" --origin "$origin" \
  --submitter-key "$registry_key" --batch-interval-ms 100 --log-format json \
  >"$out/server.out" 2>"$out/server.log" &
spid=$!
pids+=("$spid")
for _ in $(seq 300); do grep -q "verifier key" "$out/server.out" 2>/dev/null && break; sleep 0.1; done
vkey=$(grep -o 'verifier key: .*' "$out/server.out" | cut -d' ' -f3)
[ -n "$vkey" ] || { echo "the server did not start"; cat "$out/server.log"; exit 1; }

# The hammer signs events with fixed registry times (May 2026) so runs are
# reproducible; `time-skew` would flag each one against today's log clock.
printf '[rules]\ndisabled = ["time-skew"]\nrecency_clock = "registry"\n' >"$out/monitor.toml"
"$bin/gatelog-monitor" --config "$out/monitor.toml" --log "http://127.0.0.1:$port" --registry-key "$registry_key" \
  --log-key "$vkey" --state "$out/monitor-state" --start-at 0 --format json \
  --poll-interval 1 --metrics-listen "127.0.0.1:$mport" \
  >"$out/alerts.jsonl" 2>"$out/monitor.log" &
mpid=$!
pids+=("$mpid")
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$mport/metrics" >/dev/null && break; sleep 0.1; done

"$bin/gatelog-lab" hammer --log "http://127.0.0.1:$port" --log-key "$vkey" --rate "$rate" \
  --duration "$seconds" --batch-size "$batch" --writers 16 --readers 2 --packages 10000 \
  --server-pid "$spid" --json >"$out/hammer.json" 2>"$out/hammer.log" &
hpid=$!
pids+=("$hpid")

echo "seconds,tree_size,monitor_verified,lag_entries,lag_seconds,server_rss_kib,monitor_rss_kib,server_errors,monitor_errors,alerts" >"$csv"
: >"$out/sizes.txt"
start=$(date +%s%N)
elapsed() { awk -v t="$(date +%s%N)" -v s="$start" 'BEGIN {printf "%.1f", (t - s) / 1e9}'; }
gt() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a > b)}'; }
max_lag_s=0
max_lag_entries=0
next_row=0
checked_while_running=""
tree=0
verified=0
sample() { # reads the log and the monitor once; appends a CSV row when due
  now=$(elapsed)
  tree=$(curl -s --max-time 2 "http://127.0.0.1:$port/checkpoint" | sed -n 2p)
  tree=${tree:-0}
  verified=$(curl -s --max-time 2 "http://127.0.0.1:$mport/metrics" |
    awk '/^gatelog_monitor_tree_size_verified /{print $2}')
  verified=${verified:-0}
  echo "$now $tree" >>"$out/sizes.txt"
  lag_entries=$((tree > verified ? tree - verified : 0))
  # Lag in seconds: how long ago the log first showed the oldest entry the
  # monitor has not verified yet (interpolated between samples).
  lag_s=$(awk -v v="$verified" -v now="$now" '
    $2 > v { t = $1; if (seen) t = pt + (v + 1 - ps) / ($2 - ps) * ($1 - pt)
             printf "%.1f", now - t; found = 1; exit }
    { pt = $1; ps = $2; seen = 1 }
    END { if (!found) print "0.0" }' "$out/sizes.txt")
  if gt "$lag_s" "$max_lag_s"; then max_lag_s=$lag_s; fi
  if ((lag_entries > max_lag_entries)); then max_lag_entries=$lag_entries; fi
  if ! gt "$next_row" "$now"; then
    server_errors=$(grep -c '"level":"ERROR"' "$out/server.log" || true)
    monitor_errors=$(grep -c 'ERROR' "$out/monitor.log" || true)
    alerts=$(grep -c '^{' "$out/alerts.jsonl" || true)
    echo "$(printf '%.0f' "$now"),$tree,$verified,$lag_entries,$lag_s,$(rss_kib "$spid"),$(rss_kib "$mpid"),$server_errors,$monitor_errors,$alerts" >>"$csv"
    next_row=$((next_row + 10))
  fi
}

while kill -0 "$hpid" 2>/dev/null; do
  sample
  if [ -z "$checked_while_running" ] && ! gt $((seconds / 2)) "$now"; then
    # Safe while the server runs: a read-only secondary RocksDB instance.
    (
      rc=0
      "$bin/gatelog-server" check --data "$data" >"$out/check-while-running.txt" 2>&1 || rc=$?
      echo "exit $rc" >>"$out/check-while-running.txt"
    ) &
    checked_while_running=$!
  fi
  sleep 1
done
wait "$hpid" || true
[ -z "$checked_while_running" ] || wait "$checked_while_running" || true
# Let the monitor verify the last entries.
for _ in $(seq 60); do
  sample
  ((tree > 0 && verified >= tree)) && break
  sleep 1
done
next_row=0 # a last row, after the catch-up
sample
server_rss_end=$(rss_kib "$spid")
monitor_rss_end=$(rss_kib "$mpid")
kill -TERM "$mpid" "$spid"
wait "$mpid" "$spid" 2>/dev/null || true
pids=()

check_begin=$(date +%s%N)
if "$bin/gatelog-server" check --data "$data" >"$out/check.txt" 2>&1; then check_ok=1; else check_ok=0; fi
check_seconds=$(awk -v t="$(date +%s%N)" -v s="$check_begin" 'BEGIN {printf "%.1f", (t - s) / 1e9}')

python3 - "$out" "$csv" "$warmup" "$rss_growth" "$rss_max_mib" "$max_lag" "$max_lag_s" "$max_lag_entries" \
  "$check_ok" "$check_seconds" "$server_rss_end" "$monitor_rss_end" "$rate" "$seconds" <<'PY'
import csv, json, re, sys
(out, csv_path, warmup, growth, max_mib, max_lag, lag_s, lag_entries, check_ok, check_s,
 server_end, monitor_end, rate, seconds) = sys.argv[1:]
warmup, growth, max_mib, max_lag = int(warmup), float(growth), float(max_mib), float(max_lag)
rows = list(csv.DictReader(open(csv_path)))
h = json.load(open(f"{out}/hammer.json"))
after = [r for r in rows if int(r["seconds"]) >= warmup] or rows[-1:]
warm = {k: int(after[0][k]) for k in ("server_rss_kib", "monitor_rss_kib")}
peak = {k: max(int(r[k]) for r in rows) for k in warm}
end = {"server_rss_kib": int(server_end), "monitor_rss_kib": int(monitor_end)}
run = max(int(r["seconds"]) for r in rows) if rows else 0
def quarter_peak(k, q):
    v = [int(r[k]) for r in rows if q * run / 4 <= int(r["seconds"]) < (q + 1) * run / 4]
    return max(v) if v else 0
second = {k: quarter_peak(k, 1) for k in warm}
fourth = {k: max(quarter_peak(k, 3), end[k]) for k in warm}
last = rows[-1]
running = open(f"{out}/check-while-running.txt").read() if rows else ""
final = open(f"{out}/check.txt").read()
fails = []
if h["refused"] or h["verification_failures"]:
    fails.append(f"hammer: {h['refused']} refused, {h['verification_failures']} verification failures")
if int(last["server_errors"]) or int(last["monitor_errors"]) or int(last["alerts"]):
    fails.append("errors or alerts: see server.log, monitor.log, alerts.jsonl")
for k, name in (("server_rss_kib", "server"), ("monitor_rss_kib", "monitor")):
    if fourth[k] > growth * second[k]:
        fails.append(f"{name} RSS kept growing: peak {second[k]} KiB in the second quarter, "
                     f"{fourth[k]} KiB in the last (> {growth}x)")
    if peak[k] > max_mib * 1024:
        fails.append(f"{name} RSS peaked at {peak[k]} KiB (> {max_mib:.0f} MiB)")
if float(lag_s) > max_lag:
    fails.append(f"monitor lag reached {lag_s} s (> {max_lag} s)")
if int(last["monitor_verified"]) != int(last["tree_size"]):
    fails.append("the monitor did not verify the whole log")
if "exit 0" not in running:
    fails.append("check while running failed: " + running.strip()[-300:])
if check_ok != "1":
    fails.append("check of the stopped data folder failed: " + final.strip()[-300:])
speed = re.search(r"\(([0-9]+) entries/s\)", final)
mib = lambda k: k / 1024
print(f"\nsoak summary ({int(seconds) // 60} min {int(seconds) % 60} s at {rate} events/s offered)")
print(f"  hammer       {h['accepted']} events acknowledged and verified ({h['events_per_second']:.0f}/s), "
      f"{h['refused']} refused, {h['verification_failures']} verification failures, "
      f"latency p50 {h['latency_ms']['p50']:.0f} ms p99 {h['latency_ms']['p99']:.0f} ms, {h['reads']} verified reads")
print(f"  tree         {last['tree_size']} entries; monitor verified {last['monitor_verified']}")
print(f"  monitor lag  max {lag_s} s, {lag_entries} entries (bound {max_lag} s)")
for k, name in (("server_rss_kib", "server RSS "), ("monitor_rss_kib", "monitor RSS")):
    print(f"  {name}  {mib(warm[k]):.0f} MiB after warm-up ({warmup} s), {mib(end[k]):.0f} MiB at the end; "
          f"peak {mib(second[k]):.0f} MiB in the second quarter, {mib(fourth[k]):.0f} MiB in the last "
          f"(bound {growth}x), {mib(peak[k]):.0f} MiB overall (bound {max_mib:.0f} MiB)")
print(f"  errors       server {last['server_errors']}, monitor {last['monitor_errors']}, alerts {last['alerts']}")
print(f"  check        while running: {'passed' if 'exit 0' in running else 'FAILED'}; "
      f"stopped: {'passed' if check_ok == '1' else 'FAILED'} in {float(check_s):.1f} s"
      + (f" ({speed.group(1)} entries/s)" if speed else ""))
print(f"  files        {csv_path}, hammer.json, check.txt, server.log, monitor.log")
print("FAIL:\n  " + "\n  ".join(fails) if fails else "PASS")
sys.exit(1 if fails else 0)
PY
