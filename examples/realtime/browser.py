"""Drives headless Chromium over the DevTools protocol on a pipe, to load
the demo page, let it run for a few seconds in real time, then read the
rendered DOM and take a screenshot.

(`--dump-dom` and `--screenshot` act at the load event, before any event
has arrived; `--virtual-time-budget` never expires while a long poll or an
event stream is open. So the page is driven over `--remote-debugging-pipe`:
the browser reads commands on descriptor 3 and answers on descriptor 4, as
JSON messages ending in a NUL byte.)

    python browser.py http://127.0.0.1:8080/ --seconds 4 --screenshot page.png
"""

import argparse
import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio",
]


def find_chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


class DevToolsPipe:
    def __init__(self, write_fd, read_fd):
        self._out = os.fdopen(write_fd, "wb", buffering=0)
        self._in = os.fdopen(read_fd, "rb", buffering=0)
        self._buffer = b""
        self._next_id = 0

    def call(self, method, params=None, session=None, timeout=20.0):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._out.write(json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            # Anything else is an unsolicited event: not needed here.
        raise TimeoutError(f"{method}: no answer from the browser")

    def _read_message(self, deadline):
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("browser went quiet")
            chunk = os.read(self._in.fileno(), 65536)
            if not chunk:
                raise ConnectionError("browser closed the DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def close(self):
        self._out.close()
        self._in.close()


def run_page(url, seconds=4.0, screenshot=None, wait_for=None, width=1400, height=700, chromium=None):
    """Loads `url` and lets it run for `seconds` (or, with `wait_for`, a
    JavaScript expression, until it is true, for at most `seconds`), then
    returns the rendered DOM (outerHTML). Writes a PNG to `screenshot` if
    given. Stops only the browser it started."""
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("chromium is not installed")
    profile = tempfile.mkdtemp(prefix="realtime-chromium-")
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()

    def wire_descriptors():  # in the child: 3 = commands in, 4 = answers out
        # Lift both ends above 4 first, so neither dup2 clobbers the other.
        commands = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
        answers = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
        os.dup2(commands, 3)
        os.dup2(answers, 4)

    args = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
            f"--window-size={width},{height}", "--remote-debugging-pipe", "about:blank"]
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, preexec_fn=wire_descriptors,
                            close_fds=False)  # our descriptors are close-on-exec anyway
    os.close(to_browser_r)
    os.close(from_browser_w)
    pipe = DevToolsPipe(to_browser_w, from_browser_r)
    try:
        target = pipe.call("Target.createTarget", {"url": url})["targetId"]
        session = pipe.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        _let_run(pipe, session, seconds, wait_for)
        dom = _evaluate(pipe, session, "document.documentElement.outerHTML")
        if screenshot:
            png = pipe.call("Page.captureScreenshot", {"format": "png"}, session)["data"]
            with open(screenshot, "wb") as f:
                f.write(base64.b64decode(png))
        try:
            pipe.call("Browser.close", timeout=5.0)
        except (OSError, RuntimeError, ValueError):
            pass
        return dom
    finally:
        pipe.close()
        try:
            proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            proc.kill()            # only the browser this function started
            proc.wait(timeout=5.0)
        shutil.rmtree(profile, ignore_errors=True)


def _evaluate(pipe, session, expression):
    reply = pipe.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
    return reply["result"].get("value")


def _let_run(pipe, session, seconds, wait_for):
    """Real time passes: the page polls, long-polls and streams meanwhile."""
    deadline = time.monotonic() + seconds
    if wait_for is None:
        time.sleep(seconds)
        return
    while time.monotonic() < deadline:
        if _evaluate(pipe, session, f"Boolean({wait_for})"):
            return
        time.sleep(0.2)


def main():
    parser = argparse.ArgumentParser(description="Load the demo page in headless Chromium.")
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--screenshot", help="PNG file to write")
    parser.add_argument("--dom", help="file for the rendered DOM (default: standard output)")
    args = parser.parse_args()
    dom = run_page(args.url, args.seconds, args.screenshot)
    if args.dom:
        with open(args.dom, "w", encoding="utf-8") as f:
            f.write(dom)
    else:
        print(dom)


if __name__ == "__main__":
    main()
