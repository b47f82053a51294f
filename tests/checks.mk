# Checks of the build itself (included by the top-level Makefile).
#
#   make check-msrv          rust-version in Cargo.toml is what the locked crates need,
#                            and that toolchain builds the crate (tests/msrv/check.py)
#   make test-header-proof   the header check fails on a stale header: a scratch copy
#                            with one doc comment edited (tests/header/proof.sh)

.PHONY: check-msrv test-header-proof

check-msrv:
	+python3 tests/msrv/check.py $(BUILD_DIR)/msrv

test-header-proof: lib
	+sh tests/header/proof.sh $(BUILD_DIR)/header-proof

TEST_TARGETS += check-msrv test-header-proof

# EchoDemo's server ends quietly on SIGTERM (needs the Java binding).
.PHONY: test-echodemo-sigterm
test-echodemo-sigterm: java
	timeout 120 bash tests/echodemo_sigterm.sh $(JAVA_RUN)

TEST_TARGETS += $(if $(wildcard bindings/java/java.mk),test-echodemo-sigterm)

# ruff over the Python of these checks and of the README checker.
.PHONY: lint-check-scripts
lint-check-scripts: python-env
	$(PY_VENV)/bin/ruff check --line-length 100 $(TOP)/tests/msrv/check.py $(TOP)/tests/check_layers.py \
		$(TOP)/examples/readme/check_readme.py

TEST_TARGETS += $(if $(wildcard bindings/python/python.mk),lint-check-scripts)

# The layering check can fail: a scratch copy of src/ whose error.rs uses a
# later module must be refused.
.PHONY: test-layers-proof
test-layers-proof:
	@scratch=$$(mktemp -d) && trap 'rm -rf "$$scratch"' EXIT && \
	cp -r $(TOP)/src "$$scratch/src" && \
	python3 $(TOP)/tests/check_layers.py "$$scratch/src" >/dev/null && \
	echo 'use crate::ffi::sockrt_handle;' >> "$$scratch/src/error.rs" && \
	if python3 $(TOP)/tests/check_layers.py "$$scratch/src" 2>/dev/null; then \
		echo "test-layers-proof: a backward use passed the layering check"; exit 1; \
	else echo "test-layers-proof: the layering check refuses a backward use"; fi

TEST_TARGETS += test-layers-proof
