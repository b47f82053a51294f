# TLS benchmarks (issue 17): bench/tls_bench.c (C) and bench/tls_py.py (Python:
# sockrt.tls vs the ssl module to the same server), ratios measured in one run.
#
#   make bench-tls               full run (QUICK=1: shorter); results in bench/results/tls-latest.txt
#   make test-bench-tls-smoke    tiny counts (part of make test)
#
# `make bench` runs it too.

TLS_BENCH     := $(BUILD_DIR)/bench/tls_bench
TLS_BENCH_PKI := $(BUILD_DIR)/bench/tls-pki

.PHONY: bench-tls test-bench-tls-smoke

$(TLS_BENCH): bench/tls_bench.c tests/c/check.h include/sockrt.h | lib
	@mkdir -p $(dir $@)
	$(CC) $(STRICT_CFLAGS) -o $@ $< $(SOCKRT_LDFLAGS)

$(TLS_BENCH_PKI)/done: tests/tls/make_certs.sh | tls-tools
	sh tests/tls/make_certs.sh $(TLS_BENCH_PKI)

bench-tls: lib $(TLS_BENCH) $(TLS_BENCH_PKI)/done $(if $(PYTHON_RUN),python-env)
	@mkdir -p bench/results
	(timeout 900 $(TLS_BENCH) $(TLS_BENCH_PKI) $(if $(filter 1 yes true,$(QUICK)),quick) && \
	 $(if $(PYTHON_RUN),timeout 600 env $(PYTHON_RUN) bench/tls_py.py $(TLS_BENCH) $(TLS_BENCH_PKI) \
		$(if $(filter 1 yes true,$(QUICK)),quick),true)) | tee bench/results/tls-latest.txt

test-bench-tls-smoke: lib $(TLS_BENCH) $(TLS_BENCH_PKI)/done
	timeout 120 $(TLS_BENCH) $(TLS_BENCH_PKI) smoke

bench: bench-tls
TEST_TARGETS += test-bench-tls-smoke
