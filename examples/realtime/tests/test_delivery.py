"""Every technique delivers every published event exactly once, in order."""

import json
import threading
import time

import pytest

from wsclient import WsClient

EVENTS = 25
SENTINEL = "end-of-series"


class PollSubscriber:
    def __init__(self, client, path="/poll", extra=""):
        self.client, self.path, self.extra = client, path, extra
        self.conn = client.http(timeout=10)       # one keep-alive connection
        self.since = self._get("/poll")["last"]

    def _get(self, path):
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        body = response.read()
        assert response.status == 200, body
        return json.loads(body)

    def next_events(self):
        reply = self._get(f"{self.path}?since={self.since}{self.extra}")
        self.since = reply["last"]
        if not reply["events"]:
            time.sleep(0.02)
        return reply["events"]

    def close(self):
        self.conn.close()


class LongPollSubscriber(PollSubscriber):
    def __init__(self, client):
        super().__init__(client, "/long-poll", "&timeout=2")


class StreamSubscriber:
    def __init__(self, client):
        self.conn = client.http(timeout=10)
        self.conn.request("GET", "/stream")
        self.response = self.conn.getresponse()   # headers: subscribed
        assert self.response.status == 200
        assert self.response.getheader("Content-Type").startswith("text/event-stream")

    def next_events(self):
        data = []
        while True:
            line = self.response.readline()
            assert line, "stream ended"
            line = line.decode("utf-8").rstrip("\n")
            if line.startswith("data:"):
                data.append(line[5:].lstrip())
            elif line == "" and data:
                return [json.loads("\n".join(data))]
            elif line == "":
                return []

    def close(self):
        self.response.close()      # the response holds the socket open too
        self.conn.close()


class WebSocketSubscriber:
    def __init__(self, client):
        self.ws = WsClient(client.host, client.port, timeout=10)
        assert self.ws.status == 101

    def next_events(self):
        _, opcode, payload = self.ws.read_frame()
        return [json.loads(payload)] if opcode == 0x1 else []

    def close(self):
        self.ws.close()


SUBSCRIBERS = {"poll": PollSubscriber, "long-poll": LongPollSubscriber,
               "stream": StreamSubscriber, "ws": WebSocketSubscriber}


def collect_until_sentinel(subscriber, limit=500):
    received = []
    for _ in range(limit):
        for event in subscriber.next_events():
            if event["data"] == SENTINEL:
                return received
            received.append(event)
    raise AssertionError(f"no sentinel after {limit} reads; got {len(received)} events")


@pytest.mark.parametrize("technique", sorted(SUBSCRIBERS))
def test_each_event_exactly_once_in_order(client, technique):
    subscriber = SUBSCRIBERS[technique](client)
    try:
        # Published from another thread while the subscriber reads: bursts
        # and gaps both happen, so batching and waiting are both exercised.
        def publish_series():
            conn = client.http()
            for i in range(EVENTS):
                client.publish(f"event {i}", conn)
                if i % 5 == 0:
                    time.sleep(0.03)
            client.publish(SENTINEL, conn)
            conn.close()

        publisher = threading.Thread(target=publish_series, daemon=True)
        publisher.start()
        received = collect_until_sentinel(subscriber)
        publisher.join(timeout=10)
    finally:
        subscriber.close()
    assert [e["data"] for e in received] == [f"event {i}" for i in range(EVENTS)]
    ids = [e["id"] for e in received]
    assert ids == list(range(ids[0], ids[0] + EVENTS))
    assert all(e["source"] == "publish" and e["t"] > 0 for e in received)


def test_poll_returns_history_and_last(client):
    first = client.publish("a")["id"]
    client.publish("b")
    reply = client.get_json(f"/poll?since={first - 1}")
    assert [e["data"] for e in reply["events"]] == ["a", "b"]
    assert reply["last"] == first + 1
    assert client.get_json(f"/poll?since={first + 1}") == {"last": first + 1, "events": []}


def test_long_poll_times_out_empty_and_resynchronises_stale_clients(client):
    last = client.publish("x")["id"]
    started = time.monotonic()
    reply = client.get_json(f"/long-poll?since={last}&timeout=1")
    assert reply == {"last": last, "events": []}
    assert 0.8 < time.monotonic() - started < 4.0     # loose: held about the timeout
    # A client from an earlier server run (since beyond the last id) is told at once.
    assert client.get_json(f"/long-poll?since={last + 100}&timeout=5")["last"] == last


def test_stream_resumes_from_last_event_id(client):
    first = client.publish("one")["id"]
    client.publish("two")
    conn = client.http()
    conn.request("GET", "/stream", headers={"Last-Event-ID": str(first)})
    response = conn.getresponse()
    lines = []
    while len([line for line in lines if line.startswith(b"data:")]) < 1:
        lines.append(response.readline())
    response.close()
    conn.close()
    assert lines[0] == b"retry: 1000\n"
    assert b"id: %d\n" % (first + 1) in lines
    assert json.loads([line for line in lines if line.startswith(b"data:")][0][5:])["data"] == "two"


def test_ticker_publishes_by_itself(server_factory):
    from conftest import Client
    client = Client(server_factory(tick=0.05))
    deadline = time.monotonic() + 5
    events = []
    while len(events) < 2 and time.monotonic() < deadline:
        events = client.get_json("/poll?since=0")["events"]
        time.sleep(0.05)
    assert [e["data"] for e in events[:2]] == ["tick 1", "tick 2"]
    assert events[0]["source"] == "ticker"


def test_subscribers_from_the_future_start_with_the_next_event(client):
    last = client.publish("before")["id"]
    ws = WsClient(client.host, client.port, path=f"/ws?since={last + 1000}")
    conn = client.http()
    conn.request("GET", "/stream", headers={"Last-Event-ID": str(last + 1000)})
    response = conn.getresponse()
    try:
        client.publish("after")
        event = json.loads(ws.read_until_opcode(0x1))
        assert (event["id"], event["data"]) == (last + 1, "after")
        lines = [response.readline() for _ in range(4)]   # retry, blank, id, data
        assert lines[2] == b"id: %d\n" % (last + 1)
        assert json.loads(lines[3][5:])["data"] == "after"
    finally:
        ws.close()
        response.close()
        conn.close()


def test_websocket_since_replays_history(client):
    first = client.publish("h1")["id"]
    client.publish("h2")
    ws = WsClient(client.host, client.port, path=f"/ws?since={first - 1}")
    try:
        got = [json.loads(ws.read_until_opcode(0x1))["data"] for _ in range(2)]
    finally:
        ws.close()
    assert got == ["h1", "h2"]
