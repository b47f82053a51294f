import threading

import sockrt

with sockrt.create_server(("127.0.0.1", 0)) as server:
    host, port = server.getsockname()

    def echo_once() -> None:
        conn, _ = server.accept()  # a new connected Socket
        with conn:
            conn.sendall(conn.recv(1024))

    threading.Thread(target=echo_once).start()
    with sockrt.create_connection((host, port), timeout=2.0) as client:
        client.sendall(b"hello")
        reply = bytearray(5)
        client.recv_into(reply)
        print("echoed:", bytes(reply))

try:
    sockrt.create_connection((host, port), timeout=2.0)
except ConnectionRefusedError as e:  # sockrt errors are also the built-in ones
    print(type(e).__name__, e.name)

print("open handles:", sockrt.open_handles())
