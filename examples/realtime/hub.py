"""The event hub: an append-only, bounded history of events and a condition
variable that wakes every subscriber waiting for news.

Each event is serialised to JSON once, when it is published, so that a
thousand subscribers do not serialise it a thousand times.
"""

import collections
import itertools
import json
import threading
import time


class Event:
    __slots__ = ("id", "t", "data", "source", "json")

    def __init__(self, event_id, t, data, source):
        self.id = event_id
        self.t = t
        self.data = data
        self.source = source
        self.json = json.dumps({"id": event_id, "t": t, "data": data, "source": source},
                               separators=(",", ":"))


class EventHub:
    """Events get consecutive ids starting at 1; `since=N` means "after id N"."""

    def __init__(self, history=1000):
        self._cond = threading.Condition()
        self._events = collections.deque(maxlen=history)
        self._last_id = 0
        self._closed = False

    @property
    def closed(self):
        return self._closed

    def last_id(self):
        with self._cond:
            return self._last_id

    def publish(self, data, source="publish"):
        with self._cond:
            if self._closed:
                raise RuntimeError("hub closed")
            self._last_id += 1
            event = Event(self._last_id, time.time(), data, source)
            self._events.append(event)
            self._cond.notify_all()
            return event

    def _after(self, since):
        # Ids in the deque are consecutive, so the start is computed, not searched.
        if not self._events or since >= self._last_id:
            return []
        first = self._events[0].id
        start = max(0, since - first + 1)
        return list(itertools.islice(self._events, start, None))

    def since(self, since):
        """Events after `since` still in the history (oldest first), now."""
        with self._cond:
            return self._after(since)

    def wait(self, since, timeout, cancelled=None):
        """Events after `since`, waiting up to `timeout` seconds for the first
        one. Returns [] on timeout, when the hub closes, or once `cancelled()`
        is true (checked whenever the hub is kicked)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                events = self._after(since)
                if events or self._closed or (cancelled is not None and cancelled()):
                    return events
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(remaining)

    def kick(self):
        """Wakes every waiter so that it re-checks its `cancelled` predicate."""
        with self._cond:
            self._cond.notify_all()

    def close(self):
        with self._cond:
            self._closed = True
            self._cond.notify_all()
