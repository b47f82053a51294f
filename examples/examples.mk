# C examples, the cross-language demo, and their tests (included by the
# top-level Makefile).
#
#   make examples-c            build the C examples into build/examples/c/
#   make demo                  build everything and run the 3x3 echo matrix
#   make test-demo             the demo as a test (part of `make test`)
#   make test-examples-c       the C examples compile against an installed
#                              copy through pkg-config (part of `make test`)
#   make test-demo-driver      the driver's own tests, with stand-in programs

EXAMPLES_C_NAMES := echo_server echo_client pool_client udp_echo
EXAMPLES_C_DIR   := $(BUILD_DIR)/examples/c
EXAMPLES_C_BINS  := $(addprefix $(EXAMPLES_C_DIR)/,$(EXAMPLES_C_NAMES))
PYTHON3          ?= python3

.PHONY: examples-c demo test-demo test-examples-c test-demo-driver

examples-c: $(EXAMPLES_C_BINS)

$(EXAMPLES_C_DIR)/%: examples/c/%.c examples/c/common.h include/sockrt.h | lib
	@mkdir -p $(dir $@)
	$(CC) $(STRICT_CFLAGS) -o $@ $< $(SOCKRT_LDFLAGS)

# ---- demo -----------------------------------------------------------------
# The driver gets every command from here. A program whose binding or example
# is not in the tree gets an empty command: the demo reports its cells as
# MISSING and fails.
demo_python = $(if $(and $(PYTHON_RUN),$(wildcard examples/python/$(1))),$(PYTHON_RUN) $(TOP)/examples/python/$(1))
demo_java   = $(if $(and $(JAVA_RUN),$(wildcard examples/java/EchoDemo.java)),$(JAVA_RUN) EchoDemo $(1))

DEMO_DEPS := lib examples-c \
	$(if $(wildcard bindings/python/python.mk),python-env) \
	$(if $(wildcard bindings/java/java.mk),java)

demo: export DEMO_C_SERVER      = $(EXAMPLES_C_DIR)/echo_server
demo: export DEMO_C_CLIENT      = $(EXAMPLES_C_DIR)/echo_client
demo: export DEMO_C_POOL        = $(EXAMPLES_C_DIR)/pool_client
demo: export DEMO_C_UDP         = $(EXAMPLES_C_DIR)/udp_echo
demo: export DEMO_PYTHON_SERVER = $(call demo_python,echo_server.py)
demo: export DEMO_PYTHON_CLIENT = $(call demo_python,echo_client.py)
demo: export DEMO_PYTHON_POOL   = $(call demo_python,pool_client.py)
demo: export DEMO_JAVA_SERVER   = $(call demo_java,server)
demo: export DEMO_JAVA_CLIENT   = $(call demo_java,client)
demo: export DEMO_JAVA_POOL     = $(call demo_java,pool)

demo: $(DEMO_DEPS)
	$(PYTHON3) examples/demo/demo.py
	$(if $(wildcard examples/realtime/realtime.mk),@$(MAKE) --no-print-directory realtime-demo)

# ---- tests ----------------------------------------------------------------
# A broken example in any language fails the demo, and so `make test`.
test-demo: demo

# Install into a scratch prefix and build every C example the way the README
# tells users to: cc -Wall -Wextra -Werror $(pkg-config --cflags --libs sockrt).
# Each program is then run once with no arguments and no LD_LIBRARY_PATH: it
# must find the installed library through the rpath sockrt.pc gives a
# prefix outside the loader's path, and answer with its usage (exit status 2).
test-examples-c: lib
	@command -v pkg-config >/dev/null || { echo "test-examples-c: pkg-config is missing (apt-get install pkg-config)"; exit 1; }
	@set -e; scratch=$$(mktemp -d); trap 'rm -rf "$$scratch"' EXIT; \
	$(MAKE) --no-print-directory install PREFIX="$$scratch" >/dev/null; \
	export PKG_CONFIG_PATH="$$scratch/lib/pkgconfig"; \
	for name in $(EXAMPLES_C_NAMES); do \
		echo "cc -Wall -Wextra -Werror examples/c/$$name.c \$$(pkg-config --cflags --libs sockrt)"; \
		$(CC) -Wall -Wextra -Werror -o "$$scratch/$$name" examples/c/$$name.c $$(pkg-config --cflags --libs sockrt); \
		status=0; env -u LD_LIBRARY_PATH "$$scratch/$$name" >/dev/null 2>&1 || status=$$?; \
		if [ $$status -ne 2 ]; then echo "test-examples-c: $$name exited $$status, expected its usage (2)"; exit 1; fi; \
	done; \
	echo "test-examples-c: $(words $(EXAMPLES_C_NAMES)) examples built with pkg-config and run"

# The driver must fail on a missing, lying or crashing program and stop every
# server it started, even one that ignores SIGTERM.
test-demo-driver:
	timeout 120 $(PYTHON3) examples/demo/test_demo.py

TEST_TARGETS += test-examples-c test-demo-driver test-demo
