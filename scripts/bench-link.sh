#!/usr/bin/env bash
# `gatelog verify` over a CI link (50 ms round trip, 100 Mbit/s) and over
# loopback, against a log of BENCH_LINK_SIZE entries filled by
# gatelog-bulk-load: lockfiles of BENCH_LINK_LOCKFILES packages in each
# format of BENCH_LINK_FORMATS, all naming the same loaded releases
# (scripts/bench-lockfile.py): the newest release of each of N packages
# (the last N loaded), whose bundles hold little more than the release's
# own events. A release's bundle also holds every later event of its
# package (the chain a verifier walks, up to 1,000 events), so lockfiles
# naming the oldest release of each package (the first N loaded, as the
# scaling step's) are measured too, for BENCH_LINK_OLDEST sizes in the
# npm format only. Run by scripts/bench.sh (step `link`), or
# alone; reports go to $BENCH_OUT/link/ (results.json, the emulation check,
# every run's output).
#
# The link: the server runs in a network namespace behind a veth pair.
#   netem      where the kernel has sch_netem: `netem delay 25ms rate
#              100mbit` on both ends of the veth; gatelog-link-proxy (no
#              delay) only counts the bytes;
#   tbf+proxy  otherwise: `tbf rate 100mbit` on both ends for the rate, and
#              gatelog-link-proxy (bench/src/bin/link_proxy.rs) delaying
#              every chunk 25 ms each way, a new connection's first bytes
#              one round trip more (the TCP handshake's);
#   proxy      without namespaces: the proxy alone on loopback, pacing each
#              direction at 100 Mbit/s itself.
# Loopback runs start the client in the server's namespace (nsenter --net)
# and talk to 127.0.0.1 there. The emulation is checked first with curl:
# a small GET on a new and on an open connection, and a 10 MB download.
#
# Environment (defaults in brackets):
#   BENCH_OUT             [a new temporary folder]
#   BENCH_LINK_SIZE       entries in the log [10000000]
#   BENCH_LINK_LOCKFILES  packages per lockfile [100 2000 10000]
#   BENCH_LINK_FORMATS    [npm pnpm yarn-classic yarn-berry bun]
#   BENCH_LINK_OLDEST     packages per lockfile of oldest releases [100]
#   BENCH_RUNS            runs of each (lockfile, path) [3]
#   BENCH_LINK_RTT_MS     [50]   BENCH_LINK_MBIT [100]
#   BENCH_DATA, BENCH_REUSE_DATA, BENCH_KEEP_DATA as in scripts/bench.sh:
#                         the log is $BENCH_DATA/log-N (its loader report
#                         log-N.load.json), reused when BENCH_REUSE_DATA=1
#                         and kept when BENCH_KEEP_DATA=1
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${CARGO_TARGET_DIR:-target}/release"
out="${BENCH_OUT:-$(mktemp -d -t gatelog-bench.XXXXXX)}"
mkdir -p "$out/link"
out=$(cd "$out" && pwd)
d="$out/link"
size="${BENCH_LINK_SIZE:-10000000}"
lockfiles="${BENCH_LINK_LOCKFILES:-100 2000 10000}"
formats="${BENCH_LINK_FORMATS:-npm pnpm yarn-classic yarn-berry bun}"
oldest="${BENCH_LINK_OLDEST-100}"
runs="${BENCH_RUNS:-3}"
rtt="${BENCH_LINK_RTT_MS:-50}"
mbit="${BENCH_LINK_MBIT:-100}"
one_way=$((rtt / 2))
data_root="${BENCH_DATA:-$out/data}"
data="$data_root/log-$size"
packages=10000
first_release=10000000 # as scripts/bench.sh loads
registry=https://hammer.registry.test
mkdir -p "$data_root"

log() { echo "[$(date -u +%H:%M:%S)] $*"; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(round($(now) - $1, 3))"; }

# scripts/bench.sh has built them (and gatelog-lab) already.
[ "${BENCH_LINK_BUILT:-0}" = 1 ] ||
  cargo build --release --quiet -p gatelog-server -p gatelog-client -p gatelog-bench -p gatelog-bulk-load --bins
registry_key=$("$bin/gatelog-lab" hammer --print-registry-key)

# ------------------------------------------------------------ the log
if [ "${BENCH_REUSE_DATA:-0}" = 1 ] && [ -d "$data" ] && [ -f "$data.load.json" ]; then
  log "link: reusing the log loaded in $data"
else
  rm -rf "$data"
  log "link: bulk-loading $size entries into $data"
  "$bin/gatelog-bulk-load" --data "$data" --entries "$size" --packages "$packages" \
    --first-release "$first_release" --json >"$d/load.json" 2>"$d/load.err"
  cp "$d/load.json" "$data.load.json"
fi
cp "$data.load.json" "$d/load.json"
vkey=$(python3 -c "import json; print(json.load(open('$d/load.json'))['verifier_key'])")
loaded=$(python3 -c "import json; print(json.load(open('$d/load.json'))['releases'])")

# ------------------------------------------------------- the link
ns="gatelog-link-$$"
veth_h="glh$$" veth_s="gls$$"
host_ip=10.251.0.1 ns_ip=10.251.0.2
mode="" pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip link del "$veth_h" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  [ "${BENCH_KEEP_DATA:-0}" = 1 ] || rm -rf "$data" "$data.load.json"
}
trap cleanup EXIT

if ip netns add "$ns" 2>/dev/null; then
  ip link add "$veth_h" type veth peer name "$veth_s"
  ip link set "$veth_s" netns "$ns"
  ip addr add "$host_ip/30" dev "$veth_h"
  ip link set "$veth_h" up
  ip -n "$ns" addr add "$ns_ip/30" dev "$veth_s"
  ip -n "$ns" link set "$veth_s" up
  ip -n "$ns" link set lo up
  if tc qdisc add dev "$veth_h" root netem delay "${one_way}ms" rate "${mbit}mbit" limit 100000 2>/dev/null; then
    tc -n "$ns" qdisc add dev "$veth_s" root netem delay "${one_way}ms" rate "${mbit}mbit" limit 100000
    mode=netem
  else
    # No sch_netem: the rate from tbf, the delay from the proxy.
    tc qdisc add dev "$veth_h" root tbf rate "${mbit}mbit" burst 32kb latency 100ms
    tc -n "$ns" qdisc add dev "$veth_s" root tbf rate "${mbit}mbit" burst 32kb latency 100ms
    mode=tbf+proxy
  fi
  in_ns=(nsenter "--net=/var/run/netns/$ns")
  server_ip=$ns_ip
else
  mode=proxy
  in_ns=()
  server_ip=127.0.0.1
fi
case "$mode" in
  netem) proxy_args=(--delay-ms 0 --no-handshake)
    emulation="netem delay ${one_way}ms rate ${mbit}mbit on both ends of a veth pair into a network namespace; gatelog-link-proxy only counts bytes" ;;
  tbf+proxy) proxy_args=(--delay-ms "$one_way")
    emulation="no sch_netem in this kernel: tbf rate ${mbit}mbit on both ends of a veth pair into a network namespace, and gatelog-link-proxy delaying every chunk ${one_way} ms each way (a new connection's first bytes one round trip more, as the TCP handshake costs; TCP's own round trips, e.g. slow start, are not delayed)" ;;
  proxy) proxy_args=(--delay-ms "$one_way" --rate-mbit "$mbit")
    emulation="no network namespaces: gatelog-link-proxy alone on loopback, delaying every chunk ${one_way} ms each way and pacing each direction at ${mbit} Mbit/s" ;;
esac
log "link: $emulation"

start_proxy() { # upstream report -> proxy_port
  proxy_port=$((20000 + RANDOM % 20000))
  "$bin/gatelog-link-proxy" --listen "127.0.0.1:$proxy_port" --upstream "$1" "${proxy_args[@]}" >"$2" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q '^listening' "$2" 2>/dev/null && return; sleep 0.05; done
  log "the proxy did not start: $(tail -3 "$2")"
  return 1
}

# ------------------------------------------- check the emulation
www="$d/www"
mkdir -p "$www"
head -c 10000000 /dev/urandom >"$www/10mb"
echo ok >"$www/small"
web_port=$((20000 + RANDOM % 20000))
"${in_ns[@]}" python3 -c "
import functools, http.server as h, sys
h.SimpleHTTPRequestHandler.protocol_version = 'HTTP/1.1'
h.ThreadingHTTPServer(('0.0.0.0', $web_port), functools.partial(h.SimpleHTTPRequestHandler, directory='$www')).serve_forever()
" 2>"$d/www.log" &
pids+=($!)
sleep 1
start_proxy "$server_ip:$web_port" "$d/check-proxy.log"
check_url="http://127.0.0.1:$proxy_port"
curl_times() { curl -s -o /dev/null -w '%{time_total}\n' "$@"; }
: >"$d/check.times"
for _ in 1 2 3; do
  new=$(curl_times "$check_url/small")
  # Two GETs on one connection: the second is one round trip.
  open=$(curl_times "$check_url/small" "$check_url/small" | tail -1)
  big=$(curl_times "$check_url/10mb")
  echo "$new $open $big" >>"$d/check.times"
done
direct_big=$(curl_times "http://$server_ip:$web_port/10mb")
python3 - "$d" "$mode" "$emulation" "$direct_big" "$rtt" "$mbit" <<'PY'
import json, statistics, sys
d, mode, emulation, direct_big, rtt, mbit = sys.argv[1:7]
rows = [list(map(float, l.split())) for l in open(f"{d}/check.times") if l.strip()]
cols = list(zip(*rows))
json.dump({"mode": mode, "emulation": emulation, "rtt_ms": int(rtt), "mbit": int(mbit),
           "small_get_new_connection_s": statistics.median(cols[0]),
           "small_get_open_connection_s": statistics.median(cols[1]),
           "download_10mb_s": statistics.median(cols[2]),
           "download_10mb_without_delay_s": float(direct_big),
           "runs": len(rows)}, open(f"{d}/emulation.json", "w"), indent=1)
PY
log "link check: $(python3 -c "
import json; e = json.load(open('$d/emulation.json'))
print(f\"small GET {e['small_get_new_connection_s']*1000:.0f} ms on a new connection, {e['small_get_open_connection_s']*1000:.0f} ms on an open one; 10 MB in {e['download_10mb_s']:.2f} s ({e['download_10mb_without_delay_s']:.2f} s without the delay)\")")"
rm -f "$www/10mb"

# ------------------------------------------------------ the server
port=$((20000 + RANDOM % 20000))
listen=127.0.0.1
[ "$mode" = proxy ] || listen=0.0.0.0
"${in_ns[@]}" "$bin/gatelog-server" --data "$data" --listen "$listen:$port" --submitter-key "$registry_key" \
  --batch-interval-ms 200 --log-format json >"$d/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
for _ in $(seq 6000); do
  grep -q "^tree size" "$d/server.log" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { log "the server did not start: $(tail -3 "$d/server.log")"; exit 1; }
  sleep 0.1
done
start_proxy "$server_ip:$port" "$d/proxy.log"
link_url="http://127.0.0.1:$proxy_port"
loop_url="http://127.0.0.1:$port"

# Sums the byte counts of the proxy's connections from line $1 on, once
# every connection opened has closed: "connections up down".
proxy_bytes() {
  local from=$1 opened closed
  for _ in $(seq 100); do
    opened=$(tail -n +"$from" "$d/proxy.log" | grep -c '^open ' || true)
    closed=$(tail -n +"$from" "$d/proxy.log" | grep -c '^{' || true)
    [ "$opened" = "$closed" ] && break
    sleep 0.05
  done
  tail -n +"$from" "$d/proxy.log" | python3 -c "
import json, sys
c = [json.loads(l) for l in sys.stdin if l.startswith('{')]
print(len(c), sum(x['up'] for x in c), sum(x['down'] for x in c))"
}

verify_once() { # lockfile url report -> appends the wall time to report.times
  local t0 code
  t0=$(now)
  code=0
  "${@:4}" "$bin/gatelog" verify --lockfile "$1" --log "$2" --log-key "$vkey" \
    --registry-key "$registry_key" --registry "$registry" --no-state --format json \
    >"$3.json" 2>"$3.err" || code=$?
  elapsed "$t0" >>"$3.times"
  local verified
  verified=$(python3 -c "import json; print(json.load(open('$3.json'))['counts']['verified'])" 2>/dev/null || echo 0)
  echo "$code $verified" >>"$3.outcomes"
}

rows="$d/rows.jsonl"
: >"$rows"
cases=()
for n in $lockfiles; do for fmt in $formats; do cases+=("newest $fmt $n"); done; done
for n in $oldest; do cases+=("oldest npm $n"); done
for c in "${cases[@]}"; do
  read -r pick fmt n <<<"$c"
  if [ "$n" -gt "$packages" ] || [ "$n" -gt "$loaded" ]; then
    log "    $pick $fmt $n: skipped (the log holds $loaded releases of $packages packages)"
    continue
  fi
  (
    case "$fmt" in
      npm) name=package-lock.json ;; pnpm) name=pnpm-lock.yaml ;; bun) name=bun.lock ;; *) name=yarn.lock ;;
    esac
    mkdir -p "$d/lock/$pick-$fmt-$n"
    lock="$d/lock/$pick-$fmt-$n/$name"
    # The newest release of a package is one of the last $packages loaded.
    from_release=$first_release
    [ "$pick" = newest ] && from_release=$((first_release + loaded - n))
    python3 scripts/bench-lockfile.py "$fmt" "$n" "$from_release" "$packages" >"$lock"
    r="$d/run-$pick-$fmt-$n"
    rm -f "$r".*.times "$r".*.outcomes
    for _ in $(seq "$runs"); do
      verify_once "$lock" "$loop_url" "$r.loopback" "${in_ns[@]}"
      from=$(($(wc -l <"$d/proxy.log") + 1))
      verify_once "$lock" "$link_url" "$r.link"
      proxy_bytes "$from" >>"$r.link.bytes"
    done
    python3 - "$r" "$fmt" "$n" "$(wc -c <"$lock")" "$pick" >>"$rows" <<'PY'
import json, sys
r, fmt, n, lock_bytes, pick = sys.argv[1:6]
times = lambda p: [float(t) for t in open(f"{r}.{p}.times").read().split()]
outcomes = lambda p: [l.split() for l in open(f"{r}.{p}.outcomes") if l.strip()]
bytes_ = [list(map(int, l.split())) for l in open(f"{r}.link.bytes") if l.strip()]
ok = all(o == ["0", n] for p in ("loopback", "link") for o in outcomes(p))
print(json.dumps({"format": fmt, "packages": int(n), "releases": pick, "lockfile_bytes": int(lock_bytes),
                  "loopback_s": times("loopback"), "link_s": times("link"),
                  "connections": max(b[0] for b in bytes_), "up_bytes": max(b[1] for b in bytes_),
                  "down_bytes": max(b[2] for b in bytes_), "all_verified": ok,
                  "outcomes": {p: outcomes(p) for p in ("loopback", "link")}}))
PY
    log "    $(python3 -c "
import json, statistics as s
r = [json.loads(l) for l in open('$rows')][-1]
f = lambda v: f\"{min(v):.2f}–{s.median(v):.2f}–{max(v):.2f} s\"
print(f\"{r['releases']} {r['format']:<12} {r['packages']:>6,} packages: loopback {f(r['loopback_s'])}, link {f(r['link_s'])}, \"
      f\"{r['down_bytes']:,} bytes down / {r['up_bytes']:,} up in {r['connections']} connection(s)\"
      + ('' if r['all_verified'] else ' — NOT ALL VERIFIED, see $r.*'))")"
  )
done

python3 - "$d" "$size" "$runs" <<'PY'
import json, sys
d, size, runs = sys.argv[1:4]
rows = [json.loads(l) for l in open(f"{d}/rows.jsonl") if l.strip()]
load = open("/proc/loadavg").read().split()[:3]
json.dump({"size": int(size), "runs": int(runs), "emulation": json.load(open(f"{d}/emulation.json")),
           "load_average": " ".join(load), "rows": rows}, open(f"{d}/results.json", "w"), indent=1)
PY
log "link: done (load average $(cut -d' ' -f1-3 /proc/loadavg)); $d/results.json"
