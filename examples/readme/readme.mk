# The README's examples: its code blocks equal these files, which build and run.
test-readme: export README_CC = $(CC) $(STRICT_CFLAGS)
test-readme: export README_LDFLAGS = $(SOCKRT_LDFLAGS)
test-readme: export README_ECHO_SERVER = $(BUILD_DIR)/examples/c/echo_server
test-readme: export README_PYTHON = $(PYTHON_RUN)
test-readme: export README_JAVA = $(if $(JAVA_JNI_LIB),java -Dsockrt.jni.path=$(JAVA_JNI_LIB))
test-readme: export README_JAVA_JAR = $(JAVA_JAR)
test-readme: lib examples-c $(if $(wildcard bindings/python/python.mk),python-env) $(if $(wildcard bindings/java/java.mk),java)
	timeout 180 python3 examples/readme/check_readme.py

TEST_TARGETS += test-readme
