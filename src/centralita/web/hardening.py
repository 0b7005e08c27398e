"""The ASGI middleware that puts ``web/headers.py``'s security headers on every response."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from centralita.web.headers import docs_csp, is_docs, merge, security_headers

FRAME_ORIGINS = "frame_origins"  # request.state: sites that may frame this one response


class SecurityHeaders:
    """Adds what a response does not set itself: HTML, JSON, static files and errors alike."""

    def __init__(self, app: ASGIApp, *, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})  # shared with request.state, even in a copied scope
        if is_docs(scope.get("path", "")):
            await self._docs(scope, receive, send)
            return

        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._add(scope, message)
            await send(message)

        await self.app(scope, receive, send_hardened)

    def _add(self, scope: Scope, message: Message, csp: str | None = None) -> None:
        headers = MutableHeaders(scope=message)
        state: dict[str, Any] = scope.get("state") or {}
        wanted = security_headers(
            content_type=headers.get("content-type", ""),
            secure=self.secure,
            frame_origins=state.get(FRAME_ORIGINS) or (),
        )
        if csp is not None:
            wanted["Content-Security-Policy"] = csp
        for name, value in merge(headers, wanted).items():
            headers.append(name, value)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The docs page is small: hold it, hash its inline script, then send it."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def hold(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            assert start is not None
            body = b"".join(chunks)
            self._add(scope, start, csp=docs_csp(body.decode("utf-8", "replace")))
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, hold)
