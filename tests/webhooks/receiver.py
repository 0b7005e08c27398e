"""A webhook receiver written only from docs/webhooks.md: standard library, no Centralita code.

It verifies ``Centralita-Signature`` with any of the secrets it holds (two during a rotation),
refuses stale timestamps, drops repeated event ids, and keeps what it accepted. Run it as a
local HTTP server (``Receiver().start()``) or from the command line::

    python tests/webhooks/receiver.py --secret whsec_... --port 8088
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_SECONDS = 300


def verify(secrets: list[str], header: str, body: bytes, now: float, tolerance: int) -> str:
    """'' when one secret verifies the request; otherwise why not."""
    timestamp = None
    signatures = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not timestamp.isdigit() or not signatures:
        return "malformed signature header"
    if abs(now - int(timestamp)) > tolerance:
        return "timestamp outside the tolerance"
    signed = timestamp.encode() + b"." + body
    for secret in secrets:
        expected = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, s) for s in signatures):
            return ""
    return "no signature matches"


class _Server(ThreadingHTTPServer):
    request_queue_size = 64  # bursts of concurrent deliveries must not be refused
    daemon_threads = True


class Receiver:
    def __init__(self, secrets: list[str] | None = None, tolerance: int = TOLERANCE_SECONDS):
        self.secrets = list(secrets or [])
        self.tolerance = tolerance
        self.events: list[dict[str, Any]] = []  # accepted, first copy of each id only
        self.duplicates: list[str] = []
        self.rejected: list[str] = []  # the reasons
        self.headers: list[dict[str, str]] = []
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._host = "127.0.0.1"

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{self._host}:{self._server.server_port}/hooks/centralita"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Receiver:
        receiver = self
        self._host = host

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)  # raw bytes: verify before parsing
                status = receiver.handle(dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = _Server((host, port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            reason = verify(
                self.secrets,
                lowered.get("centralita-signature", ""),
                body,
                time.time(),
                self.tolerance,
            )
            if reason:
                self.rejected.append(reason)
                self._arrived.notify_all()
                return 401
            event = json.loads(body)
            self.headers.append(lowered)
            if event["id"] in self._seen:
                self.duplicates.append(event["id"])
            else:
                self._seen.add(event["id"])
                self.events.append(event)
            self._arrived.notify_all()
            return 204

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until ``count`` distinct events have been accepted (or the timeout)."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.events) >= count, timeout=timeout)
            return list(self.events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--secret", action="append", required=True, help="repeat for two")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    args = parser.parse_args()
    receiver = Receiver(args.secret).start(args.host, args.port)
    print(f"listening on {receiver.url}")
    shown = 0
    try:
        while True:
            time.sleep(1)
            for event in receiver.events[shown:]:
                print(event["id"], event["type"], json.dumps(event["data"]))
            shown = len(receiver.events)
    except KeyboardInterrupt:
        receiver.stop()


if __name__ == "__main__":
    main()
