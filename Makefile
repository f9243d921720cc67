# The entry points a new user needs. Each target first installs missing
# build prerequisites (scripts/prereqs.sh), then builds and runs.
#
#   make demo   see gatelog at work: a local log and monitor, the attacks of
#               2026, two lockfiles verified, the real npm CLI through
#               gatelog-registry (data in ./demo-data)
#   make serve  run the log server (RocksDB in ./gatelog-data)
#   make test   run the whole test suite
#   make bench  run the benchmarks (microbenchmarks and peers, durable
#               ingest, client, monitor, scaling at 100 k and 1 M entries)
#               and regenerate docs/benchmarks-latest.md and docs/scaling.svg
#   make bench-scaling  the same scaling measurements at 10 M and 100 M
#               entries (each only if the disk keeps 15 GB free)
#   make bench-witness  the latency witness cosigning adds to checkpoints
#   make bench-ed25519  Ed25519 verifiers side by side (dalek strict, ring,
#               aws-lc-rs, batch) under each curve25519-dalek backend
#   make fuzz   run every fuzz target for FUZZ_SECONDS each
#   make soak   steady load for SOAK_MINUTES on a release build, with the
#               monitor following; checks memory, lag, errors and the
#               stored state (docs/reliability.md)
#   make crash-loop  kill -9 the server under load CRASH_ROUNDS times (default 50)

CARGO ?= cargo
FUZZ_SECONDS ?= 60
SOAK_MINUTES ?= 30
CRASH_ROUNDS ?= 50

.PHONY: prereqs tools demo serve test bench bench-scaling bench-witness bench-ed25519 fuzz soak crash-loop

prereqs:
	@scripts/prereqs.sh

# The real package-manager CLIs the tests drive, pinned, in tools/.
tools:
	@scripts/tools.sh

# The debug profile on purpose: CI builds only that one, so RocksDB is
# compiled once. `gatelog-lab demo` runs the server, monitor, registry and
# client built next to it, and the npm CLI of tools/ for its registry
# chapter (scripts/tools.sh returns at once when it is installed; without
# Node.js the demo skips that chapter and says so).
demo: prereqs
	@scripts/tools.sh || echo "note: the pinned npm CLI is not installed (above), so the demo skips its registry chapter"
	$(CARGO) build --bins
	$(CARGO) run -q -p gatelog-lab -- demo

serve: prereqs
	$(CARGO) run -p gatelog-server -- --data ./gatelog-data

test: prereqs tools
	@scripts/prereqs.sh test
	$(CARGO) test --workspace --no-fail-fast

# scripts/bench.sh documents its knobs (BENCH_OUT, BENCH_QUICK=1, ...).
bench: prereqs
	@scripts/prereqs.sh bench
	BENCH_COMMAND="make bench" scripts/bench.sh

bench-scaling: prereqs
	@scripts/prereqs.sh bench
	BENCH_COMMAND="make bench-scaling" BENCH_STEPS=scaling \
	  BENCH_SIZES="$${BENCH_SIZES:-10000000 100000000}" scripts/bench.sh

# What witness cosigning costs (docs/benchmarks.md "Witness cosigning").
bench-witness: prereqs
	@scripts/prereqs.sh bench
	scripts/bench-witness.sh

# Is verify_strict the floor? (docs/benchmarks.md "Is 67 µs the floor?").
# One release build per backend in $(CARGO_TARGET_DIR)/ed25519-<backend>.
bench-ed25519: prereqs
	@scripts/prereqs.sh bench
	scripts/bench-ed25519.sh

fuzz: prereqs
	scripts/fuzz-run.sh $(FUZZ_SECONDS)

soak: prereqs
	scripts/soak.sh $(SOAK_MINUTES)

# The long version of tests/crash.rs (CI runs 6 rounds); prints a summary.
crash-loop: prereqs
	$(CARGO) build --bins
	GATELOG_CRASH_ROUNDS=$(CRASH_ROUNDS) $(CARGO) test -p gatelog-e2e --test crash -- --nocapture
