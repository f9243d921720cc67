#!/usr/bin/env bash
# Runs every fuzz target (or the ones named after SECONDS) for SECONDS each
# (default 60) with cargo-fuzz and libFuzzer, one after the other, niced so
# other work on the machine is not starved. cargo-fuzz wants nightly-only
# rustc flags; RUSTC_BOOTSTRAP lets the stable toolchain accept them.
#
# Corpora grow in fuzz/corpus/<target> (not committed; seeds in
# fuzz/seeds/<target> are), crashes land in fuzz/artifacts/<target>.
# At the end a table per target: CPU seconds, executions, corpus files,
# crashes (logs in fuzz/logs, or FUZZ_LOGS). Exits non-zero if any target
# crashed.
#
#   scripts/fuzz-run.sh 300                 # every target, 5 minutes each
#   scripts/fuzz-run.sh 60 values lockfile  # two targets
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz)
fi
nice -n 10 cargo fuzz build --fuzz-dir fuzz
logs="${FUZZ_LOGS:-fuzz/logs}"
mkdir -p "$logs"
summary="| target | CPU s | executions | corpus files | crashes |\n| --- | ---: | ---: | ---: | ---: |\n"
failed=0
for target in "${targets[@]}"; do
  echo "==> fuzz $target for ${seconds}s"
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  seeds=()
  [ -d "fuzz/seeds/$target" ] && seeds=("fuzz/seeds/$target")
  before=$(find "fuzz/artifacts/$target" -type f | wc -l)
  status=0
  /usr/bin/time -f "cpu_seconds=%U+%S" -o "$logs/$target.time" \
    nice -n 10 cargo fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" "${seeds[@]}" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    >"$logs/$target.log" 2>&1 || status=$?
  grep -E "^(stat::|#[0-9]+ *DONE|==|SUMMARY|Done)" "$logs/$target.log" || true
  cpu=$(sed -n 's/^cpu_seconds=//p' "$logs/$target.time" | bc)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$target.log" | tail -1)
  corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
  crashes=$(($(find "fuzz/artifacts/$target" -type f | wc -l) - before))
  if [ "$status" -ne 0 ]; then
    failed=1
    echo "!! $target failed (exit $status); see $logs/$target.log"
  fi
  summary+="| $target | $cpu | ${execs:-?} | $corpus | $crashes |\n"
done
printf "\n%b" "$summary"
exit "$failed"
