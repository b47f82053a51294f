# TLS suites (issue 17).
#
#   make test-tls       the Rust TLS tests and the interop program against
#                       openssl s_server/s_client and curl (part of make test)
#
# The test certificates are made at run time by tests/tls/make_certs.sh with
# the openssl command; openssl and curl come from the distribution and are
# installed only if missing.

.PHONY: test-tls tls-tools

tls-tools:
	@command -v openssl >/dev/null && command -v curl >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq openssl curl)

# The C and Rust suites make certificates too.
test-c test-rust: tls-tools

TLS_INTEROP := $(BUILD_DIR)/tests/tls/interop

$(TLS_INTEROP): tests/tls/interop.c tests/c/tls_pki.h tests/c/check.h include/sockrt.h | lib
	@mkdir -p $(dir $@)
	$(CC) $(STRICT_CFLAGS) -o $@ $< $(SOCKRT_LDFLAGS)

TLS_EXAMPLE := $(BUILD_DIR)/examples/tls/hello_tls
TLS_TEST_PKI := $(BUILD_DIR)/tests/tls-pki

$(TLS_EXAMPLE): examples/tls/hello_tls.c include/sockrt.h | lib
	@mkdir -p $(dir $@)
	$(CC) $(STRICT_CFLAGS) -o $@ $< $(SOCKRT_LDFLAGS)

test-tls: tls-tools lib $(TLS_INTEROP) $(TLS_EXAMPLE) $(if $(wildcard bindings/python/python.mk),python-env)
	$(CARGO) test --release --test tls
	timeout 300 $(TLS_INTEROP)
	sh tests/tls/make_certs.sh $(TLS_TEST_PKI)
	timeout 60 $(TLS_EXAMPLE) $(TLS_TEST_PKI) | grep -F 'echoed "hello" over TLS'
	$(if $(PYTHON_RUN),timeout 60 env $(PYTHON_RUN) examples/tls/hello_tls.py $(TLS_TEST_PKI) \
		| grep -F 'SSLCertVerificationError SOCKRT_E_TLS_CERTIFICATE')

TEST_TARGETS += test-tls

# The Python and Java bindings' TLS tests make certificates as well.
test-python test-java: tls-tools
