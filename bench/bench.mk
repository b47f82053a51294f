# Benchmarks: `make bench` (QUICK=1 or BENCH_QUICK=1 for a short run),
# `make test-bench-smoke` (the C clients with tiny counts; part of make test).
# The runner is bench/run.py (Python 3, standard library only).

BENCH_OUT   := $(BUILD_DIR)/bench
BENCH_C     := peer_server raw_client sockrt_client sockrt_server pool_contended
BENCH_BINS  := $(addprefix $(BENCH_OUT)/,$(BENCH_C))
BENCH_PY    ?= python3
BENCH_ARGS  ?=
BENCH_QUICK ?= $(QUICK)

.PHONY: bench bench-c test-bench-smoke

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
	@mkdir -p bench/results
	cp $(BENCH_OUT)/results.json bench/results/latest.json
	cp $(BENCH_OUT)/results.md bench/results/latest.md
	cp $(BENCH_OUT)/results.svg bench/results/latest.svg
	@echo "results: bench/results/latest.{json,md,svg} (commit them with the README's figures)"

test-bench-smoke: bench-c
	$(BENCH_PY) bench/run.py --smoke --bin-dir $(BENCH_OUT) --out-dir $(BENCH_OUT)/smoke

TEST_TARGETS += test-bench-smoke
