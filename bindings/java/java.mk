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
JAVA_MVN_CMD = mvn -B --no-transfer-progress -Dstyle.color=never -f $(JAVA_SRC_DIR)/pom.xml
JAVA_MVN = $(JAVA_MVN_CMD) -Dsockrt.build.dir=$(JAVA_OUT)/maven

JAVA_RUN := java -Dsockrt.jni.path=$(JAVA_JNI_LIB) -cp $(JAVA_JAR):$(JAVA_EXAMPLES)

# Where Maven's build (make java) puts the JNI library inside the jar.
JAVA_NATIVE_DIR := $(JAVA_OUT)/maven/classes/META-INF/native/linux-x86_64
# make java-native: what the Maven build runs (process-classes) to compile
# the glue against the JNI header javac wrote, with libsockrt linked in
# statically, so the jar's library is one self-contained file. Its Rust
# symbols stay hidden; debug info is stripped (it would name build paths).
JNI_HEADERS ?= $(JAVA_JNI_HDRS)
JNI_OUT     ?= $(JAVA_NATIVE_DIR)
JAVA_JNI_LDFLAGS := $(RUST_OUT)/libsockrt.a -Wl,--exclude-libs,ALL -Wl,--gc-sections -Wl,-S -pthread -ldl -lm

.PHONY: java java-tools java-native test-java test-java-consumer

java: lib $(JAVA_JAR) $(JAVA_JNI_LIB) $(JAVA_EXAMPLES)/.stamp

# A JDK 17 and Maven from the system's packages, if this machine lacks them.
java-tools:
	@if ! command -v javac >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then \
		echo "installing a JDK and Maven"; \
		apt-get update -qq && apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null; \
	fi

java-native: lib
	@test -f $(JNI_HEADERS)/io_sockrt_SockrtNative.h || { echo "no JNI header in $(JNI_HEADERS): run the Maven build (make java)"; exit 1; }
	@mkdir -p $(JNI_OUT)
	$(CC) $(STRICT_CFLAGS) -fPIC -shared \
		-I$(JAVA_HOME_DIR)/include -I$(JAVA_HOME_DIR)/include/linux -I$(JNI_HEADERS) \
		-o $(JNI_OUT)/libsockrt_jni.so $(JAVA_GLUE_SRCS) $(JAVA_JNI_LDFLAGS)

# The jar, with the JNI library in it (Maven runs make java-native); no
# sources or javadoc jars here, `mvn install` (test-java) makes those.
$(JAVA_JAR): $(JAVA_MAIN_SRCS) $(JAVA_GLUE_SRCS) $(JAVA_GLUE_HDRS) $(JAVA_SRC_DIR)/pom.xml $(TOP)/include/sockrt.h | java-tools lib
	$(JAVA_MVN) -q -DskipTests -Dmaven.javadoc.skip=true -Dmaven.source.skip=true package

# A copy beside the jar for programs that name it with -Dsockrt.jni.path.
$(JAVA_JNI_LIB): $(JAVA_JAR)
	cp $(JAVA_NATIVE_DIR)/libsockrt_jni.so $@

$(JAVA_EXAMPLES)/.stamp: $(JAVA_EX_SRCS) $(JAVA_JAR)
	@mkdir -p $(JAVA_EXAMPLES)
	javac -Xlint:all -Werror -cp $(JAVA_JAR) -d $(JAVA_EXAMPLES) $(JAVA_EX_SRCS)
	@touch $@

# The JUnit suite, then the jars (main, sources, javadoc) installed in the
# local Maven repository. The tests load the JNI library the way a user's
# program does: from the built classes, with no system property. It builds
# in a directory of its own, so suites running alongside keep using the jar
# of make java while this one is rewritten.
test-java: java
	$(JAVA_MVN_CMD) -Dsockrt.build.dir=$(JAVA_OUT)/maven-test install -Dsockrt.header=$(TOP)/include/sockrt.h -Dsockrt.examples.dir=$(JAVA_EXAMPLES)
	$(MAKE) --no-print-directory test-java-consumer

# A separate project, made in a temporary directory, that depends on
# io.sockrt:sockrt from the local repository and runs with no system property.
test-java-consumer:
	JAVA_VERSION=$(JAVA_VERSION) timeout 600 bash $(JAVA_SRC_DIR)/consumer-test.sh

TEST_TARGETS += test-java
