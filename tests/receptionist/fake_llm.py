"""A local HTTP server that speaks the OpenAI chat-completions wire format.

It records every request (path, headers and the raw body bytes) and answers as told: tool
calls in the documented shape (``arguments`` is a JSON *string*), plain text, an HTTP error,
a body that is not JSON, or nothing until the client has given up.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def completion(model: str, message: dict[str, Any], finish_reason: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": {"prompt_tokens": 321, "completion_tokens": 42, "total_tokens": 363},
    }


def tool_message(*calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"call_{secrets.token_hex(8)}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
            for name, arguments in calls
        ],
    }


class FakeLlm:
    """Answers every POST to ``/v1/chat/completions`` with the current reply."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._reply: tuple[int, bytes] | None = None
        self._message: dict[str, Any] | None = None
        self._finish = "tool_calls"
        self.delay = 0.0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.answer_with_tools(("classify_turn", {"intent": "other"}))

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    # ---- what to answer ----

    def answer_with_tools(self, *calls: tuple[str, dict[str, Any]]) -> None:
        self._reply, self._message, self._finish = None, tool_message(*calls), "tool_calls"

    def answer_with_message(self, message: dict[str, Any], finish_reason: str = "stop") -> None:
        """Any assistant message, e.g. plain text or hand-broken tool calls."""
        self._reply, self._message, self._finish = None, message, finish_reason

    def answer_raw(self, status: int, body: bytes) -> None:
        self._reply = (status, body)

    # ---- plumbing ----

    def _respond(self, request_body: bytes) -> tuple[int, bytes]:
        if self._reply is not None:
            return self._reply
        model = json.loads(request_body).get("model", "")
        assert self._message is not None
        return 200, json.dumps(completion(model, self._message, self._finish)).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                fake.requests.append(
                    Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                if self.path != PATH:
                    status, payload = 404, b'{"error": {"message": "not found"}}'
                else:
                    time.sleep(fake.delay)
                    status, payload = fake._respond(body)
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up waiting (the timeout tests)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> FakeLlm:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def running_fake_llm() -> Iterator[FakeLlm]:
    fake = FakeLlm().start()
    try:
        yield fake
    finally:
        fake.stop()
