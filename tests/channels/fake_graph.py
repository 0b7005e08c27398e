"""A local stand-in for the WhatsApp Cloud API, built from its documented wire format.

- ``POST /{version}/{phone_number_id}/messages`` with ``Authorization: Bearer <token>`` and a
  JSON body (``messaging_product``, ``to``, ``type`` and its object); 200 with
  ``{"messaging_product", "contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid...."}]}``,
  or ``{"error": {"message", "type", "code", "fbtrace_id"}}``. Records what it accepted and
  when it arrived (``at``, monotonic seconds).
- ``GET /{version}/{media_id}``: ``{"messaging_product", "url", "mime_type", "sha256",
  "file_size", "id"}``; an unknown id is a 400 with code 100, as Meta answers.
- ``GET {url}`` (the media URL, bearer token required): the file's bytes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.channels.stand_in import JsonHandler, serve


@dataclass
class Media:
    data: bytes
    mime_type: str
    sha256: str | None = None  # None: the hash of ``data``, as hex
    file_size: int | None = None  # None: len(data)


@dataclass
class FakeGraph:
    url: str
    phone_number_id: str
    token: str
    sent: list[dict[str, Any]] = field(default_factory=list)
    # (HTTP status, Graph error code, message) answered to the next sends, in order
    failures: list[tuple[int, int, str]] = field(default_factory=list)
    media: dict[str, Media] = field(default_factory=dict)
    media_failures: list[tuple[int, int, str]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of GETs
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_media(self, media_id: str, data: bytes, mime_type: str, **kw: Any) -> Media:
        self.media[media_id] = Media(data, mime_type, **kw)
        return self.media[media_id]


def _handler(state: FakeGraph) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def _error(self, status: int, code: int, message: str) -> None:
            self.reply(
                status,
                {"error": {"message": message, "type": "OAuthException", "code": code,
                           "fbtrace_id": "A" + secrets.token_hex(8)}},
            )  # fmt: skip

        def _authorised(self) -> bool:
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                self._error(401, 190, "Invalid OAuth access token.")
                return False
            return True

        def do_POST(self) -> None:
            raw = self.read_body()
            arrived = time.monotonic()
            if not self._authorised():
                return
            if not self.path.endswith(f"/{state.phone_number_id}/messages"):
                self._error(400, 100, "Unsupported post request.")
                return
            with state.lock:
                failure = state.failures.pop(0) if state.failures else None
            if failure is not None:
                self._error(*failure)
                return
            data = json.loads(raw)
            if data.get("messaging_product") != "whatsapp" or not data.get("to"):
                self._error(400, 100, "Invalid parameter")
                return
            wamid = "wamid." + secrets.token_hex(12)
            with state.lock:
                state.sent.append({"id": wamid, "path": self.path, "at": arrived, **data})
            self.reply(
                200,
                {"messaging_product": "whatsapp",
                 "contacts": [{"input": data["to"], "wa_id": data["to"]}],
                 "messages": [{"id": wamid}]},
            )  # fmt: skip

        def do_GET(self) -> None:
            with state.lock:
                state.requests.append(("GET", self.path))
            if not self._authorised():
                return
            parts = self.path.split("?", 1)[0].strip("/").split("/")
            if len(parts) == 2 and parts[0] == "download":
                self._download(parts[1])
            elif len(parts) == 2:
                self._describe(parts[1])
            else:
                self._error(400, 100, "Unsupported get request.")

        def _describe(self, media_id: str) -> None:
            with state.lock:
                failure = state.media_failures.pop(0) if state.media_failures else None
            if failure is not None:
                self._error(*failure)
                return
            media = state.media.get(media_id)
            if media is None:
                self._error(
                    400, 100, f"Unsupported get request. Object with ID '{media_id}' does "
                    "not exist, cannot be loaded due to missing permissions, or does not "
                    "support this operation.",
                )  # fmt: skip
                return
            self.reply(
                200,
                {"messaging_product": "whatsapp",
                 "url": f"{state.url}/download/{media_id}?ext=1&hash=x",
                 "mime_type": media.mime_type,
                 "sha256": media.sha256 or hashlib.sha256(media.data).hexdigest(),
                 "file_size": media.file_size if media.file_size is not None else len(media.data),
                 "id": media_id},
            )  # fmt: skip

        def _download(self, media_id: str) -> None:
            media = state.media.get(media_id)
            if media is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", media.mime_type)
            self.send_header("Content-Length", str(len(media.data)))
            self.end_headers()
            self.wfile.write(media.data)

    return Handler


@contextmanager
def fake_graph(phone_number_id: str, token: str) -> Iterator[FakeGraph]:
    state = FakeGraph("", phone_number_id, token)
    with serve(lambda _: _handler(state)) as url:
        state.url = url
        yield state
