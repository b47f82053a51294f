import sys
import threading

import sockrt
from sockrt import tls

pki = sys.argv[1] if len(sys.argv) > 1 else "."  # ca.pem, chain.pem, server.key

server_ctx = tls.TLSContext(tls.PROTOCOL_TLS_SERVER)
server_ctx.load_cert_chain(f"{pki}/chain.pem", f"{pki}/server.key")
listener = server_ctx.wrap_socket(sockrt.create_server(("127.0.0.1", 0)), server_side=True)
port = listener.getsockname()[1]


def serve() -> None:
    for _ in range(2):
        try:
            conn, _ = listener.accept()  # accept + handshake
        except tls.SSLError:
            continue  # the second client refuses our certificate
        with conn:
            conn.sendall(conn.recv(1024))


server = threading.Thread(target=serve)
server.start()

ctx = tls.create_default_context(cafile=f"{pki}/ca.pem")  # as ssl.create_default_context
raw = sockrt.create_connection(("127.0.0.1", port), timeout=5)
with ctx.wrap_socket(raw, server_hostname="localhost") as s:  # raw is now part of s
    s.sendall(b"hello")
    print("echoed:", s.recv(5), "over", s.version())

try:
    tls.create_connection(("127.0.0.1", port), ctx, server_hostname="example.com", timeout=5)
except tls.SSLCertVerificationError as e:  # also ssl.SSLCertVerificationError
    print(type(e).__name__, e.name)
server.join()
listener.close()
