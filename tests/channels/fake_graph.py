"""A local stand-in for the WhatsApp Cloud API's send endpoint, built from its documented wire
format: ``POST /{version}/{phone_number_id}/messages`` with ``Authorization: Bearer <token>``
and a JSON body (``messaging_product``, ``to``, ``type``, ``text.body``); 200 with
``{"messaging_product", "contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid...."}]}``,
or ``{"error": {"message", "type", "code", "fbtrace_id"}}``. Records what it accepted."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.channels.stand_in import JsonHandler, serve


@dataclass
class FakeGraph:
    url: str
    phone_number_id: str
    token: str
    sent: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[int, int, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: FakeGraph) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def _error(self, status: int, code: int, message: str) -> None:
            self.reply(
                status,
                {"error": {"message": message, "type": "OAuthException", "code": code,
                           "fbtrace_id": "A" + secrets.token_hex(8)}},
            )  # fmt: skip

        def do_POST(self) -> None:
            raw = self.read_body()
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                self._error(401, 190, "Invalid OAuth access token.")
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
                state.sent.append({"id": wamid, "path": self.path, **data})
            self.reply(
                200,
                {"messaging_product": "whatsapp",
                 "contacts": [{"input": data["to"], "wa_id": data["to"]}],
                 "messages": [{"id": wamid}]},
            )  # fmt: skip

    return Handler


@contextmanager
def fake_graph(phone_number_id: str, token: str) -> Iterator[FakeGraph]:
    state = FakeGraph("", phone_number_id, token)
    with serve(lambda _: _handler(state)) as url:
        state.url = url
        yield state
