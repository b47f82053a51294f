# bindings/python: the `sockrt` package, its virtualenv and its tests.
#
#   make python-env    $(BUILD_DIR)/venv with pytest, ruff, the real-code test
#                      peers (pinned) and sockrt (editable)
#   make test-python   ruff over the package and examples, then pytest
#   make wheel         $(BUILD_DIR)/wheels/sockrt-*.whl, a platform wheel with libsockrt.so
#   make test-python-wheel  builds the wheel, installs it in a fresh venv and
#                      imports it from outside the tree with no environment
#
# For other fragments: $(PYTHON) is the venv's interpreter, $(PYTHON_RUN)
# runs it with SOCKRT_LIB pointing at the library in the build tree.

PY_BINDING_DIR := $(TOP)/bindings/python
PY_VENV        := $(BUILD_DIR)/venv
PYTHON         := $(PY_VENV)/bin/python
PYTHON_RUN     := SOCKRT_LIB=$(LIB_SO) $(PYTHON)
PY_TEST_TOOLS  := pytest pytest-timeout ruff
# Clients and servers the real-code tests run against (tests/test_real_code.py).
PY_TEST_PEERS  := aiosmtpd==1.4.6 pyftpdlib==2.2.0 urllib3==2.8.0 requests==2.34.2
PY_WHEEL_DIR   := $(BUILD_DIR)/wheels
# Rebuilt when the package metadata changes; the editable install picks up
# source changes by itself.
PY_ENV_STAMP   := $(PY_VENV)/.sockrt-python-env

.PHONY: python-env test-python wheel test-python-wheel

python-env: $(PY_ENV_STAMP)

$(PY_ENV_STAMP): $(PY_BINDING_DIR)/pyproject.toml $(PY_BINDING_DIR)/python.mk
	@test -x $(PYTHON) || python3 -m venv $(PY_VENV)
	$(PYTHON) -m pip install --quiet $(PY_TEST_TOOLS) $(PY_TEST_PEERS)
	$(PYTHON) -m pip install --quiet -e $(PY_BINDING_DIR)
	@touch $@

test-python: lib python-env
	$(PY_VENV)/bin/ruff check $(PY_BINDING_DIR) $(TOP)/examples/python
	cd $(PY_BINDING_DIR) && SOCKRT_LIB=$(LIB_SO) timeout 300 \
		$(PYTHON) -m pytest -q -p no:cacheprovider --timeout=20 tests

# The wheel's build step runs cargo itself (a no-op once lib is built).
wheel: lib python-env
	rm -rf $(PY_WHEEL_DIR)
	$(PYTHON) -m pip wheel --quiet --no-deps -w $(PY_WHEEL_DIR) $(PY_BINDING_DIR)
	rm -rf $(PY_BINDING_DIR)/build
	@ls $(PY_WHEEL_DIR)/sockrt-*.whl

test-python-wheel: wheel
	timeout 300 $(PYTHON) $(PY_BINDING_DIR)/tests/check_wheel.py \
		$(wildcard $(PY_WHEEL_DIR)/sockrt-*.whl) $(LIB_SO)

TEST_TARGETS += test-python test-python-wheel
