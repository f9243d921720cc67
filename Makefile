# The entry points a new user needs. Each target first installs missing
# build prerequisites (scripts/prereqs.sh), then builds and runs.
#
#   make demo   see gatelog at work: a local log and monitor, the attacks of
#               2026, two lockfiles verified (data in ./demo-data)
#   make serve  run the log server (RocksDB in ./gatelog-data)
#   make test   run the whole test suite
#   make bench  run the benchmarks (microbenchmarks, then durable ingest)
#   make fuzz   run every fuzz target for FUZZ_SECONDS each
#   make soak   steady load for SOAK_MINUTES on a release build, with the
#               monitor following; checks memory, lag, errors and the
#               stored state (docs/reliability.md)
#   make crash-loop  kill -9 the server under load CRASH_ROUNDS times (default 50)

CARGO ?= cargo
FUZZ_SECONDS ?= 60
SOAK_MINUTES ?= 30
CRASH_ROUNDS ?= 50

.PHONY: prereqs demo serve test bench fuzz soak crash-loop

prereqs:
	@scripts/prereqs.sh

# The debug profile on purpose: CI builds only that one, so RocksDB is
# compiled once. `gatelog demo` runs the server and monitor built next to it.
demo: prereqs
	$(CARGO) build --bins
	$(CARGO) run -q -p gatelog-client -- demo

serve: prereqs
	$(CARGO) run -p gatelog-server -- --data ./gatelog-data

test: prereqs
	$(CARGO) test --workspace --no-fail-fast

bench: prereqs
	$(CARGO) bench -p gatelog-core
	scripts/bench-ingest.sh

fuzz: prereqs
	scripts/fuzz-run.sh $(FUZZ_SECONDS)

soak: prereqs
	scripts/soak.sh $(SOAK_MINUTES)

# The long version of tests/crash.rs (CI runs 6 rounds); prints a summary.
crash-loop: prereqs
	$(CARGO) build --bins
	GATELOG_CRASH_ROUNDS=$(CRASH_ROUNDS) $(CARGO) test -p gatelog-e2e --test crash -- --nocapture
