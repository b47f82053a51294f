"""The demo page: served at GET /, and run for real in headless Chromium,
which must show events arriving through all four techniques."""

import html.parser
import os
import sys
import threading
import time

import pytest

import browser
from conftest import Client

TECHNIQUES = ("poll", "long-poll", "stream", "ws")
MARKER = "marker from the test"
SCREENSHOT_DIR = os.environ.get("REALTIME_OUT")


class IdText(html.parser.HTMLParser):
    """Text content of every element that has an id (and of its children)."""

    def __init__(self):
        super().__init__()
        self.open = []          # (id or None) per open element
        self.text = {}

    def handle_starttag(self, tag, attrs):
        if tag in ("meta", "input", "br", "img", "link"):
            return
        element_id = dict(attrs).get("id")
        self.open.append(element_id)
        if element_id:
            self.text.setdefault(element_id, "")

    def handle_endtag(self, tag):
        if self.open and tag not in ("meta", "input", "br", "img", "link"):
            self.open.pop()

    def handle_data(self, data):
        for element_id in self.open:
            if element_id:
                self.text[element_id] += data


def test_page_is_served_with_every_panel(client):
    status, headers, body = client.get("/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    page = body.decode("utf-8")
    for name in TECHNIQUES:
        assert f'id="{name}"' in page
    for url in ('"/poll', '"/long-poll', 'EventSource("/stream")', '+ "/ws"'):
        assert url in page


def test_chromium_shows_events_through_all_four_techniques(server_factory):
    if browser.find_chromium() is None:
        banner = "*" * 72
        message = ("chromium is not installed and could not be installed here: "
                   "the headless browser test is SKIPPED")
        print(f"\n{banner}\n{message}\n{banner}", file=sys.stderr)
        pytest.skip(message)
    server = server_factory(tick=0.5, io_timeout=10.0, heartbeat=5.0, long_poll_max=30.0)
    client = Client(server)

    def publish_marker():
        # Once the page's long poll, stream and WebSocket are connected,
        # publish through POST: every panel must then show it.
        deadline = time.monotonic() + 20
        while server.open_connections() < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        client.publish(MARKER)

    threading.Thread(target=publish_marker, daemon=True).start()
    screenshot = None
    if SCREENSHOT_DIR:
        os.makedirs(SCREENSHOT_DIR, exist_ok=True)
        screenshot = os.path.join(SCREENSHOT_DIR, "page.png")
    marker_everywhere = " && ".join(
        f'document.getElementById("log-{name}").textContent.includes("{MARKER}") && '
        f'Number(document.getElementById("count-{name}").textContent) >= 3' for name in TECHNIQUES)
    dom = browser.run_page(server.url + "/?poll_ms=250", seconds=20.0, screenshot=screenshot,
                           wait_for=marker_everywhere)
    parser = IdText()
    parser.feed(dom)
    text = parser.text
    summary = {name: (text.get(f"count-{name}"), text.get(f"state-{name}")) for name in TECHNIQUES}
    for name in TECHNIQUES:
        assert int(text[f"count-{name}"]) >= 3, summary
        assert text[f"state-{name}"] == "live", summary
        assert text[f"anomalies-{name}"] == "0", summary
        assert MARKER in text[f"log-{name}"], text[f"log-{name}"]
        assert text[f"latency-{name}"].endswith(" ms"), summary
    # The stream and the WebSocket each took one request; the polls several.
    assert text["requests-stream"] == "1" and text["requests-ws"] == "1"
    assert int(text["requests-poll"]) >= 2 and int(text["requests-long-poll"]) >= 2
