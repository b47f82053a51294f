# examples/realtime: polling, long polling, SSE and WebSocket on libsockrt.
#
#   make test-realtime    lint, then the server tests and the headless Chromium test
#   make realtime-demo    measure the four techniques for a few seconds and print the table
#                         (also writes $(BUILD_DIR)/realtime/results.md and chart.svg)
#   make realtime-serve   run the demo server on 127.0.0.1:8080 (open http://127.0.0.1:8080/)
#   make realtime-bench   thousands of subscribers on the sockrt server and its asyncio peer
#
# Needs python-env from bindings/python/python.mk. The browser test needs
# Debian's chromium package: realtime-chromium installs it when missing and
# the machine allows it (root and apt-get); otherwise the test is SKIPPED loudly.

REALTIME_DIR := $(TOP)/examples/realtime
REALTIME_OUT := $(BUILD_DIR)/realtime

.PHONY: test-realtime realtime-demo realtime-serve realtime-chromium

realtime-chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "realtime: installing chromium for the headless browser test"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q chromium >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || \
		echo "*** realtime: chromium could not be installed: the browser test will be SKIPPED ***"; \
	else \
		echo "*** realtime: chromium is missing and cannot be installed here (needs root and apt-get):" \
		     "the browser test will be SKIPPED ***"; \
	fi

test-realtime: lib python-env realtime-chromium
	$(PY_VENV)/bin/ruff check $(REALTIME_DIR)
	cd $(REALTIME_DIR) && timeout 180 env REALTIME_OUT=$(REALTIME_OUT) \
		$(PYTHON_RUN) -m pytest -q -rs -p no:cacheprovider --timeout=30 tests

realtime-demo: lib python-env
	cd $(REALTIME_DIR) && timeout 60 env $(PYTHON_RUN) measure.py --out $(REALTIME_OUT)

realtime-serve: lib python-env
	cd $(REALTIME_DIR) && $(PYTHON_RUN) server.py

TEST_TARGETS += test-realtime

# make realtime-bench: N = 1,000, 5,000, 10,000 SSE and WebSocket subscribers
# on the sockrt server and on its asyncio peer (bench/asyncio_server.py), 20
# events at 10/s, driven by bench/loadclient.c (one epoll loop in C), plus
# the faults at scale (1,000 slow-loris connections; 5,000 connects past the
# cap). Writes $(REALTIME_OUT)/bench/{bench.md,bench.json,bench.svg}.
REALTIME_LOADCLIENT := $(REALTIME_OUT)/loadclient
REALTIME_BENCH_ARGS ?=

.PHONY: realtime-bench

$(REALTIME_LOADCLIENT): $(REALTIME_DIR)/bench/loadclient.c
	@mkdir -p $(dir $@)
	$(CC) $(STRICT_CFLAGS) -o $@ $<

realtime-bench: lib python-env $(REALTIME_LOADCLIENT)
	cd $(REALTIME_DIR) && timeout 900 env $(PYTHON_RUN) bench/realtime_bench.py \
		--loadclient $(REALTIME_LOADCLIENT) --out $(REALTIME_OUT)/bench $(REALTIME_BENCH_ARGS)
