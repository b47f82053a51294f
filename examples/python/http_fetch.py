"""Fetch a URL with the standard library's urllib, on sockrt sockets.

    python examples/python/http_fetch.py http://127.0.0.1:8000/ [more URLs...]

Nothing in urllib or http.client changes: sockrt.patch() makes the standard
socket module hand out sockrt sockets, so every connection below is one.
Prints one line per URL: "GET <url> <status> <bytes> bytes via <socket class>".
"""

from __future__ import annotations

import sys
import urllib.request

import sockrt


def main(urls: list) -> int:
    if not urls:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    sockrt.patch()
    for url in urls:
        with urllib.request.urlopen(url, timeout=10) as resp:
            # The response reads from sock.makefile(): its raw file holds the socket.
            sock = resp.fp.raw._sock
            kind = f"{type(sock).__module__}.{type(sock).__qualname__}"
            body = resp.read()
            print(f"GET {url} {resp.status} {len(body)} bytes via {kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
