# Fuzzing the C ABI (fuzz/harness.rs, fuzz/fuzz_targets/abi.rs).
#
#   make fuzz                 run the fuzzer for FUZZ_SECONDS (default 60)
#
# New inputs go to $(BUILD_DIR)/fuzz/corpus (the committed seeds in
# fuzz/corpus/abi are read, never written); crashes go to
# $(BUILD_DIR)/fuzz/artifacts. The committed corpus is replayed by
# `make test` through tests/fuzz_replay.rs (test-reliability).

FUZZ_SECONDS ?= 60
FUZZ_DIR     := $(BUILD_DIR)/fuzz

.PHONY: fuzz fuzz-tools

# cargo-fuzz needs the nightly toolchain; both are installed only if missing.
fuzz-tools:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz

fuzz: fuzz-tools
	@mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/artifacts
	cd $(TOP)/fuzz && cargo +nightly fuzz run --target-dir $(FUZZ_DIR)/target abi \
		$(FUZZ_DIR)/corpus $(TOP)/fuzz/corpus/abi -- \
		-max_total_time=$(FUZZ_SECONDS) -timeout=20 -rss_limit_mb=4096 \
		-artifact_prefix=$(FUZZ_DIR)/artifacts/ -print_final_stats=1
