#!/usr/bin/env bash
# A separate Maven project that depends on io.sockrt:sockrt (installed in the
# local repository by `mvn -f bindings/java install`) and runs with no system
# property and no SOCKRT_JNI_LIB: the JNI library must come out of the jar.
# Made in a temporary directory that is removed at the end. Used by
# `make test-java-consumer`.
set -euo pipefail

version="${JAVA_VERSION:-0.1.0}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/main/java/demo"

cat > "$work/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>demo</groupId>
  <artifactId>sockrt-consumer</artifactId>
  <version>1</version>
  <properties>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
    <maven.compiler.release>17</maven.compiler.release>
  </properties>
  <dependencies>
    <dependency>
      <groupId>io.sockrt</groupId>
      <artifactId>sockrt</artifactId>
      <version>${version}</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-compiler-plugin</artifactId>
        <version>3.13.0</version>
      </plugin>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>3.8.1</version>
      </plugin>
    </plugins>
  </build>
</project>
POM

cat > "$work/src/main/java/demo/Main.java" <<'JAVA'
package demo;

import io.sockrt.Sockrt;
import io.sockrt.SockrtServerSocketFactory;
import io.sockrt.SockrtSocketFactory;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

public class Main {
    public static void main(String[] args) throws Exception {
        InetAddress lo = InetAddress.getLoopbackAddress();
        try (ServerSocket server = new SockrtServerSocketFactory().createServerSocket(0, 10, lo)) {
            Thread echo = new Thread(() -> {
                try (Socket peer = server.accept()) {
                    peer.getInputStream().transferTo(peer.getOutputStream());
                } catch (Exception e) {
                    e.printStackTrace();
                }
            });
            echo.start();
            try (Socket s = new SockrtSocketFactory().createSocket(lo, server.getLocalPort())) {
                PrintWriter w = new PrintWriter(s.getOutputStream(), true, StandardCharsets.UTF_8);
                BufferedReader r = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
                w.println("hello from a consumer");
                System.out.println("ECHO " + r.readLine());
            }
            echo.join(10_000);
        }
        System.out.println("CONSUMER OK libsockrt " + Sockrt.version());
    }
}
JAVA

mvn_q() { mvn -B -q --no-transfer-progress -Dstyle.color=never -f "$work/pom.xml" "$@"; }
mvn_q package
mvn_q dependency:build-classpath -Dmdep.outputFile="$work/cp.txt"
jar_path="$(tr ':' '\n' < "$work/cp.txt" | grep "sockrt-${version}.jar")"
echo "consumer: io.sockrt:sockrt from ${jar_path#"$HOME"/}"
# No -D option of ours, no SOCKRT_JNI_LIB, a java.library.path without the library.
out="$(env -u SOCKRT_JNI_LIB java -cp "$work/target/classes:$(cat "$work/cp.txt")" demo.Main)"
echo "$out"
grep -q '^ECHO hello from a consumer$' <<<"$out"
grep -q '^CONSUMER OK libsockrt ' <<<"$out"
echo "consumer project: passed"
