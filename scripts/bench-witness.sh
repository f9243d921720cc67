#!/usr/bin/env bash
# What witness cosigning costs: a release gatelog-server on a new log under
# the same offered load (`gatelog-lab hammer`, BENCH_RATE events/s in requests
# of 100, 200 ms batches, 20 s), first without witnesses, then asking two
# release gatelog-witness processes on loopback to cosign every checkpoint.
# Reports, as JSON in BENCH_OUT/witness.json and as a summary:
#   - the acknowledgement latency of writes (p50/p99) in both runs: writes
#     never wait on a witness, so they should match;
#   - per cosigning round (one per checkpoint the server signed, coalesced
#     when they come faster than witnesses answer): the time from the
#     round's start to the checkpoint served with every cosignature
#     (p50/p99/max), read from the server's "cosigning round done" lines.
#
#   scripts/bench-witness.sh            BENCH_RATE (default 2000), BENCH_OUT
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --release --quiet -p gatelog-server -p gatelog-client -p gatelog-lab -p gatelog-witness --bins
bin="$target/release"
out="${BENCH_OUT:-$(mktemp -d)}"
mkdir -p "$out"
rate="${BENCH_RATE:-2000}"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
registry_key=$("$bin/gatelog-lab" hammer --print-registry-key)

wait_for() { # file pattern
  for _ in $(seq 300); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "error: no '$2' in $1: $(tail -3 "$1")" >&2
  exit 1
}

start_server() { # name [extra flags...] -> pid, port, vkey
  local name=$1; shift
  port=$((20000 + RANDOM % 20000))
  "$bin/gatelog-server" --data "$work/$name-data" --listen "127.0.0.1:$port" \
    --submitter-key "$registry_key" --batch-interval-ms 200 --pool-size 65536 \
    --log-format json "$@" >"$out/$name.server.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait_for "$out/$name.server.log" "verifier key"
  vkey=$(grep -o 'verifier key: .*' "$out/$name.server.log" | cut -d' ' -f3)
}

hammer() { # name
  "$bin/gatelog-lab" hammer --log "http://127.0.0.1:$port" --log-key "$vkey" --server-pid "$pid" \
    --rate "$rate" --duration 20 --packages 10000 --writers 1024 --batch-size 100 \
    --readers 0 --json >"$out/$1.json"
  kill -TERM "$pid"; wait "$pid" || true
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"

start_server plain
hammer plain

# The witnesses need the log's key, which the first start of a log prints:
# start the witnessed log once to learn it, then the witnesses, then the log.
start_server witnessed
kill -TERM "$pid"; wait "$pid" || true
policy="$work/witnesses.policy"
: >"$policy"
for i in 1 2; do
  wport=$((40000 + RANDOM % 20000))
  "$bin/gatelog-witness" --data "$work/w$i" --listen "127.0.0.1:$wport" \
    --name "bench-witness-$i.localhost" --log-key "$vkey" --rate 1000 >"$out/w$i.log" 2>&1 &
  pids+=("$!")
  wait_for "$out/w$i.log" "verifier key"
  wkey=$(grep -o 'verifier key: .*' "$out/w$i.log" | cut -d' ' -f3)
  echo "witness W$i $wkey http://127.0.0.1:$wport" >>"$policy"
done
echo "group both all W1 W2" >>"$policy"
echo "quorum both" >>"$policy"
start_server witnessed --witness-policy "$policy"
hammer witnessed

python3 - "$out" "$rate" <<'PY'
import json, sys
out, rate = sys.argv[1], int(sys.argv[2])
def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] if xs else None
rounds = []
for line in open(f"{out}/witnessed.server.log"):
    if "cosigning round done" not in line:
        continue
    f = json.loads(line)["fields"]
    rounds.append(f)
ms = [r["elapsed_ms"] for r in rounds]
full = sum(1 for r in rounds if r["cosignatures"] == r["witnesses"])
def ack(name):
    h = json.load(open(f"{out}/{name}.json"))
    lat = h["latency_ms"]
    return {"events_per_s": round(h["events_per_second"]), "refused": h["refused"],
            "p50_ms": lat["p50"], "p99_ms": lat["p99"]}
report = {
    "offered_events_per_s": rate,
    "writes_without_witnesses": ack("plain"),
    "writes_with_two_witnesses": ack("witnessed"),
    "cosigning_rounds": len(rounds),
    "rounds_with_every_cosignature": full,
    "cosigning_ms": {"p50": pct(ms, 50), "p99": pct(ms, 99), "max": max(ms) if ms else None},
}
json.dump(report, open(f"{out}/witness.json", "w"), indent=1)
print(json.dumps(report, indent=1))
PY
echo "reports in $out"
