import os
import struct
import tempfile
import threading

import sockrt as socket  # the standard module's names and AF_UNIX addresses

path = os.path.join(tempfile.mkdtemp(), "app.sock")
with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
    server.bind(path)  # a path; b"\0name" would be Linux's abstract namespace
    server.listen()

    def echo_once() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(conn.recv(1024))

    threading.Thread(target=echo_once).start()
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(2.0)
        client.connect(path)
        client.sendall(b"hello")
        print("echoed:", client.recv(5), "from", os.path.basename(client.getpeername()))
print("socket file left behind:", os.path.exists(path))  # close removed it
os.rmdir(os.path.dirname(path))

a, b = socket.socketpair()  # AF_UNIX by default, as in the standard module
with a, b:
    cred = a.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    print("peer pid is ours:", struct.unpack("3i", cred)[0] == os.getpid())
    r, w = os.pipe()
    socket.send_fds(a, [b"fd"], [r])  # SCM_RIGHTS: the peer gets a duplicate
    msg, fds, _, _ = socket.recv_fds(b, 2, 1)
    os.write(w, b"through the passed pipe")
    print(msg, os.read(fds[0], 64))
    for fd in (r, w, *fds):
        os.close(fd)
