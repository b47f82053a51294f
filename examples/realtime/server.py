"""A real-time event server on libsockrt: HTTP polling, long polling,
Server-Sent Events streaming and WebSocket, side by side.

Every socket it serves is a sockrt socket, and one event loop serves them
all: a sockrt poller (an epoll set) says which connection is ready, requests
are read and answered without blocking, and each new event reaches every
SSE and WebSocket subscriber through one sockrt_send_many call (one send
each, never waiting; a subscriber whose buffer is full gets the rest
queued, up to a limit, then it is dropped and counted). A subscriber that
goes away is noticed at once (end of stream or reset, through the poller).

    python server.py [--host 127.0.0.1] [--port 8080] [--tick 1.0]
                     [--max-connections 64] [--reserve 16] [--queue-limit 262144]

Routes:
    GET  /                      the demo page (all four techniques live)
    GET  /poll?since=N          events after N, answered at once
    GET  /long-poll?since=N&timeout=S   held until there is news or S seconds pass
    GET  /stream?since=N        text/event-stream that stays open
    GET  /ws?since=N            WebSocket (RFC 6455); text messages from the client are published
    POST /publish               the body (UTF-8 text) becomes an event
    GET  /stats                 open connections and counters, as JSON
Without `since`, a subscriber starts with the next event.

Limits: --max-connections connections are served; past it, --reserve more
are admitted for POST /publish and GET /stats only (anything else is answered
503), so a full house of subscribers never locks out its publisher. Beyond
that a connection gets 503 at once (or, in a flood, is closed).
"""

import argparse
import concurrent.futures
import contextlib
import ctypes
import json
import os
import resource
import signal
import socket
import sys
import threading
import time
import traceback

try:
    import sockrt
    from sockrt import _ffi
    from sockrt.selectors import E_WOULD_BLOCK, POLL_CLOSED, POLL_IN, POLL_OUT, Poller
except ImportError as exc:  # a clear message instead of a bare traceback
    sys.exit(f"server.py: cannot import the sockrt Python binding ({exc}); "
             "install bindings/python (make python-env) and set SOCKRT_LIB if needed")

import httpproto
import wsproto
from httpproto import HttpError, Limits
from hub import EventHub

HERE = os.path.dirname(os.path.abspath(__file__))

LISTENER_TOKEN = 0
RECV_CHUNK = 65536
SWEEP_INTERVAL = 0.05     # seconds between deadline checks
ACCEPT_BATCH = 128        # accepts per loop turn, so delivery interleaves with a flood
EMFILE_PAUSE = 0.1        # seconds the listener rests after running out of descriptors
FAN_OUT_SPLIT = 2048      # audiences at least this large are split across fan-out threads

# Connection states.
HEAD, LONG_POLL, SSE, WS, DRAIN, WS_CLOSING, REJECT = range(7)


def raise_descriptor_limit():
    """Raises RLIMIT_NOFILE's soft limit to the hard limit; returns (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


class ServerConfig:
    def __init__(self, host="127.0.0.1", port=8080, tick=1.0, max_connections=64,
                 limits=None, long_poll_default=25.0, long_poll_max=60.0,
                 heartbeat=15.0, io_timeout=30.0, ws_max_message=65536,
                 history=1000, backlog=128, max_rejecting=16, quiet=False,
                 reserve=16, queue_limit=256 * 1024, fan_out_threads=1,
                 subscriber_send_buffer=64 * 1024):
        self.host = host
        self.port = port
        self.tick = tick                      # seconds between ticker events; 0 = no ticker
        self.max_connections = max_connections
        self.limits = limits or Limits()
        self.long_poll_default = long_poll_default
        self.long_poll_max = long_poll_max
        self.heartbeat = heartbeat            # SSE comment / WebSocket ping when idle
        self.io_timeout = io_timeout          # a WebSocket peer silent this long is closed
        self.ws_max_message = ws_max_message
        self.history = history
        self.backlog = backlog
        self.max_rejecting = max_rejecting    # connections being answered 503 at once
        self.quiet = quiet
        self.reserve = reserve                # extra connections for /publish and /stats
        self.queue_limit = queue_limit        # bytes queued for one subscriber before it is dropped
        self.fan_out_threads = fan_out_threads  # threads sending one event to a large audience
        # SO_SNDBUF of a subscriber: bounds what the kernel holds for a slow
        # one (autotuning would let it grow to megabytes) before queue_limit.
        self.subscriber_send_buffer = subscriber_send_buffer


class Conn:
    """One connection: its socket, its state and its unsent bytes."""

    __slots__ = ("id", "sock", "h", "state", "inbuf", "out", "deadline", "reserve",
                 "after_flush", "since", "parser", "last_in", "interest", "continued",
                 "keep", "drain_left")

    def __init__(self, cid, sock, reserve):
        self.id = cid
        self.sock = sock
        self.h = sock.handle
        self.state = HEAD
        self.inbuf = bytearray()
        self.out = bytearray()
        self.deadline = 0.0
        self.reserve = reserve        # admitted past the cap: /publish and /stats only
        self.after_flush = None       # "keep", "close", "drain" or None (stay)
        self.since = 0
        self.parser = None
        self.last_in = 0.0
        self.interest = POLL_IN
        self.continued = False        # 100 Continue sent for this request
        self.keep = False             # a waiting long poll: keep-alive afterwards
        self.drain_left = 0           # DRAIN: bytes still to read and drop


class RealtimeServer:
    def __init__(self, config=None):
        self.config = config or ServerConfig()
        self.hub = EventHub(self.config.history)
        self.counters = {"connections": 0, "requests": 0, "rejected": 0, "errors": 0,
                         "dropped_slow": 0, "refused_no_descriptors": 0}
        self._conns = {}               # id -> Conn, every connection but the listener
        self._served = 0               # connections counted against the cap (not REJECT)
        self._rejecting = 0
        self._next_id = 1
        self._timed = {}               # id -> Conn with a deadline
        self._sse = {}                 # id -> Conn, live SSE subscribers
        self._ws = {}                  # id -> Conn, live WebSocket subscribers
        self._long_polls = {}          # id -> Conn waiting for news
        self._fan = {}                 # (kind) -> cached (conns, handle array, results array)
        self._sent_id = 0              # events up to this id reached the live subscribers
        self._last_push = time.monotonic()
        self._stop = threading.Event()
        self._stopping = False
        self._thread = None
        self._ticker = None
        self._listener = None
        self._poller = None
        self._listener_paused_until = 0.0
        self._fd_warned = 0.0
        self._fd_limit = None
        self._fan_helpers = [concurrent.futures.ThreadPoolExecutor(1, "fan-out")
                             for _ in range(max(0, self.config.fan_out_threads - 1))]
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
        self._fd_limit = raise_descriptor_limit()
        self._listener = sockrt.create_server((cfg.host, cfg.port), backlog=cfg.backlog)
        self._listener.settimeout(0)
        self._poller = Poller()
        self._poller.add(self._listener, POLL_IN, LISTENER_TOKEN)
        self._sent_id = self.hub.last_id()
        self._thread = threading.Thread(target=self._run, name="event-loop", daemon=True)
        self._thread.start()
        if cfg.tick > 0:
            self._ticker = threading.Thread(target=self._tick, name="ticker", daemon=True)
            self._ticker.start()
        return self

    @property
    def address(self):
        return self._listener.getsockname()

    @property
    def url(self):
        host, port = self.address
        return f"http://{host}:{port}"

    def open_connections(self):
        return self._served

    def subscribers(self):
        return len(self._sse) + len(self._ws)

    def close(self, grace=0.5):
        """Stops accepting, tells subscribers goodbye, then closes what is left."""
        if self._thread is None:
            return
        self._grace = grace
        self._stop.set()
        self.hub.close()
        with contextlib.suppress(OSError, ValueError):
            self._poller.wake()
        self._thread.join(timeout=grace + 5.0)
        if self._ticker is not None:
            self._ticker.join(timeout=2.0)
        self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def _log(self, message):
        if not self.config.quiet:
            print(f"server: {message}", file=sys.stderr, flush=True)

    def _tick(self):
        n = 0
        while not self._stop.wait(self.config.tick):
            n += 1
            try:
                self.hub.publish(f"tick {n}", source="ticker")
            except RuntimeError:
                return
            with contextlib.suppress(OSError, ValueError):
                self._poller.wake()     # the loop delivers it

    # --- the event loop ------------------------------------------------------

    def _run(self):
        poller = self._poller
        conns = self._conns
        next_sweep = time.monotonic() + SWEEP_INTERVAL
        try:
            while not self._stop.is_set():
                events = poller.wait(int(SWEEP_INTERVAL * 1000), max(64, len(conns) + 1))
                for token, bits in events:
                    if token == LISTENER_TOKEN:
                        self._accept_some()
                        continue
                    conn = conns.get(token)
                    if conn is None:
                        continue        # closed by us; its CLOSED report needs nothing
                    try:
                        if bits & POLL_CLOSED:
                            self._drop(conn)
                            continue
                        if bits & POLL_OUT:
                            self._flush(conn)
                        if bits & ~POLL_OUT and conn.id in conns:
                            self._on_readable(conn)
                    except Exception:  # a bug must cost one connection, not the server
                        self.counters["errors"] += 1
                        self._log("unexpected error:\n" + traceback.format_exc())
                        self._drop(conn)
                self._deliver()
                now = time.monotonic()
                if now >= next_sweep:
                    next_sweep = now + SWEEP_INTERVAL
                    self._sweep(now)
        finally:
            self._shutdown()

    def _shutdown(self):
        """Long polls answered empty, WebSockets told 'going away', a short
        grace to flush, then every socket closed."""
        grace = getattr(self, "_grace", 0.5)
        self._stopping = True
        self._listener.close()
        for conn in list(self._long_polls.values()):
            self._finish_long_poll(conn, [])
        for conn in list(self._ws.values()):
            self._ws_close(conn, wsproto.CLOSE_GOING_AWAY, "server shutting down")
        for conn in list(self._sse.values()):
            self._drop(conn)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(c.out for c in self._conns.values()):
            for token, bits in self._poller.wait(20, max(64, len(self._conns) + 1)):
                conn = self._conns.get(token)
                if conn is not None and bits & POLL_OUT:
                    with contextlib.suppress(Exception):
                        self._flush(conn)
        # WebSocket clients answer our close: give them a moment to, then go.
        if self._ws:
            end = time.monotonic() + min(grace, 2.0)
            while self._ws and time.monotonic() < end:
                for token, _ in self._poller.wait(20, max(64, len(self._conns) + 1)):
                    conn = self._conns.get(token)
                    if conn is not None:
                        with contextlib.suppress(Exception):
                            self._on_readable(conn)
        for conn in list(self._conns.values()):
            self._drop(conn)
        self._poller.close()
        for helper in self._fan_helpers:
            helper.shutdown(wait=True)

    # --- accepting ---------------------------------------------------------

    def _accept_some(self):
        now = time.monotonic()
        if now < self._listener_paused_until:
            return
        cfg = self.config
        for _ in range(ACCEPT_BATCH):
            if (self._served >= cfg.max_connections + cfg.reserve
                    and self._rejecting >= cfg.max_rejecting):
                if not self._refuse_one():
                    return
                continue
            try:
                sock, _ = self._listener.accept()
            except BlockingIOError:
                return
            except TimeoutError:
                return
            except OSError as exc:
                if self._stopping:
                    return
                if getattr(exc, "code", None) == sockrt.E_LIMIT or exc.errno in (24, 23):
                    self._out_of_descriptors(now)
                else:
                    self._log(f"accept failed: {exc}")
                return
            self.counters["connections"] += 1
            if self._served < cfg.max_connections:
                self._admit(sock, reserve=False)
            elif self._served < cfg.max_connections + cfg.reserve:
                self._admit(sock, reserve=True)
            elif self._rejecting < cfg.max_rejecting:
                self.counters["rejected"] += 1
                self._reject(sock)
            else:
                self.counters["rejected"] += 1
                sock.close()            # a flood: not even a 503 for these

    def _refuse_one(self):
        """A flood past every limit: accept and close at once, in two library
        calls (no socket object, no 503). Returns False when none is waiting."""
        out = ctypes.c_uint64()
        rc = _ffi.accept(self._listener.handle, ctypes.byref(out))
        if rc < 0:
            if rc == sockrt.E_LIMIT:
                self._out_of_descriptors(time.monotonic())
            return False
        _ffi.close(out.value)
        self.counters["connections"] += 1
        self.counters["rejected"] += 1
        return True

    def _out_of_descriptors(self, now):
        """accept failed for lack of descriptors: say so (once a second), and
        rest the listener briefly instead of spinning on it."""
        self.counters["refused_no_descriptors"] += 1
        self._listener_paused_until = now + EMFILE_PAUSE
        self._poller.modify(self._listener, 0, LISTENER_TOKEN)
        if now - self._fd_warned > 1.0:
            self._fd_warned = now
            soft, hard = self._fd_limit
            print(f"server: refusing connections: out of file descriptors "
                  f"(RLIMIT_NOFILE soft {soft}, hard {hard}; {len(self._conns)} connections open). "
                  f"Raise the hard limit (ulimit -Hn) or lower --max-connections.",
                  file=sys.stderr, flush=True)

    def _register(self, sock, state, reserve):
        sock.settimeout(0)
        conn = Conn(self._next_id, sock, reserve)
        self._next_id += 1
        conn.state = state
        self._conns[conn.id] = conn
        try:
            self._poller.add(sock, POLL_IN, conn.id)
        except OSError:
            del self._conns[conn.id]
            sock.close()
            return None
        return conn

    def _admit(self, sock, reserve):
        conn = self._register(sock, HEAD, reserve)
        if conn is None:
            return
        self._served += 1
        conn.deadline = time.monotonic() + self.config.limits.request_timeout
        self._timed[conn.id] = conn

    def _reject(self, sock):
        conn = self._register(sock, REJECT, False)
        if conn is None:
            return
        self._rejecting += 1
        self._fail(conn, HttpError(503, "too many connections", {"Retry-After": "1"}))

    def _drop(self, conn):
        """Forgets and closes a connection (the poller drops it by itself)."""
        if self._conns.pop(conn.id, None) is None:
            return
        if conn.state == REJECT:
            self._rejecting -= 1
        else:
            self._served -= 1
        self._timed.pop(conn.id, None)
        self._long_polls.pop(conn.id, None)
        if self._sse.pop(conn.id, None) is not None:
            self._fan.pop("sse", None)
        if self._ws.pop(conn.id, None) is not None:
            self._fan.pop("ws", None)
        conn.sock.close()

    # --- writing -------------------------------------------------------------

    def _want(self, conn, interest):
        if conn.interest != interest:
            conn.interest = interest
            self._poller.modify(conn.sock, interest, conn.id)

    def _write(self, conn, data):
        """Sends what the socket takes now and queues the rest."""
        if conn.out:
            conn.out += data
        else:
            try:
                n = conn.sock.send(data)
            except BlockingIOError:
                n = 0
            except OSError:
                self._drop(conn)
                return False
            if n < len(data):
                conn.out += data[n:]
        if conn.out:
            if len(conn.out) > self.config.queue_limit and conn.state in (SSE, WS):
                self.counters["dropped_slow"] += 1
                self._drop(conn)
                return False
            self._want(conn, POLL_IN | POLL_OUT)
        else:
            self._after_flush(conn)
        return True

    def _flush(self, conn):
        if conn.out:
            try:
                n = conn.sock.send(conn.out)
            except BlockingIOError:
                return
            except OSError:
                self._drop(conn)
                return
            del conn.out[:n]
            if conn.out:
                return
        self._want(conn, POLL_IN)
        if conn.state in (SSE, WS):
            self._fan.pop("sse" if conn.state == SSE else "ws", None)  # rejoins the fan-out
        self._after_flush(conn)

    def _after_flush(self, conn):
        action, conn.after_flush = conn.after_flush, None
        if action == "close":
            self._drop(conn)
        elif action == "drain":
            # Closing with unread request bytes would send a reset that can
            # destroy the response before the client reads it: shut down our
            # side, then read and drop what the client still sends, briefly.
            with contextlib.suppress(OSError):
                conn.sock.shutdown(sockrt.SHUT_WR)
            conn.state = DRAIN if conn.state != REJECT else REJECT
            conn.drain_left = 65536
            conn.deadline = time.monotonic() + 1.0
            self._timed[conn.id] = conn
        elif action == "keep":
            conn.state = HEAD
            conn.deadline = time.monotonic() + self.config.limits.request_timeout
            self._timed[conn.id] = conn
            if conn.inbuf:
                self._on_request_bytes(conn)

    def _respond(self, conn, data, keep):
        conn.after_flush = "keep" if keep and not self._stopping else "close"
        self._timed.pop(conn.id, None)
        self._write(conn, data)

    def _fail(self, conn, error):
        """Sends the error, then closes gently (see _after_flush)."""
        conn.after_flush = "drain"
        self._timed.pop(conn.id, None)
        if conn.state != REJECT:
            conn.state = DRAIN
        self._write(conn, httpproto.error_bytes(error))

    # --- reading -------------------------------------------------------------

    def _recv(self, conn):
        """Bytes received now; b"" at end of stream; None if nothing yet;
        the connection is dropped on a reset."""
        try:
            return conn.sock.recv(RECV_CHUNK)
        except BlockingIOError:
            return None
        except OSError:
            return b""

    def _on_readable(self, conn):
        data = self._recv(conn)
        if data is None:
            return
        state = conn.state
        if not data:
            self._drop(conn)            # departed: noticed at once
            return
        if state in (DRAIN, REJECT):
            conn.drain_left -= len(data)
            if conn.drain_left <= 0:
                self._drop(conn)
        elif state == HEAD:
            conn.inbuf += data
            self._on_request_bytes(conn)
        elif state in (WS, WS_CLOSING):
            conn.last_in = time.monotonic()
            conn.parser.feed(data)
            self._on_ws_bytes(conn)
        # SSE and long-poll clients have nothing to say: what they send is dropped.

    def _on_request_bytes(self, conn):
        try:
            request = httpproto.parse_buffered(conn.inbuf, self.config.limits)
        except HttpError as error:
            self._fail(conn, error)
            return
        if request is None:
            return
        if request.body_missing:
            if request.header("expect") is not None and not conn.continued:
                conn.continued = True
                self._write(conn, b"HTTP/1.1 100 Continue\r\n\r\n")
            return
        conn.continued = False
        self.counters["requests"] += 1
        try:
            self._dispatch(conn, request)
        except HttpError as error:
            self._fail(conn, error)

    def _dispatch(self, conn, request):
        route = self._routes.get(request.path)
        if route is None:
            raise HttpError(404, f"no such resource: {request.path}")
        method, handler = route
        if request.method != method:
            raise HttpError(405, f"{request.path} accepts {method} only", {"Allow": method})
        if conn.reserve and request.path not in ("/publish", "/stats"):
            self.counters["rejected"] += 1
            raise HttpError(503, "too many connections", {"Retry-After": "1"})
        handler(conn, request)

    def _send_json(self, conn, request, text):
        keep = request.wants_keep_alive() and not self._stopping
        self._respond(conn, httpproto.response_bytes(200, text.encode("utf-8"), "application/json",
                                                     keep_alive=keep), keep)

    # --- routes -----------------------------------------------------------------

    def _serve_page(self, conn, request):
        keep = request.wants_keep_alive()
        self._respond(conn, httpproto.response_bytes(200, self._page, "text/html; charset=utf-8",
                                                     keep_alive=keep), keep)

    def _serve_stats(self, conn, request):
        stats = dict(self.counters, open_connections=self._served,
                     max_connections=self.config.max_connections,
                     subscribers=self.subscribers(), reserve=self.config.reserve)
        stats["last_id"] = self.hub.last_id()
        self._send_json(conn, request, json.dumps(stats))

    def _serve_publish(self, conn, request):
        try:
            data = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise HttpError(400, "body must be UTF-8 text") from None
        try:
            event = self.hub.publish(data, source="publish")
        except RuntimeError:
            raise HttpError(503, "server shutting down") from None
        self._send_json(conn, request, json.dumps({"id": event.id, "t": event.t}))

    @staticmethod
    def _events_json(events, last):
        return '{"last":' + str(last) + ',"events":[' + ",".join(e.json for e in events) + "]}"

    def _start_point(self, request, since=None):
        """Where a subscriber starts: `since` from the query (or the given
        Last-Event-ID); by default, and for ids from the future (a client of
        an earlier server run), the next event. Events past the loop's
        delivery point reach the subscriber through the next delivery."""
        if since is None:
            since = request.query_int("since", None, minimum=0)
        self._deliver()
        last = self._sent_id
        return last if since is None else min(since, last)

    def _replay(self, since):
        return [e for e in self.hub.since(since) if e.id <= self._sent_id]

    def _serve_poll(self, conn, request):
        since = self._start_point(request)
        events = self.hub.since(since)
        last = events[-1].id if events else since
        self._send_json(conn, request, self._events_json(events, last))

    def _serve_long_poll(self, conn, request):
        asked = request.query_int("since", None, minimum=0)
        since = self._start_point(request)
        timeout = request.query_int("timeout", None, minimum=0, maximum=int(self.config.long_poll_max))
        if timeout is None:
            timeout = self.config.long_poll_default
        if asked is not None and asked > since:   # a stale client: resynchronise at once
            self._send_json(conn, request, self._events_json([], since))
            return
        events = self._replay(since)
        if events or self.hub.closed:
            self._send_json(conn, request, self._events_json(events, events[-1].id if events else since))
            return
        conn.state = LONG_POLL
        conn.since = since
        conn.keep = request.wants_keep_alive()
        conn.deadline = time.monotonic() + timeout
        self._timed[conn.id] = conn
        self._long_polls[conn.id] = conn

    def _finish_long_poll(self, conn, events):
        self._long_polls.pop(conn.id, None)
        keep = conn.keep and not self._stopping
        last = events[-1].id if events else conn.since
        body = self._events_json(events, last).encode("utf-8")
        self._respond(conn, httpproto.response_bytes(200, body, "application/json", keep_alive=keep), keep)

    def _serve_stream(self, conn, request):
        last_event_id = request.header("last-event-id", "")
        resume = int(last_event_id) if last_event_id.isdigit() else None
        since = self._start_point(request, resume)
        head = httpproto.response_head(200, {
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",
        }, keep_alive=False)
        events = self._replay(since)
        # `retry` makes a browser reconnect after 1 s if the stream breaks.
        chunk = head + b"retry: 1000\n\n" + self._sse_chunk(events)
        self._timed.pop(conn.id, None)
        self._bound_send_buffer(conn)
        conn.state = SSE
        self._sse[conn.id] = conn
        self._fan.pop("sse", None)
        self._write(conn, chunk)

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
        conn.parser = wsproto.FrameParser(bytes(conn.inbuf), self.config.ws_max_message)
        conn.inbuf = bytearray()
        conn.last_in = time.monotonic()
        self._timed.pop(conn.id, None)
        self._bound_send_buffer(conn)
        conn.state = WS
        self._ws[conn.id] = conn
        self._fan.pop("ws", None)
        if self._write(conn, head + self._ws_chunk(self._replay(since))):
            self._on_ws_bytes(conn)

    def _bound_send_buffer(self, conn):
        size = self.config.subscriber_send_buffer
        if size > 0:
            with contextlib.suppress(OSError):
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)

    # --- WebSocket ---------------------------------------------------------------

    def _ws_send(self, conn, opcode, payload):
        if conn.state == WS_CLOSING:
            return False
        return self._write(conn, wsproto.encode_frame(opcode, payload))

    def _ws_close(self, conn, code, reason=""):
        """Our close frame, then wait (briefly) for the peer's."""
        if conn.state == WS_CLOSING or conn.id not in self._conns:
            return
        self._ws.pop(conn.id, None)
        self._fan.pop("ws", None)
        if self._write(conn, wsproto.encode_frame(wsproto.OP_CLOSE,
                                                  wsproto.close_payload(code, reason))):
            conn.state = WS_CLOSING
            conn.deadline = time.monotonic() + 2.0
            self._timed[conn.id] = conn

    def _on_ws_bytes(self, conn):
        parser = conn.parser
        try:
            while conn.id in self._conns:
                item = parser.next()
                if item is None:
                    return
                kind, opcode, payload = item
                if kind == "control":
                    if opcode == wsproto.OP_PING:
                        self._ws_send(conn, wsproto.OP_PONG, payload)
                    elif opcode == wsproto.OP_CLOSE:
                        if conn.state == WS_CLOSING:
                            self._drop(conn)     # the handshake is complete
                            return
                        code, _ = wsproto.parse_close(payload)
                        # Echo the peer's code (an empty close is answered with an empty one).
                        self._ws.pop(conn.id, None)
                        self._fan.pop("ws", None)
                        conn.after_flush = "close"
                        self._write(conn, wsproto.encode_frame(
                            wsproto.OP_CLOSE, b"" if code is None else wsproto.close_payload(code)))
                        conn.state = WS_CLOSING
                        return
                    continue
                if conn.state == WS_CLOSING:
                    continue
                if opcode == wsproto.OP_BINARY:
                    raise wsproto.ProtocolError(wsproto.CLOSE_UNSUPPORTED_DATA, "text messages only")
                try:
                    text = payload.decode("utf-8")
                except UnicodeDecodeError:
                    raise wsproto.ProtocolError(wsproto.CLOSE_INVALID_PAYLOAD, "invalid UTF-8") from None
                try:
                    self.hub.publish(text, source="ws")
                except RuntimeError:
                    self._ws_close(conn, wsproto.CLOSE_GOING_AWAY, "server shutting down")
                    return
                self._deliver()
        except wsproto.ProtocolError as error:
            self._ws_close(conn, error.code, error.reason)

    # --- delivery ----------------------------------------------------------------

    @staticmethod
    def _sse_chunk(events):
        return "".join(f"id: {e.id}\ndata: {e.json}\n\n" for e in events).encode("utf-8")

    @staticmethod
    def _ws_chunk(events):
        return b"".join(wsproto.encode_frame(wsproto.OP_TEXT, e.json.encode("utf-8")) for e in events)

    def _deliver(self):
        """New events to every live subscriber and waiting long poll."""
        last = self.hub.last_id()
        if last == self._sent_id:
            return
        events = self.hub.since(self._sent_id)
        self._sent_id = last
        if not events:
            return
        self._last_push = time.monotonic()
        if self._sse:
            self._fan_out("sse", self._sse, self._sse_chunk(events))
        if self._ws:
            self._fan_out("ws", self._ws, self._ws_chunk(events))
        for conn in list(self._long_polls.values()):
            news = [e for e in events if e.id > conn.since]
            if news:
                self._finish_long_poll(conn, news)

    def _fan_out(self, kind, members, chunk):
        """One sockrt_send_many to every member with nothing queued; the
        others (and whatever a full buffer did not take) queue."""
        cached = self._fan.get(kind)
        if cached is None:
            ready = [c for c in members.values() if not c.out]
            n = len(ready)
            handles = (ctypes.c_uint64 * max(n, 1))(*[c.h for c in ready])
            results = (ctypes.c_int64 * max(n, 1))()
            cached = self._fan[kind] = (ready, handles, results)
        ready, handles, results = cached
        backlogged = [c for c in members.values() if c.out] if len(ready) != len(members) else ()
        size = len(chunk)
        whole = self._send_many(handles, results, len(ready), chunk) if ready else 0
        if whole != len(ready):
            changed = False
            values = memoryview(results).cast("B").cast("q")
            for i, conn in enumerate(ready):
                sent = values[i]
                if sent == size or conn.id not in self._conns:
                    continue
                changed = True
                if sent >= 0 or sent == E_WOULD_BLOCK:
                    self._write_queued(conn, chunk[max(sent, 0):])
                else:
                    self._drop(conn)        # reset or closed: the subscriber is gone
            if changed:
                self._fan.pop(kind, None)
        for conn in backlogged:
            if conn.id in self._conns:
                self._write_queued(conn, chunk)

    def _send_many(self, handles, results, n, chunk):
        """sockrt_send_many over `n` handles; with --fan-out-threads > 1 and a
        large audience, helper threads take equal slices at the same time (the
        library releases the GIL), so the sends use every CPU."""
        helpers = self._fan_helpers
        if not helpers or n < FAN_OUT_SPLIT:
            return _ffi.send_many(handles, n, chunk, len(chunk), results)
        parts = len(helpers) + 1
        per = -(-n // parts)
        base_h, base_r = ctypes.addressof(handles), ctypes.addressof(results)
        jobs = []
        for k, helper in enumerate(helpers, start=1):
            start = k * per
            count = min(per, n - start)
            if count > 0:
                jobs.append(helper.submit(_ffi.send_many, base_h + 8 * start, count, chunk,
                                          len(chunk), base_r + 8 * start))
        whole = _ffi.send_many(handles, min(per, n), chunk, len(chunk), results)
        return whole + sum(job.result() for job in jobs)

    def _write_queued(self, conn, data):
        conn.out += data
        if len(conn.out) > self.config.queue_limit:
            self.counters["dropped_slow"] += 1
            self._drop(conn)
            return
        self._want(conn, POLL_IN | POLL_OUT)

    # --- deadlines -------------------------------------------------------------

    def _sweep(self, now):
        for conn in [c for c in self._timed.values() if c.deadline <= now]:
            if conn.id not in self._conns:
                self._timed.pop(conn.id, None)
                continue
            self._timed.pop(conn.id, None)
            if conn.state == HEAD:
                if conn.inbuf or conn.continued:
                    self._fail(conn, HttpError(408, "request not received in time"))
                else:
                    self._drop(conn)        # idle: close quietly
            elif conn.state == LONG_POLL:
                self._finish_long_poll(conn, [])
            else:                           # DRAIN, REJECT, WS_CLOSING
                self._drop(conn)
        if now >= self._listener_paused_until > 0:
            self._listener_paused_until = 0.0
            self._poller.modify(self._listener, POLL_IN, LISTENER_TOKEN)
        heartbeat = self.config.heartbeat
        if now - self._last_push >= heartbeat:
            self._last_push = now
            if self._sse:
                self._fan_out("sse", self._sse, b": heartbeat\n\n")
            if self._ws:
                self._fan_out("ws", self._ws, wsproto.encode_frame(wsproto.OP_PING, b"heartbeat"))
            idle_limit = now - self.config.io_timeout
            for conn in [c for c in self._ws.values() if c.last_in < idle_limit]:
                self._ws_close(conn, wsproto.CLOSE_GOING_AWAY, "idle")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (0 picks a free one)")
    p.add_argument("--tick", type=float, default=1.0, help="seconds between ticker events, 0 = off")
    p.add_argument("--max-connections", type=int, default=64)
    p.add_argument("--reserve", type=int, default=16,
                   help="connections past the cap kept for POST /publish and GET /stats")
    p.add_argument("--queue-limit", type=int, default=256 * 1024,
                   help="bytes queued for a slow subscriber before it is dropped")
    p.add_argument("--backlog", type=int, default=128, help="listen backlog")
    p.add_argument("--fan-out-threads", type=int, default=1,
                   help="threads that send one event to a large audience together")
    p.add_argument("--request-timeout", type=float, default=10.0,
                   help="seconds a client has to send a whole request head")
    p.add_argument("--heartbeat", type=float, default=15.0,
                   help="seconds of silence before subscribers get a heartbeat")
    p.add_argument("--duration", type=float, default=0.0,
                   help="stop after this many seconds (0 = run until interrupted)")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    config = ServerConfig(host=args.host, port=args.port, tick=args.tick,
                          max_connections=args.max_connections, reserve=args.reserve,
                          queue_limit=args.queue_limit, backlog=args.backlog,
                          heartbeat=args.heartbeat, fan_out_threads=args.fan_out_threads,
                          limits=Limits(request_timeout=args.request_timeout), quiet=args.quiet)
    server = RealtimeServer(config).start()
    soft, hard = server._fd_limit
    if not args.quiet:
        print(f"server: descriptor limit {soft} (hard {hard}); serving up to "
              f"{args.max_connections} connections + {args.reserve} reserved", file=sys.stderr)
    print(f"listening on {server.url}/", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait(args.duration if args.duration > 0 else None)
    server.close()


if __name__ == "__main__":
    main()
