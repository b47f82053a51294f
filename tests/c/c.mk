# C test suite fragment: the programs themselves are built and run by the
# top-level `test-c` rule; this adds the check that every function in the
# header is exercised by at least one of them.

.PHONY: test-c-coverage
test-c-coverage:
	sh $(TOP)/tests/c/check_api_coverage.sh $(TOP)/include/sockrt.h $(wildcard $(TOP)/tests/c/test_*.c)

TEST_TARGETS += test-c-coverage
