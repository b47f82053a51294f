# Reliability suites (issue 7).
#
#   make test-reliability   fault-injection tests and the fuzz corpus replay alone
#                           (make test runs them once, in test-rust's `cargo test`)
#   make check-memory       C tests under valgrind memcheck; Rust tests under AddressSanitizer
#   make soak               bounded soak and scale runs (not part of make test)

.PHONY: test-reliability check-memory check-memory-valgrind check-memory-asan soak

test-reliability:
	$(CARGO) test --release --test faults --test fuzz_replay

# ---- memory checking --------------------------------------------------------

VALGRIND_FLAGS := --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --track-fds=no --suppressions=$(TOP)/tests/valgrind.supp
ASAN_TARGET    := x86_64-unknown-linux-gnu

check-memory: check-memory-valgrind check-memory-asan

# valgrind comes from the distribution; installed only if missing.
check-memory-valgrind: test-c
	@command -v valgrind >/dev/null || (apt-get update -qq && apt-get install -y -qq valgrind)
	@set -e; for t in $(C_TESTS); do \
		echo "== valgrind $$t"; \
		timeout 900 valgrind $(VALGRIND_FLAGS) --log-file=$$t.valgrind.log $$t; \
		grep -E "ERROR SUMMARY|definitely lost" $$t.valgrind.log; \
	done

# The Rust tests (unit and integration) built with AddressSanitizer on the
# nightly toolchain, in their own target directory.
check-memory-asan:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	RUSTFLAGS="-Zsanitizer=address" ASAN_OPTIONS="detect_leaks=1" \
		$(CARGO) +nightly test --target $(ASAN_TARGET) --target-dir $(BUILD_DIR)/asan \
		--no-fail-fast --lib --tests

# ---- soak and scale -----------------------------------------------------------

SOAK_TARGET := $(BUILD_DIR)/soak-target

soak:
	cd $(TOP)/tests/soak && $(CARGO) build --release --target-dir $(SOAK_TARGET)
	$(SOAK_TARGET)/release/sockrt-soak
