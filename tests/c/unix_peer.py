"""Python standard-library Unix socket peers for tests/c/test_unix.c.

    unix_peer.py echo-server PATH   bind PATH (AF_UNIX stream), print "ready",
                                    echo one connection until EOF, print the
                                    peer's SO_PEERCRED pid, exit
    unix_peer.py client PATH TEXT   connect to PATH, send TEXT, shut down
                                    writing, print what came back, exit
    unix_peer.py fds PATH           bind PATH (AF_UNIX stream), print "ready";
                                    on one connection take a message and a
                                    descriptor (socket.recv_fds), write
                                    "py-wrote:" and the message through the
                                    descriptor, send back "back" with one end
                                    of a socket.socketpair (socket.send_fds),
                                    write "through-python-pair" into the other
                                    end, wait for EOF, print "done"
    unix_peer.py dgram PATH         bind PATH (AF_UNIX datagram), print
                                    "ready", answer one datagram with its bytes
                                    reversed, sent back to its sender, exit

Every socket has a 10 s timeout, so a peer that is never served still ends.
"""

import socket
import struct
import sys

TIMEOUT_S = 10


def echo_server(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as srv:
        srv.settimeout(TIMEOUT_S)
        srv.bind(path)
        srv.listen(1)
        print("ready", flush=True)
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(TIMEOUT_S)
            cred = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            pid, _, _ = struct.unpack("3i", cred)
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
        print(f"peer-pid {pid}", flush=True)


def client(path, text):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
        c.settimeout(TIMEOUT_S)
        c.connect(path)
        c.sendall(text.encode())
        c.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            data = c.recv(65536)
            if not data:
                break
            got += data
        print(got.decode(), flush=True)


def fds(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as srv:
        srv.settimeout(TIMEOUT_S)
        srv.bind(path)
        srv.listen(1)
        print("ready", flush=True)
        conn, _ = srv.accept()
        with conn:
            conn.settimeout(TIMEOUT_S)
            msg, got, _, _ = socket.recv_fds(conn, 64, 4)
            if len(got) != 1:
                raise SystemExit(f"expected one descriptor, got {got}")
            with socket.socket(fileno=got[0]) as passed:
                passed.sendall(b"py-wrote:" + msg)
            a, b = socket.socketpair()
            with a:
                socket.send_fds(conn, [b"back"], [b.fileno()])
                b.close()
                a.sendall(b"through-python-pair")
            if conn.recv(1) != b"":
                raise SystemExit("expected EOF")
        print("done", flush=True)


def dgram(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.settimeout(TIMEOUT_S)
        s.bind(path)
        print("ready", flush=True)
        data, sender = s.recvfrom(65536)
        s.sendto(data[::-1], sender)
        print(f"sender {sender}", flush=True)


def main(argv):
    mode = argv[1]
    if mode == "echo-server":
        echo_server(argv[2])
    elif mode == "client":
        client(argv[2], argv[3])
    elif mode == "fds":
        fds(argv[2])
    elif mode == "dgram":
        dgram(argv[2])
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv)
