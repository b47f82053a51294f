# bindings/python: the `sockrt` package, its virtualenv and its tests.
#
#   make python-env    $(BUILD_DIR)/venv with pytest, ruff and sockrt (editable)
#   make test-python   ruff over the package and examples, then pytest
#
# For other fragments: $(PYTHON) is the venv's interpreter, $(PYTHON_RUN)
# runs it with SOCKRT_LIB pointing at the library in the build tree.

PY_BINDING_DIR := $(TOP)/bindings/python
PY_VENV        := $(BUILD_DIR)/venv
PYTHON         := $(PY_VENV)/bin/python
PYTHON_RUN     := SOCKRT_LIB=$(LIB_SO) $(PYTHON)
PY_TEST_TOOLS  := pytest pytest-timeout ruff
# Rebuilt when the package metadata changes; the editable install picks up
# source changes by itself.
PY_ENV_STAMP   := $(PY_VENV)/.sockrt-python-env

.PHONY: python-env test-python

python-env: $(PY_ENV_STAMP)

$(PY_ENV_STAMP): $(PY_BINDING_DIR)/pyproject.toml
	@test -x $(PYTHON) || python3 -m venv $(PY_VENV)
	$(PYTHON) -m pip install --quiet $(PY_TEST_TOOLS)
	$(PYTHON) -m pip install --quiet -e $(PY_BINDING_DIR)
	@touch $@

test-python: lib python-env
	$(PY_VENV)/bin/ruff check $(PY_BINDING_DIR) $(TOP)/examples/python
	cd $(PY_BINDING_DIR) && SOCKRT_LIB=$(LIB_SO) timeout 300 \
		$(PYTHON) -m pytest -q -p no:cacheprovider --timeout=20 tests

TEST_TARGETS += test-python
