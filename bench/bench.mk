# Benchmarks: `make bench` (QUICK=1 or BENCH_QUICK=1 for a short run) writes
# build/bench/results.{json,md,svg} and nothing else; `make bench-publish`
# copies a full run's results to the tracked bench/results/latest.* (the
# README's figures) and refuses a quick one. `make test-bench-smoke`: the C
# clients with tiny counts (part of make test).
# The runner is bench/run.py (Python 3, standard library only).

BENCH_OUT   := $(BUILD_DIR)/bench
BENCH_C     := peer_server raw_client sockrt_client sockrt_server pool_contended
BENCH_BINS  := $(addprefix $(BENCH_OUT)/,$(BENCH_C))
BENCH_PY    ?= python3
BENCH_ARGS  ?=
BENCH_QUICK ?= $(QUICK)

.PHONY: bench bench-c bench-publish test-bench-smoke

$(BENCH_OUT)/%: bench/%.c bench/bench_common.h include/sockrt.h | lib
	@mkdir -p $(dir $@)
	$(CC) $(STRICT_CFLAGS) -o $@ $< $(SOCKRT_LDFLAGS)

bench-c: lib $(BENCH_BINS)

# The Python and Java fragments are read after this one, so whether a
# binding exists is decided when the recipe runs, not when it is parsed.
bench: bench-c
	$(if $(PYTHON_RUN),$(MAKE) --no-print-directory python-env)
	$(if $(JAVA_RUN),$(MAKE) --no-print-directory java)
	$(BENCH_PY) bench/run.py --bin-dir $(BENCH_OUT) --out-dir $(BENCH_OUT) \
		$(if $(filter 1 yes true,$(BENCH_QUICK)),--quick) \
		--python-run '$(PYTHON_RUN)' --java-run '$(JAVA_RUN)' \
		--javac '$(or $(JAVAC),javac)' $(BENCH_ARGS)
	@echo "results: $(BENCH_OUT)/results.{json,md,svg}; make bench-publish copies a full run to bench/results/"

# Publishes the last `make bench` (it must have been a full run).
bench-publish:
	@test -f $(BENCH_OUT)/results.json || { echo "bench-publish: no results: run make bench first"; exit 1; }
	@$(BENCH_PY) -c 'import json, sys; m = json.load(open(sys.argv[1]))["meta"]["mode"]; \
		sys.exit(0 if m == "full" else "bench-publish: the last make bench was a %s run; publish only a full one" % m)' \
		$(BENCH_OUT)/results.json
	@mkdir -p bench/results
	cp $(BENCH_OUT)/results.json bench/results/latest.json
	cp $(BENCH_OUT)/results.md bench/results/latest.md
	cp $(BENCH_OUT)/results.svg bench/results/latest.svg
	@echo "results: bench/results/latest.{json,md,svg} (commit them with the README's figures)"

test-bench-smoke: bench-c
	$(BENCH_PY) bench/run.py --smoke --bin-dir $(BENCH_OUT) --out-dir $(BENCH_OUT)/smoke

TEST_TARGETS += test-bench-smoke
