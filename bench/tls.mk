# TLS benchmarks (issue 17): bench/tls_bench.c (C) and bench/tls/tls_py.py (Python:
# sockrt.tls vs the ssl module) and bench/tls/TlsBench.java (Java: SockrtTlsSocket vs
# JSSE), all clients of one libsockrt TLS server; ratios measured in one run.
#
#   make bench-tls               full run (QUICK=1: shorter); results in build/bench/tls-results.txt
#                              (make bench-publish copies them to bench/results/tls-latest.txt)
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

TLS_QUICK = $(if $(filter 1 yes true,$(QUICK)),quick)

bench-tls: lib $(TLS_BENCH) $(TLS_BENCH_PKI)/done $(if $(PYTHON_RUN),python-env) $(if $(JAVA_RUN),java)
	@mkdir -p $(BUILD_DIR)/bench/tls-java
	$(if $(JAVA_RUN),javac -Xlint:all -Werror -cp $(JAVA_JAR) -d $(BUILD_DIR)/bench/tls-java bench/tls/TlsBench.java)
	(timeout 900 $(TLS_BENCH) $(TLS_BENCH_PKI) $(TLS_QUICK) && \
	 $(if $(PYTHON_RUN),timeout 600 env $(PYTHON_RUN) bench/tls/tls_py.py $(TLS_BENCH) $(TLS_BENCH_PKI) $(TLS_QUICK) &&) \
	 $(if $(JAVA_RUN),timeout 600 $(JAVA_RUN):$(BUILD_DIR)/bench/tls-java TlsBench $(TLS_BENCH) $(TLS_BENCH_PKI) $(TLS_QUICK) &&) \
	 true) | tee $(BUILD_DIR)/bench/tls-results.txt

test-bench-tls-smoke: lib $(TLS_BENCH) $(TLS_BENCH_PKI)/done
	timeout 120 $(TLS_BENCH) $(TLS_BENCH_PKI) smoke

bench: bench-tls
TEST_TARGETS += test-bench-tls-smoke

# The TLS figures join the published results when a full run made them.
bench-publish: bench-publish-tls
.PHONY: bench-publish-tls
bench-publish-tls:
	@if [ -f $(BUILD_DIR)/bench/tls-results.txt ]; then \
		mkdir -p bench/results && cp $(BUILD_DIR)/bench/tls-results.txt bench/results/tls-latest.txt; fi
