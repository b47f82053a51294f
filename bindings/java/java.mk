# Java binding: the io.sockrt jar (Maven), the JNI glue libsockrt_jni.so and
# the Java examples. Included by the top-level Makefile.
#
#   make java         jar + JNI library + examples (Maven fetches what it lacks on first run)
#   make test-java    the JUnit suite against the built library
#
# Teammates run Java programs with $(JAVA_RUN), e.g.
#   $(JAVA_RUN) EchoDemo client 127.0.0.1 PORT 100

JAVA_SRC_DIR   := $(TOP)/bindings/java
JAVA_OUT       := $(BUILD_DIR)/java
JAVA_VERSION   := 0.1.0
JAVA_JAR       := $(JAVA_OUT)/maven/sockrt-$(JAVA_VERSION).jar
JAVA_JNI_LIB   := $(JAVA_OUT)/libsockrt_jni.so
JAVA_JNI_HDRS  := $(JAVA_OUT)/jni-headers
JAVA_EXAMPLES  := $(JAVA_OUT)/examples
JAVA_MAIN_SRCS := $(wildcard $(JAVA_SRC_DIR)/src/main/java/io/sockrt/*.java)
JAVA_TEST_SRCS := $(wildcard $(JAVA_SRC_DIR)/src/test/java/io/sockrt/*.java)
JAVA_GLUE_SRCS := $(wildcard $(JAVA_SRC_DIR)/native/*.c)
JAVA_GLUE_HDRS := $(wildcard $(JAVA_SRC_DIR)/native/*.h)
JAVA_EX_SRCS   := $(wildcard $(TOP)/examples/java/*.java)

# Recursive on purpose: evaluated only when a Java recipe runs, after
# java-tools had a chance to install the JDK.
JAVA_HOME_DIR = $(if $(JAVA_HOME),$(JAVA_HOME),$(shell dirname "$$(dirname "$$(readlink -f "$$(command -v javac)")")"))
JAVA_MVN = mvn -B --no-transfer-progress -Dstyle.color=never -f $(JAVA_SRC_DIR)/pom.xml -Dsockrt.build.dir=$(JAVA_OUT)/maven

JAVA_RUN := java -Dsockrt.jni.path=$(JAVA_JNI_LIB) -cp $(JAVA_JAR):$(JAVA_EXAMPLES)

.PHONY: java java-tools test-java

java: lib $(JAVA_JAR) $(JAVA_JNI_LIB) $(JAVA_EXAMPLES)/.stamp

# A JDK 17 and Maven from the system's packages, if this machine lacks them.
java-tools:
	@if ! command -v javac >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then \
		echo "installing a JDK and Maven"; \
		apt-get update -qq && apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null; \
	fi

$(JAVA_JAR): $(JAVA_MAIN_SRCS) $(JAVA_SRC_DIR)/pom.xml | java-tools
	$(JAVA_MVN) -q -DskipTests package

# The glue is compiled against headers generated from the native method
# declarations, so a mismatch fails the build instead of the first call.
$(JAVA_JNI_HDRS)/io_sockrt_SockrtNative.h: $(JAVA_MAIN_SRCS) | java-tools
	@mkdir -p $(JAVA_JNI_HDRS) $(JAVA_OUT)/jni-classes
	javac -h $(JAVA_JNI_HDRS) -d $(JAVA_OUT)/jni-classes $(JAVA_MAIN_SRCS)
	@touch $@

$(JAVA_JNI_LIB): $(JAVA_GLUE_SRCS) $(JAVA_GLUE_HDRS) $(JAVA_JNI_HDRS)/io_sockrt_SockrtNative.h $(TOP)/include/sockrt.h | lib
	$(CC) $(STRICT_CFLAGS) -fPIC -shared \
		-I$(JAVA_HOME_DIR)/include -I$(JAVA_HOME_DIR)/include/linux -I$(JAVA_JNI_HDRS) \
		-o $@ $(JAVA_GLUE_SRCS) $(SOCKRT_LDFLAGS)

$(JAVA_EXAMPLES)/.stamp: $(JAVA_EX_SRCS) $(JAVA_JAR)
	@mkdir -p $(JAVA_EXAMPLES)
	javac -Xlint:all -Werror -cp $(JAVA_JAR) -d $(JAVA_EXAMPLES) $(JAVA_EX_SRCS)
	@touch $@

test-java: java
	$(JAVA_MVN) test -Dsockrt.jni.path=$(JAVA_JNI_LIB) -Dsockrt.header=$(TOP)/include/sockrt.h \
		-Dsockrt.examples.dir=$(JAVA_EXAMPLES)

TEST_TARGETS += test-java
