"""Edge limits checked before any route reads a request.

``RequestLimits`` (pure ASGI, so it also guards the webhooks) reads the whole body up front
and refuses it when it is too large (413), arrives too slowly (408), or holds JSON nested
too deeply or not in UTF-8 (422). ``header_deadline_protocol`` gives uvicorn the header-read
deadline it lacks. What neither covers (TLS handshakes, many idle sockets, per-client
rates) belongs to the reverse proxy: see docs/api.md, "Limits".
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_INNERMOST = re.compile(rb"\[\]|\{\}")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_JSON_START = frozenset(b"[{")


def json_too_deep(body: bytes, limit: int) -> bool:
    """True when ``body`` nests arrays/objects more than ``limit`` levels deep.

    Works on the bytes at C speed (no recursion, no parse): drop strings, keep brackets,
    then peel one innermost level per pass. Malformed nesting is left to the JSON parser.
    """
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return False
        peeled = _INNERMOST.sub(b"", brackets)  # one pass removes exactly one level
        if peeled == brackets:
            return False  # unbalanced or mismatched: not ours to judge
        brackets = peeled
    return bool(brackets) and _INNERMOST.search(brackets) is not None


def _declares_json(scope: Scope) -> bool:
    return any(
        name == b"content-type" and b"json" in value.lower()
        for name, value in scope.get("headers", [])
    )


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _looks_like_json(scope: Scope, body: bytes) -> bool:
    if _declares_json(scope):
        return True
    stripped = body.lstrip()
    return bool(stripped) and stripped[0] in _JSON_START


class BodyTooLarge(Exception):
    pass


class ClientGone(Exception):
    pass


def _problem(status: int, title: str, detail: str, *, close: bool) -> tuple[Message, Message]:
    body = json.dumps(
        {
            "type": "https://centralita.dev/problems/" + title.lower().replace(" ", "-"),
            "title": title,
            "status": status,
            "detail": detail,
            **({"errors": [{"field": "body", "message": detail}]} if status == 422 else {}),
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:  # the rest of the body is unread: the connection cannot carry another request
        headers.append((b"connection", b"close"))
    return (
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    )


class RequestLimits:
    """Size, read deadline and JSON depth, enforced before the application runs."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        max_json_depth: int = 32,
        body_timeout: float = 30.0,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_json_depth = max_json_depth
        self.body_timeout = body_timeout

    async def _send_problem(
        self, send: Send, status: int, title: str, detail: str, *, close: bool = False
    ) -> None:
        start, body = _problem(status, title, detail, close=close)
        await send(start)
        await send(body)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _declared_too_large(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    return int(value) > self.max_bytes
                except ValueError:
                    return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"the request body exceeds {self.max_bytes} bytes"
        if self._declared_too_large(scope):
            await self._send_problem(send, 413, "Payload too large", too_large, close=True)
            return
        try:
            async with asyncio.timeout(self.body_timeout):
                body = await self._read(receive)
        except BodyTooLarge:
            await self._send_problem(send, 413, "Payload too large", too_large, close=True)
            return
        except TimeoutError:
            detail = f"the request body did not arrive within {self.body_timeout:g} seconds"
            await self._send_problem(send, 408, "Request timeout", detail, close=True)
            return
        except ClientGone:
            return
        if body and _looks_like_json(scope, body) and json_too_deep(body, self.max_json_depth):
            detail = f"the JSON body is nested deeper than {self.max_json_depth} levels"
            await self._send_problem(send, 422, "Invalid input", detail)
            return
        if body and _declares_json(scope) and not _is_utf8(body):
            # JSON travels as UTF-8 (RFC 8259); the parser would only say "error parsing"
            detail = "the JSON body is not valid UTF-8"
            await self._send_problem(send, 422, "Invalid input", detail)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # afterwards only http.disconnect, for streaming routes

        await self.app(scope, replay, send)

    def __repr__(self) -> str:  # pragma: no cover
        return f"RequestLimits(max_bytes={self.max_bytes}, depth={self.max_json_depth})"


# ---- uvicorn: a deadline for reading request headers ----------------------------------------


class _HeaderDeadline:
    """Mixed into uvicorn's HTTP protocol: close a connection whose headers trickle in.

    uvicorn times out idle keep-alive connections but nothing else: a client may open a
    socket, or start a request, and send one header byte a minute forever. The deadline runs
    from the connection's (or the next request's) first byte until its headers are complete.
    It relies on uvicorn's protocol attributes ``cycle`` (replaced when a request's headers
    are complete), ``loop`` and ``transport``; tests/api/test_limits_hardening.py checks it.
    """

    header_timeout: float = 10.0
    cycle: Any
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._deadline: asyncio.TimerHandle | None = None
        self._armed_for: Any = None
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()
        super().data_received(data)  # type: ignore[misc]
        if self._deadline is not None and self.cycle is not self._armed_for:
            self._disarm()  # a new request's headers are complete

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def _arm(self) -> None:
        self._armed_for = self.cycle
        self._deadline = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.cycle is not self._armed_for or self.transport.is_closing():
            return
        if self.transport.get_protocol() is not self:  # type: ignore[comparison-overlap]
            return  # upgraded to a WebSocket: not ours any more
        self.transport.write(
            b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
        )
        self.transport.close()


def header_deadline_protocol(seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's default HTTP protocol class with a header-read deadline of ``seconds``."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    return type(
        "HeaderDeadlineProtocol", (_HeaderDeadline, AutoHTTPProtocol), {"header_timeout": seconds}
    )
