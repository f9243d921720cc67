#!/usr/bin/env bash
# Runs gatelog's benchmarks end to end and regenerates the tables:
#   micro    microbenchmarks and peers: scripts/bench-micro.sh (its micro.md
#            and peers.md go into the tables);
#   ingest   scripts/bench-ingest.sh on a new log, BENCH_INGEST_RUNS times:
#            durable ingest (batch endpoint and one event per request, with
#            latency percentiles and verified reads), `gatelog verify` of
#            lockfiles, monitor catch-up and alert delay;
#   scaling  for each size in BENCH_SIZES: a log filled by gatelog-bulk-load,
#            then BENCH_RUNS runs, each on its own copy of the loaded folder
#            (so every run starts at the same size): server start-up time,
#            hammer ingest through the batch endpoint, then a read-only
#            hammer run of verified inclusion proofs of random entries; then
#            monitor catch-up (sizes up to BENCH_MONITOR_MAX) and a
#            2,000-package lockfile verified against the loaded releases;
#   link     scripts/bench-link.sh: `gatelog verify` of lockfiles of every
#            format over loopback and over an emulated CI link (50 ms round
#            trip, 100 Mbit/s) against a log of BENCH_LINK_SIZE entries.
# Then scripts/bench-report.py writes benchmarks-latest.{md,json} and
# scripts/scaling-plot.py scaling.svg, into BENCH_OUT and (unless BENCH_DOCS=0
# or a quick run) into docs/. Sections a run did not measure keep their
# earlier figures and dates.
#
#   make bench           micro, ingest and scaling at 100 k and 1 M entries
#   make bench-scaling   scaling at 10 M and 100 M entries
#
# Environment (defaults in brackets; BENCH_QUICK=1 changes them):
#   BENCH_OUT             where every report goes [a new temporary folder]
#   BENCH_QUICK=1         a ~3-minute smoke run: one short run of each step on
#                         a 100 k log; docs/ is left alone
#   BENCH_STEPS           [micro ingest scaling link]
#   BENCH_LINK_SIZE       entries in the link step's log [10000000]; its
#                         other settings are in scripts/bench-link.sh
#   BENCH_SIZES           tree sizes [100000 1000000]
#   BENCH_RUNS            hammer runs per size, verify runs [3]
#   BENCH_INGEST_RUNS     runs of scripts/bench-ingest.sh [2]
#   BENCH_DATA            where loaded logs go [$BENCH_OUT/data]; each is
#                         deleted after its size unless BENCH_KEEP_DATA=1
#   BENCH_REUSE_DATA=1    measure a log already in BENCH_DATA (log-N, with
#                         the loader's report in log-N.load.json: kept by
#                         BENCH_KEEP_DATA=1, or made by running
#                         `gatelog-bulk-load --json` by hand) instead of
#                         loading it again
#   BENCH_DISK_MARGIN_GB  a size is skipped when loading it would leave less
#                         free disk than this [15 for sizes above 1 M, else 2]
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
bin="$target/release"
quick="${BENCH_QUICK:-0}"
out="${BENCH_OUT:-$(mktemp -d -t gatelog-bench.XXXXXX)}"
mkdir -p "$out"
out=$(cd "$out" && pwd)
steps="${BENCH_STEPS:-micro ingest scaling link}"
if [ "$quick" = 1 ]; then
  sizes="${BENCH_SIZES:-100000}"; runs="${BENCH_RUNS:-1}"; ingest_runs="${BENCH_INGEST_RUNS:-1}"
  ingest_releases=3000; lockfiles="100 2000"; scaling_releases=2000; proof_seconds=5
  link_size="${BENCH_LINK_SIZE:-100000}"
  docs="${BENCH_DOCS:-0}"
else
  sizes="${BENCH_SIZES:-100000 1000000}"; runs="${BENCH_RUNS:-3}"; ingest_runs="${BENCH_INGEST_RUNS:-2}"
  ingest_releases=30000; lockfiles="100 2000 10000"; scaling_releases=20000; proof_seconds=15
  link_size="${BENCH_LINK_SIZE:-10000000}"
  docs="${BENCH_DOCS:-1}"
fi
monitor_max="${BENCH_MONITOR_MAX:-1000000}"
data_root="${BENCH_DATA:-$out/data}"
mkdir -p "$data_root"
packages=10000
first_release=10000000 # gatelog-bulk-load's default: apart from the hammer's releases

log() { echo "[$(date -u +%H:%M:%S)] $*"; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(round($(now) - $1, 3))"; }
declare -A wall load

machine="$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/{print $2}') GiB RAM, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo -dirty)"
log "gatelog benchmarks: steps '$steps', reports in $out"
log "machine: $machine"

log "building the release binaries"
cargo build --release --quiet -p gatelog-server -p gatelog-client -p gatelog-lab -p gatelog-monitor -p gatelog-bulk-load -p gatelog-bench --bins
registry_key=$("$bin/gatelog-lab" hammer --print-registry-key)

# ------------------------------------------------------------------ micro

step_micro() {
  if [ ! -x scripts/bench-micro.sh ]; then
    log "microbenchmarks: no scripts/bench-micro.sh, not measured"
    return
  fi
  log "microbenchmarks and peers: scripts/bench-micro.sh"
  local quick_env=()
  # A smoke run: small trees, short measurements, no pymerkle.
  [ "$quick" = 1 ] && quick_env=(GATELOG_BENCH_SIZES=1K BENCH_PYMERKLE=0
    "CRITERION_ARGS=--warm-up-time 0.5 --measurement-time 1")
  env "${quick_env[@]}" BENCH_OUT="$out" scripts/bench-micro.sh >"$out/bench-micro.log" 2>&1 ||
    log "scripts/bench-micro.sh failed; see $out/bench-micro.log"
}

# ----------------------------------------------------------------- ingest

step_ingest() {
  mkdir -p "$out/ingest"
  echo "$ingest_releases" >"$out/ingest/releases"
  for r in $(seq "$ingest_runs"); do
    log "ingest run $r of $ingest_runs: scripts/bench-ingest.sh $ingest_releases"
    BENCH_OUT="$out/ingest/run-$r" BENCH_LOCKFILES="$lockfiles" \
      scripts/bench-ingest.sh "$ingest_releases" >"$out/ingest/run-$r.log" 2>&1
    grep '^==' "$out/ingest/run-$r.log" | sed 's/^/    /'
  done
}

# ---------------------------------------------------------------- scaling

start_server() { # data-folder report-name -> pid, port, startup (seconds until it serves)
  port=$((20000 + RANDOM % 20000))
  local t0; t0=$(now)
  "$bin/gatelog-server" --data "$1" --listen "127.0.0.1:$port" --submitter-key "$registry_key" \
    --batch-interval-ms 200 --pool-size 65536 --log-format json >"$2" 2>&1 &
  pid=$!
  for _ in $(seq 6000); do
    grep -q "^tree size" "$2" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { log "the server did not start: $(tail -3 "$2")"; return 1; }
    sleep 0.1
  done
  startup=$(elapsed "$t0")
}

stop_server() { kill -TERM "$pid"; wait "$pid" || true; }

# A throwaway copy of a stopped log: RocksDB never changes an SST file once
# written, so those are hard-linked; everything else is copied. The copy
# diverges from the original as soon as it takes entries, so it is deleted
# after its run and never served next to the original.
clone_log() {
  mkdir -p "$2/db"
  cp -p "$1/log.key" "$2/"
  for f in "$1"/db/*; do
    case "$f" in
      *.sst) ln "$f" "$2/db/" ;;
      *) cp -p "$f" "$2/db/" ;;
    esac
  done
}

# Read-only proof runs need a hammer with proof readers; an older one has
# none, and the tables then say "not measured".
proof_readers=0
"$bin/gatelog-lab" hammer --help | grep -q -- '--proof-readers' && proof_readers=8

lockfile_of_loaded() { # count -> package-lock.json of loaded releases first_release..+count
  python3 scripts/bench-lockfile.py npm "$1" "$first_release" "$packages"
}

last_bpe=""
bytes_per_entry() { # measured earlier in this run, else by an earlier run, else a guess
  if [ -n "$last_bpe" ]; then echo "$last_bpe"; return; fi
  python3 - <<'PY'
import json
try:
    sizes = json.load(open("docs/benchmarks-latest.json"))["sections"]["scaling"]["sizes"]
    print(round(sizes[max(sizes, key=int)]["load"]["bytes_per_entry"]))
except Exception:
    print(1200)
PY
}

measure_size() {
  local n=$1 d="$out/scaling/size-$1" data="$data_root/log-$1"
  mkdir -p "$d"
  local margin="${BENCH_DISK_MARGIN_GB:-$([ "$n" -gt 1000000 ] && echo 15 || echo 2)}"
  local bpe free_bytes
  bpe=$(bytes_per_entry)
  free_bytes=$(($(df -Pk "$data_root" | awk 'NR==2{print $4}') * 1024))
  local verdict="" reuse=0
  [ "${BENCH_REUSE_DATA:-0}" = 1 ] && [ -f "$data.load.json" ] && [ -d "$data" ] && reuse=1
  [ "$reuse" = 1 ] || verdict=$(python3 -c "
need = $n * $bpe * 1.1 / 2**30; free = $free_bytes / 2**30; left = free - need
if left < $margin:
    print(f'needs ~{need:.0f} GiB ({$n:,} entries x $bpe bytes per entry + 10 %), {free:.0f} GiB free: would leave {left:.0f} GiB, under the {$margin} GiB margin')")
  if [ -n "$verdict" ]; then
    log "size $n skipped: $verdict"
    echo "$verdict" >"$d/skipped"
    return
  fi
  if [ "$reuse" = 1 ]; then
    # Loaded earlier (e.g. a 10 M log loaded once and measured again).
    log "size $n: reusing the log loaded in $data"
    cp "$data.load.json" "$d/load.json"
  else
    rm -rf "$data"
    log "size $n: bulk-loading"
    "$bin/gatelog-bulk-load" --data "$data" --entries "$n" --packages "$packages" \
      --first-release "$first_release" --json >"$d/load.json" 2>"$d/load.err"
    cp "$d/load.json" "$data.load.json"
  fi
  last_bpe=$(python3 -c "import json; print(round(json.load(open('$d/load.json'))['bytes_per_entry']))")
  local vkey; vkey=$(python3 -c "import json; print(json.load(open('$d/load.json'))['verifier_key'])")
  log "    $(python3 -c "import json; d=json.load(open('$d/load.json')); print(f\"{d['entries']:,} entries in {d['seconds']:.0f} s = {d['entries_per_second']:,.0f}/s, {d['bytes_per_entry']:.0f} bytes per entry\")")"
  : >"$d/startup.times"
  for r in $(seq "$runs"); do
    rm -rf "$data.run"
    clone_log "$data" "$data.run"
    start_server "$data.run" "$d/server-$r.log"
    echo "$startup" >>"$d/startup.times"
    "$bin/gatelog-lab" hammer --log "http://127.0.0.1:$port" --log-key "$vkey" --server-pid "$pid" \
      --releases "$scaling_releases" --packages "$packages" --writers 32 --batch-size 1000 \
      --readers 2 --max-seconds 60 --json >"$d/hammer-$r.json" 2>"$d/hammer-$r.err" ||
      log "    hammer run $r reported failures; see $d/hammer-$r.err"
    if [ "$proof_readers" -gt 0 ]; then
      # Inclusion proofs of random entries of the whole tree, nothing else.
      "$bin/gatelog-lab" hammer --log "http://127.0.0.1:$port" --log-key "$vkey" --server-pid "$pid" \
        --writers 0 --readers 0 --proof-readers "$proof_readers" --duration "$proof_seconds" \
        --json >"$d/proofs-$r.json" 2>"$d/proofs-$r.err" ||
        log "    proof run $r reported failures; see $d/proofs-$r.err"
      log "    run $r proofs: $(python3 -c "import json; p=json.load(open('$d/proofs-$r.json'))['proofs']; print(f\"{p['per_second']:,.0f} verified inclusion proofs/s, p50 {p['latency_ms']['p50']:.1f} ms, p99 {p['latency_ms']['p99']:.1f} ms\")")"
    fi
    stop_server
    rm -rf "$data.run"
    log "    run $r: start-up ${startup} s, $(python3 -c "import json; d=json.load(open('$d/hammer-$r.json')); print(f\"{d['events_per_second']:,.0f} events/s, p99 {d['latency_ms']['p99']:,.0f} ms, {d['reads_per_second']:,.0f} verified reads/s\")")"
  done
  start_server "$data" "$d/server.log"
  if [ "$n" -le "$monitor_max" ]; then
    local mstate t0 t
    mstate=$(mktemp -d)
    # The workload's registry times are months before the log clock.
    printf '[rules]\ndisabled = ["time-skew"]\nrecency_clock = "registry"\n' >"$mstate/monitor.toml"
    t0=$(now)
    "$bin/gatelog-monitor" --once --quiet --log "http://127.0.0.1:$port" --log-key "$vkey" --registry-key "$registry_key" \
      --config "$mstate/monitor.toml" --state "$mstate/state" --start-at 0 2>"$d/monitor.err" || true
    t=$(elapsed "$t0")
    rm -rf "$mstate"
    local entries alerts
    entries=$(grep -o 'verified [0-9]* entries' "$d/monitor.err" | cut -d' ' -f2)
    alerts=$(grep -o '[0-9]* alert(s)' "$d/monitor.err" | cut -d' ' -f1)
    echo "{\"entries\": ${entries:-0}, \"seconds\": $t, \"alerts\": ${alerts:-null}}" >"$d/monitor-catchup.json"
    log "    monitor catch-up: ${entries:-0} entries in $t s, ${alerts:-?} alert(s)"
  fi
  lockfile_of_loaded 2000 >"$d/lock-2000.json"
  : >"$d/verify-2000.times"
  for _ in $(seq "$runs"); do
    local t0; t0=$(now)
    "$bin/gatelog" verify --lockfile "$d/lock-2000.json" --log "http://127.0.0.1:$port" \
      --log-key "$vkey" --registry-key "$registry_key" --no-state --format json \
      >"$d/verify-2000.json" 2>"$d/verify-2000.err" || log "    gatelog verify failed; see $d/verify-2000.*"
    elapsed "$t0" >>"$d/verify-2000.times"
  done
  log "    gatelog verify, 2,000 packages: $(tr '\n' ' ' <"$d/verify-2000.times")s"
  stop_server
  [ "${BENCH_KEEP_DATA:-0}" = 1 ] || rm -rf "$data" "$data.load.json"
}

step_scaling() {
  for n in $sizes; do measure_size "$n"; done
}

# ------------------------------------------------------------------- link

step_link() {
  local quick_env=()
  [ "$quick" = 1 ] && quick_env=(BENCH_LINK_LOCKFILES="100 2000")
  log "verify over a CI link: scripts/bench-link.sh on $link_size entries"
  env "${quick_env[@]}" BENCH_OUT="$out" BENCH_DATA="$data_root" BENCH_RUNS="$runs" \
    BENCH_LINK_SIZE="$link_size" BENCH_LINK_BUILT=1 scripts/bench-link.sh >"$out/bench-link.log" 2>&1 ||
    log "scripts/bench-link.sh failed; see $out/bench-link.log"
  grep -E '^\[.*\] (link|    )' "$out/bench-link.log" | sed 's/^/    /' || true
}

# ------------------------------------------------------------------- run

for step in $steps; do
  step_start=$SECONDS
  "step_$step"
  wall[$step]=$((SECONDS - step_start))
  # Other work on the machine skews every figure; the load says how much.
  load[$step]=$(cut -d' ' -f1-3 /proc/loadavg)
  log "$step took ${wall[$step]} s (load average ${load[$step]})"
done

python3 - "$out/run.json" <<PY
import json, sys
json.dump({
    "date": "$(date -u +%Y-%m-%dT%H:%MZ)", "commit": "$commit", "machine": """$machine""",
    "command": "${BENCH_COMMAND:-scripts/bench.sh} (steps: $steps; sizes: $sizes; runs: $runs; ingest runs: $ingest_runs)",
    "quick": "$quick" == "1", "steps": "$steps".split(),
    "wall_seconds": {$(for s in "${!wall[@]}"; do printf '"%s": %s, ' "$s" "${wall[$s]}"; done)
                     "total": $SECONDS},
    "load_average_after": {$(for s in "${!load[@]}"; do printf '"%s": "%s", ' "$s" "${load[$s]}"; done)},
}, open(sys.argv[1], "w"), indent=1)
PY
python3 scripts/bench-report.py "$out" docs/benchmarks-latest.json "$out/benchmarks-latest.json" "$out/benchmarks-latest.md"
python3 scripts/scaling-plot.py "$out/benchmarks-latest.json" "$out/scaling.svg"
if [ "$docs" = 1 ]; then
  cp "$out/benchmarks-latest.md" "$out/benchmarks-latest.json" docs/
  # The plot's caption names this run's machine: only a scaling run redraws it.
  case " $steps " in *" scaling "*) cp "$out/scaling.svg" docs/ ;; esac
  log "wrote docs/benchmarks-latest.md, docs/benchmarks-latest.json$(case " $steps " in *" scaling "*) echo " and docs/scaling.svg" ;; esac)"
fi
log "done in $SECONDS s; reports in $out"
