# C test suite fragment: the programs themselves are built and run by the
# top-level `test-c` rule; this adds the check that every function in the
# header is exercised by at least one of them.

.PHONY: test-c-coverage
test-c-coverage:
	sh $(TOP)/tests/c/check_api_coverage.sh $(TOP)/include/sockrt.h $(wildcard $(TOP)/tests/c/test_*.c)

TEST_TARGETS += test-c-coverage

# test_unix runs socat, python3 (tests/c/unix_peer.py, standard library
# only) and java (tests/c/UnixPeer.java, JDK 16+) as real Unix socket peers:
# install socat and a JDK if they are missing.
.PHONY: test-c-unix-peers
test-c-unix-peers:
	@command -v socat >/dev/null 2>&1 || { \
		echo "installing socat (Debian package) for test_unix"; \
		apt-get install -y socat >/dev/null 2>&1 || \
		{ apt-get update >/dev/null && apt-get install -y socat >/dev/null; }; }
	@command -v socat >/dev/null 2>&1 || { echo "socat is needed by test_unix" >&2; exit 1; }
	@command -v python3 >/dev/null 2>&1 || { echo "python3 is needed by test_unix" >&2; exit 1; }
	@command -v java >/dev/null 2>&1 || { \
		echo "installing a JDK (Debian package) for test_unix"; \
		apt-get update -qq && apt-get install -y -qq openjdk-17-jdk-headless >/dev/null; }
	@command -v java >/dev/null 2>&1 || { echo "java is needed by test_unix" >&2; exit 1; }

test-c: test-c-unix-peers
