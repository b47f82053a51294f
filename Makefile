# libsockrt — build, test, demo, bench, install.
#
#   make build     the library (target/release/libsockrt.{so,a})
#   make header    regenerate the committed include/sockrt.h from src/ffi
#   make test      every test suite: Rust, C, Python, Java, examples (installs what it lacks)
#   make demo      build everything and run the cross-language demo
#   make bench     benchmarks against raw C sockets, Python's socket, Java's Socket
#   make install   PREFIX=/usr/local DESTDIR= PC_RPATH=: library, soname links, header, sockrt.pc
#
# Language bindings, examples and benchmarks add their own targets through
# the *.mk fragments included at the end; each appends to TEST_TARGETS.

VERSION    := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
SOVERSION  := $(firstword $(subst ., ,$(VERSION)))
CARGO      ?= cargo
CC         ?= cc
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DESTDIR    ?=

TOP        := $(abspath .)
RUST_OUT   := $(TOP)/target/release
LIB_SO     := $(RUST_OUT)/libsockrt.so
BUILD_DIR  := $(TOP)/build
STRICT_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g -pthread -I$(TOP)/include
# Programs built in the tree find the library without installing it.
SOCKRT_LDFLAGS := -L$(RUST_OUT) -Wl,-rpath,$(RUST_OUT) -lsockrt -pthread

TEST_TARGETS :=
.DEFAULT_GOAL := build

# Fragments: bindings/python/python.mk, bindings/java/java.mk, examples/*.mk, ...
-include $(sort $(wildcard bindings/*/*.mk examples/*.mk examples/*/*.mk bench/*.mk fuzz/*.mk tests/*.mk tests/*/*.mk))

.PHONY: all build lib test test-suites test-rust test-c test-loom check-header header lint rust-tools install uninstall clean
all: build

build: lib

# cargo decides what is stale; the soname link lets programs linked with
# -lsockrt run from the build tree.
lib:
	$(CARGO) build --release
	ln -sf libsockrt.so $(RUST_OUT)/libsockrt.so.$(SOVERSION)

$(LIB_SO): lib

# The lint and the header check first; then every suite, TEST_JOBS at a time
# (2 by default: most suites wait on sockets, JVMs and timeouts rather than
# the CPU), each suite's output printed together when it ends. TEST_JOBS=1
# runs them one after another.
TEST_JOBS ?= 2
test: lint check-header
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) --output-sync=target test-suites
	@echo "make test: all suites passed"

test-suites: test-loom test-rust test-c $(TEST_TARGETS)

# The committed header against what cbindgen generates from src/ffi (build.rs
# writes it to OUT_DIR only); `make header` updates the committed copy.
check-header: lib
	sh tests/header/check.sh

header:
	sh tests/header/check.sh --update

test-rust: lib
	+$(CARGO) test --release

# Model checks of the handle table, the close-wake protocol and the pool's
# slot accounting: the crate built with loom's locks and atomics, in its own
# target directory (so neither build invalidates the other).
test-loom:
	+RUSTFLAGS="--cfg loom" $(CARGO) test --release --test loom --target-dir $(BUILD_DIR)/loom

C_TESTS := $(patsubst tests/c/%.c,$(BUILD_DIR)/tests/c/%,$(wildcard tests/c/test_*.c))

$(BUILD_DIR)/tests/c/%: tests/c/%.c tests/c/check.h include/sockrt.h | lib
	@mkdir -p $(dir $@)
	$(CC) $(STRICT_CFLAGS) -o $@ $< $(SOCKRT_LDFLAGS)

test-c: lib $(C_TESTS)
	@set -e; for t in $(C_TESTS); do echo "== $$t"; timeout 120 $$t; done

lint: rust-tools
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings
	python3 tests/check_layers.py

# rustfmt and clippy: added with rustup when it is there, else named.
rust-tools:
	@missing=""; \
	$(CARGO) fmt --version >/dev/null 2>&1 || missing="$$missing rustfmt"; \
	$(CARGO) clippy --version >/dev/null 2>&1 || missing="$$missing clippy"; \
	if [ -n "$$missing" ]; then \
		if command -v rustup >/dev/null 2>&1; then \
			echo "rustup component add$$missing"; rustup component add $$missing; \
		else \
			echo "make: the Rust toolchain lacks$$missing (make lint needs rustfmt and clippy): install them with your toolchain"; exit 1; \
		fi; \
	fi

# /usr and /usr/local are on the loader's path once ldconfig has run, and
# `make install` runs it there (DESTDIR empty, as root). Any other prefix is
# not: its sockrt.pc puts an rpath in Libs, so programs built with
# `pkg-config --libs sockrt` find the library. PC_RPATH= (empty) or
# PC_RPATH=-Wl,-rpath,DIR overrides.
LOADER_PREFIX := $(filter /usr /usr/local,$(PREFIX))
PC_RPATH      ?= $(if $(LOADER_PREFIX),,-Wl,-rpath,$${libdir})

install: lib
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 0755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libsockrt.so.$(VERSION)
	ln -sf libsockrt.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libsockrt.so.$(SOVERSION)
	ln -sf libsockrt.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libsockrt.so
	install -m 0644 $(RUST_OUT)/libsockrt.a $(DESTDIR)$(LIBDIR)/libsockrt.a
	install -m 0644 include/sockrt.h $(DESTDIR)$(INCLUDEDIR)/sockrt.h
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|; s|@VERSION@|$(VERSION)|' \
		-e 's|@RPATH@|$(PC_RPATH)|; s| *$$||' sockrt.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/sockrt.pc
	@if [ -z "$(DESTDIR)" ] && [ -n "$(LOADER_PREFIX)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
		echo "ldconfig"; ldconfig; \
	elif [ -z "$(LOADER_PREFIX)" ]; then \
		echo "$(LIBDIR) is not on the loader's path: $(if $(PC_RPATH),sockrt.pc's Libs add an rpath to it,run programs with LD_LIBRARY_PATH=$(LIBDIR))"; \
	fi

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libsockrt.so* $(DESTDIR)$(LIBDIR)/libsockrt.a \
	      $(DESTDIR)$(INCLUDEDIR)/sockrt.h $(DESTDIR)$(LIBDIR)/pkgconfig/sockrt.pc

clean:
	$(CARGO) clean
	rm -rf $(BUILD_DIR)

