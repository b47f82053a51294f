"""A real-time event server on libsockrt: HTTP polling, long polling,
Server-Sent Events streaming and WebSocket, side by side.

Every socket it serves is a sockrt socket: blocking calls, one thread per
connection (a WebSocket connection has a second thread that pushes events
while the first reads frames), and an event hub whose condition variable
wakes the waiting subscribers.

    python server.py [--host 127.0.0.1] [--port 8080] [--tick 1.0]

Routes:
    GET  /                      the demo page (all four techniques live)
    GET  /poll?since=N          events after N, answered at once
    GET  /long-poll?since=N&timeout=S   held until there is news or S seconds pass
    GET  /stream?since=N        text/event-stream that stays open
    GET  /ws?since=N            WebSocket (RFC 6455); text messages from the client are published
    POST /publish               the body (UTF-8 text) becomes an event
    GET  /stats                 open connections and counters, as JSON
Without `since`, a subscriber starts with the next event.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
import traceback

try:
    import sockrt
except ImportError as exc:  # a clear message instead of a bare traceback
    sys.exit(f"server.py: cannot import the sockrt Python binding ({exc}); "
             "install bindings/python (make python-env) and set SOCKRT_LIB if needed")

import httpproto
import wsproto
from httpproto import ClientGone, HttpError, Limits, send_error, send_response
from hub import EventHub

HERE = os.path.dirname(os.path.abspath(__file__))


class ServerConfig:
    def __init__(self, host="127.0.0.1", port=8080, tick=1.0, max_connections=64,
                 limits=None, long_poll_default=25.0, long_poll_max=60.0,
                 heartbeat=15.0, io_timeout=30.0, ws_max_message=65536,
                 history=1000, backlog=128, max_rejecting=16, quiet=False):
        self.host = host
        self.port = port
        self.tick = tick                      # seconds between ticker events; 0 = no ticker
        self.max_connections = max_connections
        self.limits = limits or Limits()
        self.long_poll_default = long_poll_default
        self.long_poll_max = long_poll_max
        self.heartbeat = heartbeat            # SSE comment / WebSocket ping when idle
        self.io_timeout = io_timeout          # per send/recv once a request is in
        self.ws_max_message = ws_max_message
        self.history = history
        self.backlog = backlog
        self.max_rejecting = max_rejecting    # threads answering 503 at once
        self.quiet = quiet


class RealtimeServer:
    def __init__(self, config=None):
        self.config = config or ServerConfig()
        self.hub = EventHub(self.config.history)
        self._lock = threading.Lock()
        self._active = set()        # sockets of the connections being served
        self._rejecting = 0
        self._closing = False
        self._stop = threading.Event()
        self._threads = []
        self._listener = None
        self.counters = {"connections": 0, "requests": 0, "rejected": 0, "errors": 0}
        with open(os.path.join(HERE, "page.html"), "rb") as f:
            self._page = f.read()
        self._routes = {
            "/": ("GET", self._serve_page),
            "/stats": ("GET", self._serve_stats),
            "/publish": ("POST", self._serve_publish),
            "/poll": ("GET", self._serve_poll),
            "/long-poll": ("GET", self._serve_long_poll),
            "/stream": ("GET", self._serve_stream),
            "/ws": ("GET", self._serve_websocket),
        }

    # --- lifecycle -------------------------------------------------------

    def start(self):
        cfg = self.config
        self._listener = sockrt.create_server((cfg.host, cfg.port), backlog=cfg.backlog)
        self._spawn(self._accept_loop, "accept")
        if cfg.tick > 0:
            self._spawn(self._ticker, "ticker")
        return self

    @property
    def address(self):
        return self._listener.getsockname()

    @property
    def url(self):
        host, port = self.address
        return f"http://{host}:{port}"

    def open_connections(self):
        with self._lock:
            return len(self._active)

    def close(self, grace=0.5):
        """Stops accepting, tells subscribers goodbye, then closes what is left."""
        self._closing = True
        self._stop.set()
        self.hub.close()
        if self._listener is not None:
            self._listener.close()      # wakes the accept loop
        deadline = time.monotonic() + grace
        while self.open_connections() and time.monotonic() < deadline:
            time.sleep(0.02)
        with self._lock:
            leftovers = list(self._active)
        for sock in leftovers:
            sock.close()                # sockrt wakes any call blocked on it
        for thread in self._threads:
            thread.join(timeout=2.0)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def _spawn(self, target, name, *args):
        thread = threading.Thread(target=target, name=name, args=args, daemon=True)
        thread.start()
        if name in ("accept", "ticker"):
            self._threads.append(thread)
        return thread

    def _count(self, name):
        with self._lock:
            self.counters[name] += 1

    def _log(self, message):
        if not self.config.quiet:
            print(f"server: {message}", file=sys.stderr, flush=True)

    def _ticker(self):
        n = 0
        while not self._stop.wait(self.config.tick):
            n += 1
            try:
                self.hub.publish(f"tick {n}", source="ticker")
            except RuntimeError:
                return

    # --- accepting ---------------------------------------------------------

    def _accept_loop(self):
        while not self._closing:
            try:
                sock, peer = self._listener.accept()
            except OSError as exc:
                if self._closing:
                    return
                # Out of descriptors or a transient failure: back off, keep serving.
                self._log(f"accept failed: {exc}")
                time.sleep(0.05)
                continue
            self._admit(sock, peer)

    def _admit(self, sock, peer):
        with self._lock:
            self.counters["connections"] += 1
            if len(self._active) < self.config.max_connections:
                self._active.add(sock)
                admitted = True
            else:
                self.counters["rejected"] += 1
                admitted = False
                rejecting = self._rejecting < self.config.max_rejecting
                if rejecting:
                    self._rejecting += 1
        try:
            if admitted:
                self._spawn(self._serve_connection, f"conn-{peer[1]}", sock)
            elif rejecting:
                self._spawn(self._reject, "reject", sock)
            else:
                sock.close()            # a flood: not even a 503 for these
        except RuntimeError:            # no thread to be had: drop this one, keep accepting
            with self._lock:
                self._active.discard(sock)
                if not admitted and rejecting:
                    self._rejecting -= 1
            sock.close()

    def _reject(self, sock):
        try:
            self._finish_with_error(sock, HttpError(503, "too many connections", {"Retry-After": "1"}))
        finally:
            sock.close()
            with self._lock:
                self._rejecting -= 1

    @staticmethod
    def _finish_with_error(sock, error, linger=1.0, drain_limit=65536):
        """Sends the error, then closes gently: closing with unread request
        bytes would send a reset that can destroy the response before the
        client reads it. So: shut down our side, then read and drop what the
        client still sends, for at most `linger` seconds and `drain_limit` bytes."""
        try:
            sock.settimeout(linger)
            send_error(sock, error)
            sock.shutdown(sockrt.SHUT_WR)
            deadline = time.monotonic() + linger
            drained = 0
            while drained < drain_limit and time.monotonic() < deadline:
                chunk = sock.recv(16384)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:
            pass

    # --- one connection ------------------------------------------------------

    def _serve_connection(self, sock):
        conn = httpproto.Connection(sock, self.config.limits)
        try:
            keep_alive = True
            while keep_alive and not self._closing:
                keep_alive = self._serve_one_request(conn)
        except Exception:  # a bug must cost one connection, not the server
            self._count("errors")
            self._log("unexpected error:\n" + traceback.format_exc())
        finally:
            with self._lock:
                self._active.discard(sock)
            sock.close()

    def _serve_one_request(self, conn):
        """Serves one request; returns whether the connection stays open."""
        try:
            request = conn.read_request()
        except ClientGone:
            return False
        except HttpError as error:
            self._finish_with_error(conn.sock, error)
            return False
        self._count("requests")
        try:
            conn.sock.settimeout(self.config.io_timeout)
            return self._dispatch(conn, request)
        except HttpError as error:
            self._finish_with_error(conn.sock, error)
            return False
        except OSError:
            return False                # the client left (reset, timeout, closed)

    def _dispatch(self, conn, request):
        route = self._routes.get(request.path)
        if route is None:
            raise HttpError(404, f"no such resource: {request.path}")
        method, handler = route
        if request.method != method:
            raise HttpError(405, f"{request.path} accepts {method} only", {"Allow": method})
        return handler(conn, request)

    def _send_json(self, conn, request, text):
        keep = request.wants_keep_alive() and not self._closing
        send_response(conn.sock, 200, text.encode("utf-8"), "application/json", keep_alive=keep)
        return keep

    # --- routes -----------------------------------------------------------------

    def _serve_page(self, conn, request):
        keep = request.wants_keep_alive()
        send_response(conn.sock, 200, self._page, "text/html; charset=utf-8", keep_alive=keep)
        return keep

    def _serve_stats(self, conn, request):
        with self._lock:
            stats = dict(self.counters, open_connections=len(self._active),
                         max_connections=self.config.max_connections)
        stats["last_id"] = self.hub.last_id()
        return self._send_json(conn, request, json.dumps(stats))

    def _serve_publish(self, conn, request):
        try:
            data = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise HttpError(400, "body must be UTF-8 text") from None
        try:
            event = self.hub.publish(data, source="publish")
        except RuntimeError:
            raise HttpError(503, "server shutting down") from None
        return self._send_json(conn, request, json.dumps({"id": event.id, "t": event.t}))

    @staticmethod
    def _events_json(events, last):
        return '{"last":' + str(last) + ',"events":[' + ",".join(e.json for e in events) + "]}"

    def _start_point(self, request, since=None):
        """Where a subscriber starts: `since` from the query (or the given
        Last-Event-ID); by default, and for ids from the future (a client of
        an earlier server run), the next event."""
        if since is None:
            since = request.query_int("since", None, minimum=0)
        last = self.hub.last_id()
        return last if since is None else min(since, last)

    def _serve_poll(self, conn, request):
        since = self._start_point(request)
        events = self.hub.since(since)
        last = events[-1].id if events else since
        return self._send_json(conn, request, self._events_json(events, last))

    def _serve_long_poll(self, conn, request):
        asked = request.query_int("since", None, minimum=0)
        since = self._start_point(request)
        timeout = request.query_int("timeout", None, minimum=0, maximum=int(self.config.long_poll_max))
        if timeout is None:
            timeout = self.config.long_poll_default
        if asked is not None and asked > since:   # a stale client: resynchronise at once
            events = []
        else:
            events = self.hub.wait(since, timeout, cancelled=lambda: self._closing)
        last = events[-1].id if events else since
        return self._send_json(conn, request, self._events_json(events, last))

    def _serve_stream(self, conn, request):
        last_event_id = request.header("last-event-id", "")
        resume = int(last_event_id) if last_event_id.isdigit() else None
        since = self._start_point(request, resume)
        head = httpproto.response_head(200, {
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }, keep_alive=False)
        sock = conn.sock
        # `retry` makes a browser reconnect after 1 s if the stream breaks.
        sock.sendall(head + b"retry: 1000\n\n")
        heartbeat = self.config.heartbeat
        while not self._closing:
            events = self.hub.wait(since, heartbeat, cancelled=lambda: self._closing)
            if events:
                chunk = "".join(f"id: {e.id}\ndata: {e.json}\n\n" for e in events)
                since = events[-1].id
            elif self.hub.closed:
                break
            else:
                chunk = ": heartbeat\n\n"    # also how a vanished client is noticed
            sock.sendall(chunk.encode("utf-8"))
        return False

    def _serve_websocket(self, conn, request):
        problem = wsproto.handshake_problem(request)
        if problem is not None:
            raise HttpError(*problem)
        since = self._start_point(request)
        head = httpproto.response_head(101, {
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Accept": wsproto.accept_key(request.header("sec-websocket-key")),
        })
        conn.sock.sendall(head)
        leftover = bytes(conn.buffer)
        conn.buffer.clear()
        WebSocketSession(self, conn.sock, leftover, since).run()
        return False


class WebSocketSession:
    """One upgraded connection: this thread reads frames, a second one pushes
    events. A lock keeps each frame whole and the close frame last."""

    CLOSE_WAIT = 2.0   # how long to wait for the client's close after ours

    def __init__(self, server, sock, leftover, since):
        self.server = server
        self.hub = server.hub
        self.sock = sock
        self.since = since
        self.reader = wsproto.FrameReader(sock, leftover, server.config.ws_max_message)
        self._send_lock = threading.Lock()
        self._close_sent = False
        self._done = threading.Event()

    def run(self):
        # Reads wait up to io_timeout; the pings every heartbeat draw pongs,
        # so only a peer that stopped answering times out.
        self.sock.settimeout(self.server.config.io_timeout)
        pusher = threading.Thread(target=self._push_events, name="ws-push", daemon=True)
        pusher.start()
        try:
            self._read_messages()
        finally:
            self._done.set()
            self.hub.kick()

    def _send(self, opcode, payload):
        with self._send_lock:
            if self._close_sent:
                return False
            if opcode == wsproto.OP_CLOSE:
                self._close_sent = True
            self.sock.sendall(wsproto.encode_frame(opcode, payload))
            return True

    def _send_events(self, events):
        frames = b"".join(wsproto.encode_frame(wsproto.OP_TEXT, e.json.encode()) for e in events)
        with self._send_lock:
            if not self._close_sent:
                self.sock.sendall(frames)

    def _close(self, code, reason=""):
        try:
            self._send(wsproto.OP_CLOSE, wsproto.close_payload(code, reason))
        except OSError:
            pass

    def _on_control(self, opcode, payload):
        if opcode == wsproto.OP_PING:
            self._send(wsproto.OP_PONG, payload)
        elif opcode == wsproto.OP_CLOSE:
            code, _ = wsproto.parse_close(payload)
            # Echo the peer's code (an empty close is answered with an empty one).
            self._send(wsproto.OP_CLOSE, b"" if code is None else wsproto.close_payload(code))
            return True
        return False

    def _read_messages(self):
        try:
            while True:
                opcode, payload = self.reader.read_message(self._on_control)
                if opcode == wsproto.OP_CLOSE:
                    return
                if opcode == wsproto.OP_BINARY:
                    raise wsproto.ProtocolError(wsproto.CLOSE_UNSUPPORTED_DATA, "text messages only")
                try:
                    text = payload.decode("utf-8")
                except UnicodeDecodeError:
                    raise wsproto.ProtocolError(wsproto.CLOSE_INVALID_PAYLOAD, "invalid UTF-8") from None
                self.hub.publish(text, source="ws")
        except wsproto.ProtocolError as error:
            self._close(error.code, error.reason)
        except TimeoutError:
            self._close(wsproto.CLOSE_GOING_AWAY, "idle")
        except RuntimeError:
            self._close(wsproto.CLOSE_GOING_AWAY, "server shutting down")
        except (wsproto.PeerGone, OSError):
            pass

    def _push_events(self):
        since = self.since
        heartbeat = self.server.config.heartbeat
        try:
            while not self._done.is_set():
                events = self.hub.wait(since, heartbeat, cancelled=self._done.is_set)
                if self._done.is_set():
                    return
                if events:
                    self._send_events(events)
                    since = events[-1].id
                elif self.hub.closed:
                    self._close(wsproto.CLOSE_GOING_AWAY, "server shutting down")
                    break
                else:
                    self._send(wsproto.OP_PING, b"heartbeat")
        except OSError:
            pass
        # We closed (or the send failed): give the reader a moment for the
        # client's close frame, then wake it so the connection ends.
        if not self._done.wait(self.CLOSE_WAIT):
            try:
                self.sock.shutdown(sockrt.SHUT_RDWR)
            except OSError:
                pass


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (0 picks a free one)")
    p.add_argument("--tick", type=float, default=1.0, help="seconds between ticker events, 0 = off")
    p.add_argument("--max-connections", type=int, default=64)
    p.add_argument("--request-timeout", type=float, default=10.0,
                   help="seconds a client has to send a whole request head")
    p.add_argument("--duration", type=float, default=0.0,
                   help="stop after this many seconds (0 = run until interrupted)")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    config = ServerConfig(host=args.host, port=args.port, tick=args.tick,
                          max_connections=args.max_connections,
                          limits=Limits(request_timeout=args.request_timeout), quiet=args.quiet)
    server = RealtimeServer(config).start()
    print(f"listening on {server.url}/", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait(args.duration if args.duration > 0 else None)
    server.close()


if __name__ == "__main__":
    main()
