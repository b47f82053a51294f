"""The peer of `make realtime-bench`: the real-time server's behaviour on
the standard library's asyncio, as a Python user would write it (one event
loop, asyncio.Protocol per connection, transport.write for the fan-out).

Same routes and limits as server.py for what the benchmark drives: GET
/stream (SSE), GET /ws (WebSocket), POST /publish, GET /poll, GET /stats;
--max-connections with --reserve extra connections for /publish and /stats;
a request-head deadline; a subscriber whose unsent bytes pass
--queue-limit is dropped and counted; a departed subscriber is noticed at
once (connection_lost). The same request and frame parsers as server.py.

    python asyncio_server.py --port 0 [--max-connections N] [--tick 0] ...
"""

import argparse
import asyncio
import json
import os
import resource
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import httpproto  # noqa: E402
import wsproto  # noqa: E402
from hub import EventHub  # noqa: E402


class State:
    def __init__(self, args):
        self.args = args
        self.limits = httpproto.Limits(request_timeout=args.request_timeout)
        self.hub = EventHub()
        self.served = 0
        self.sse = set()
        self.ws = set()
        self.counters = {"connections": 0, "requests": 0, "rejected": 0, "dropped_slow": 0}

    def deliver(self, event):
        sse = f"id: {event.id}\ndata: {event.json}\n\n".encode()
        ws = wsproto.encode_frame(wsproto.OP_TEXT, event.json.encode("utf-8"))
        for proto in list(self.sse):
            proto.push(sse)
        for proto in list(self.ws):
            proto.push(ws)


class Conn(asyncio.Protocol):
    def __init__(self, state):
        self.state = state
        self.transport = None
        self.buffer = bytearray()
        self.mode = "head"
        self.reserve = False
        self.counted = False
        self.parser = None
        self.timer = None

    def connection_made(self, transport):
        st = self.state
        self.transport = transport
        st.counters["connections"] += 1
        args = st.args
        if st.served >= args.max_connections + args.reserve:
            st.counters["rejected"] += 1
            self.fail(httpproto.HttpError(503, "too many connections", {"Retry-After": "1"}))
            return
        self.reserve = st.served >= args.max_connections
        st.served += 1
        self.counted = True
        self.timer = asyncio.get_running_loop().call_later(st.limits.request_timeout, self.timeout)

    def timeout(self):
        if self.mode == "head":
            if self.buffer:
                self.fail(httpproto.HttpError(408, "request not received in time"))
            else:
                self.transport.close()

    def connection_lost(self, exc):
        st = self.state
        if self.counted:
            st.served -= 1
        st.sse.discard(self)
        st.ws.discard(self)
        if self.timer is not None:
            self.timer.cancel()

    def fail(self, error):
        self.mode = "closing"
        self.transport.write(httpproto.error_bytes(error))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        asyncio.get_running_loop().call_later(1.0, self.transport.close)

    def push(self, data):
        self.transport.write(data)
        if self.transport.get_write_buffer_size() > self.state.args.queue_limit:
            self.state.counters["dropped_slow"] += 1
            self.transport.abort()

    def data_received(self, data):
        if self.mode == "head":
            self.buffer += data
            try:
                request = httpproto.parse_buffered(self.buffer, self.state.limits)
                if request is None or request.body_missing:
                    return
                self.state.counters["requests"] += 1
                self.dispatch(request)
            except httpproto.HttpError as error:
                self.fail(error)
        elif self.mode == "ws":
            self.parser.feed(data)
            try:
                self.ws_items()
            except wsproto.ProtocolError as error:
                self.ws_close(error.code, error.reason)

    def respond_json(self, request, obj):
        keep = request.wants_keep_alive()
        self.transport.write(httpproto.response_bytes(200, json.dumps(obj).encode(),
                                                      "application/json", keep_alive=keep))
        if not keep:
            self.transport.close()
            return
        # A kept-alive connection gets a new deadline for its next request.
        self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_later(self.state.limits.request_timeout,
                                                           self.timeout)
        if self.buffer:
            self.data_received(b"")

    def dispatch(self, request):
        st = self.state
        path = request.path
        if path not in ("/stream", "/ws", "/publish", "/poll", "/stats"):
            raise httpproto.HttpError(404, f"no such resource: {path}")
        method = "POST" if path == "/publish" else "GET"
        if request.method != method:
            raise httpproto.HttpError(405, f"{path} accepts {method} only", {"Allow": method})
        if self.reserve and path not in ("/publish", "/stats"):
            st.counters["rejected"] += 1
            raise httpproto.HttpError(503, "too many connections", {"Retry-After": "1"})
        if path == "/publish":
            try:
                text = request.body.decode("utf-8")
            except UnicodeDecodeError:
                raise httpproto.HttpError(400, "body must be UTF-8 text") from None
            event = st.hub.publish(text)
            self.respond_json(request, {"id": event.id, "t": event.t})
            st.deliver(event)
        elif path == "/stats":
            self.respond_json(request, dict(st.counters, open_connections=st.served,
                                            subscribers=len(st.sse) + len(st.ws)))
        elif path == "/poll":
            since = request.query_int("since", st.hub.last_id(), minimum=0)
            events = st.hub.since(since)
            self.respond_json(request, {"last": events[-1].id if events else since,
                                        "events": [json.loads(e.json) for e in events]})
        elif path == "/stream":
            self.timer.cancel()
            self.mode = "sse"
            head = httpproto.response_head(200, {"Content-Type": "text/event-stream; charset=utf-8",
                                                 "Cache-Control": "no-store"})
            self.transport.write(head + b"retry: 1000\n\n")
            st.sse.add(self)
        else:
            problem = wsproto.handshake_problem(request)
            if problem is not None:
                raise httpproto.HttpError(*problem)
            self.timer.cancel()
            self.mode = "ws"
            self.parser = wsproto.FrameParser(bytes(self.buffer), st.args.ws_max_message)
            self.buffer.clear()
            self.transport.write(httpproto.response_head(101, {
                "Upgrade": "websocket", "Connection": "Upgrade",
                "Sec-WebSocket-Accept": wsproto.accept_key(request.header("sec-websocket-key"))}))
            st.ws.add(self)
            self.ws_items()

    def ws_close(self, code, reason=""):
        self.state.ws.discard(self)
        self.mode = "closing"
        self.transport.write(wsproto.encode_frame(wsproto.OP_CLOSE, wsproto.close_payload(code, reason)))
        asyncio.get_running_loop().call_later(2.0, self.transport.close)

    def ws_items(self):
        while self.mode == "ws":
            item = self.parser.next()
            if item is None:
                return
            kind, opcode, payload = item
            if kind == "control":
                if opcode == wsproto.OP_PING:
                    self.transport.write(wsproto.encode_frame(wsproto.OP_PONG, payload))
                elif opcode == wsproto.OP_CLOSE:
                    code, _ = wsproto.parse_close(payload)
                    self.state.ws.discard(self)
                    self.transport.write(wsproto.encode_frame(
                        wsproto.OP_CLOSE, b"" if code is None else wsproto.close_payload(code)))
                    self.transport.close()
                continue
            if opcode == wsproto.OP_BINARY:
                raise wsproto.ProtocolError(wsproto.CLOSE_UNSUPPORTED_DATA, "text messages only")
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                raise wsproto.ProtocolError(wsproto.CLOSE_INVALID_PAYLOAD, "invalid UTF-8") from None
            self.state.deliver(self.state.hub.publish(text, source="ws"))


async def ticker(state, period):
    n = 0
    while True:
        await asyncio.sleep(period)
        n += 1
        state.deliver(state.hub.publish(f"tick {n}", source="ticker"))


async def serve(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    state = State(args)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Conn(state), args.host, args.port, backlog=args.backlog)
    port = server.sockets[0].getsockname()[1]
    print(f"listening on http://{args.host}:{port}/", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    tasks = [asyncio.ensure_future(ticker(state, args.tick))] if args.tick > 0 else []
    if args.duration > 0:
        loop.call_later(args.duration, stop.set)
    await stop.wait()
    for t in tasks:
        t.cancel()
    server.close()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--tick", type=float, default=0.0)
    p.add_argument("--max-connections", type=int, default=64)
    p.add_argument("--reserve", type=int, default=16)
    p.add_argument("--queue-limit", type=int, default=256 * 1024)
    p.add_argument("--backlog", type=int, default=128)
    p.add_argument("--request-timeout", type=float, default=10.0)
    p.add_argument("--heartbeat", type=float, default=15.0, help="accepted for the same command line")
    p.add_argument("--ws-max-message", type=int, default=65536)
    p.add_argument("--duration", type=float, default=0.0)
    p.add_argument("--quiet", action="store_true")
    asyncio.run(serve(p.parse_args(argv)))


if __name__ == "__main__":
    main()
