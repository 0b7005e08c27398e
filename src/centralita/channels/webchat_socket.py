"""One visitor's WebSocket: frames in through the shared ingest, the chat out from the database.

The database is the source of truth, so any server process can hold the socket: after a
``resume`` frame the socket sends every message of the visitor's chat after the last one the
widget saw, then keeps polling (and is woken at once by the visitor's own messages). It
remembers what it sent, so nothing is sent twice on one socket, and a reconnect resumes from
the widget's last message id, so nothing is missed between sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from centralita.channels import webchat_service
from centralita.channels.base import HttpInbound, MalformedRequest, SignatureError
from centralita.channels.ingress import ingest
from centralita.channels.webchat.adapter import (
    MAX_FRAME_BYTES,
    TOKEN_HEADER,
    MessageFrame,
    ResumeFrame,
    ack_frame,
    error_frame,
    message_frame,
    parse_frame,
)
from centralita.channels.webchat_service import ChatLine, Identity, Widget
from centralita.core.errors import DomainError, NotFound
from centralita.db.finish import to_the_end

if TYPE_CHECKING:
    from centralita.bootstrap import Container

log = logging.getLogger(__name__)

CLOSE_TOO_BIG = 1009
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY = 4429
WINDOW_SECONDS = 10.0
FRAMES_PER_WINDOW = 40  # any frames: beyond this the socket is closed
MESSAGES_PER_WINDOW = 10  # message frames: beyond this one is refused (resend it later)
RESUME_WAIT_SECONDS = 2.0  # a widget that never says where it was gets the whole chat


class _Window:
    """At most ``limit`` events in any ``seconds``-long window."""

    def __init__(self, limit: int, seconds: float = WINDOW_SECONDS) -> None:
        self.limit, self.seconds = limit, seconds
        self._times: deque[float] = deque()

    def allow(self) -> bool:
        now = time.monotonic()
        while self._times and now - self._times[0] > self.seconds:
            self._times.popleft()
        if len(self._times) >= self.limit:
            return False
        self._times.append(now)
        return True


class _Closed(Exception):
    """The socket was closed on purpose; stop both loops."""


class ChatSocket:
    def __init__(
        self,
        container: Container,
        websocket: WebSocket,
        widget: Widget,
        visitor_id: str,
        token: str,
    ) -> None:
        self.container = container
        self.ws = websocket
        self.widget = widget
        self.visitor_id = visitor_id
        self.token = token
        self._after: str | None = None
        self._sent: set[str] = set()
        self._resumed = asyncio.Event()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # frames go out one at a time, acks before echoes
        self._frames = _Window(FRAMES_PER_WINDOW)
        self._messages = _Window(MESSAGES_PER_WINDOW)

    async def run(self) -> None:
        tasks = [
            asyncio.create_task(self._receive_loop(), name="webchat-receive"),
            asyncio.create_task(self._push_loop(), name="webchat-push"),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if exc is not None and not isinstance(exc, _Closed | WebSocketDisconnect):
                    log.error("web chat socket failed", exc_info=exc)
                    with contextlib.suppress(_Closed):
                        await self._close(1011, "server error")
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    # ---- in ---------------------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        while True:
            event = await self.ws.receive()
            if event["type"] == "websocket.disconnect":
                return
            text, data = event.get("text"), event.get("bytes")
            raw = text.encode() if text is not None else (data or b"")
            if len(raw) > MAX_FRAME_BYTES:
                await self._close(
                    CLOSE_TOO_BIG, f"frame too large: at most {MAX_FRAME_BYTES} bytes"
                )
            if not self._frames.allow():
                limit = f"at most {FRAMES_PER_WINDOW} frames in {WINDOW_SECONDS:g} s"
                await self._close(CLOSE_TOO_MANY, f"too many frames: {limit}")
            try:
                frame = parse_frame(raw)
            except MalformedRequest as exc:
                await self._send([error_frame(str(exc))])
                continue
            if isinstance(frame, ResumeFrame):
                self._after = frame.after
                self._sent.clear()
                self._resumed.set()
                self._wake.set()
            elif isinstance(frame, MessageFrame):
                await self._message(frame, raw)

    async def _message(self, frame: MessageFrame, raw: bytes) -> None:
        if not self._messages.allow():
            limit = f"at most {MESSAGES_PER_WINDOW} messages in {WINDOW_SECONDS:g} s"
            await self._send([error_frame(f"rate limited: {limit}; send it again later",
                                          frame.client_id)])  # fmt: skip
            return
        request = HttpInbound(
            method="POST",
            url=f"{self.container.settings.public_base_url.rstrip('/')}/widget/"
            f"{self.widget.config.id}/ws",
            headers={TOKEN_HEADER: self.token, "content-type": "application/json"},
            body=raw,
        )
        async with self._lock:  # the ack goes out before the pushed copy of the message
            try:
                outcome = await to_the_end(
                    ingest(
                        self.container.sessions,
                        self.container.adapters,
                        account_id=self.widget.config.id,
                        request=request,
                        clock=self.container.clock,
                    )
                )
            except SignatureError as exc:
                await self._close(CLOSE_FORBIDDEN, str(exc)[:120])
            except NotFound as exc:
                await self._close(CLOSE_NOT_FOUND, str(exc)[:120])
            except (MalformedRequest, DomainError) as exc:
                await self._send([error_frame(str(exc), frame.client_id)], locked=True)
                return
            stored = outcome.results[0].message.id if outcome.results else None
            await self._send([ack_frame(frame.client_id, stored)], locked=True)
        self._resumed.set()
        self._wake.set()
        email = webchat_service.email_in_text(frame.text)
        if email is not None:
            await to_the_end(self._join(email))

    async def _join(self, email: str) -> None:
        """An email typed into the chat joins the visitor to its contact, like the form."""
        try:
            async with self.container.sessions() as session, session.begin():
                await webchat_service.identify(
                    session, widget=self.widget, visitor_id=self.visitor_id,
                    identity=Identity(email=email),
                )  # fmt: skip
        except DomainError as exc:  # not an address after all, or a merge refused
            log.info("web chat visitor not joined by %s: %s", email, exc)

    # ---- out --------------------------------------------------------------------------------

    async def _push_loop(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._resumed.wait(), RESUME_WAIT_SECONDS)
        poll = self.container.settings.webchat_poll_seconds
        while True:
            self._wake.clear()
            try:
                await self._push_once()
            except SQLAlchemyError:  # a busy or failing-over database: try again next round
                log.warning("web chat push failed; retrying", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll)

    async def _push_once(self) -> None:
        lines = await to_the_end(self._lines())
        fresh = [line for line in lines if line.id not in self._sent]
        if not fresh:
            return
        await self._send([_frame(line) for line in fresh])
        self._sent.update(line.id for line in fresh)
        shown = [line.id for line in fresh if line.delivery_status == "sent"]
        if shown:
            await to_the_end(self._mark_pushed(shown))

    async def _lines(self) -> list[ChatLine]:
        async with self.container.sessions() as session:
            return await webchat_service.visible_lines(
                session, widget=self.widget, visitor_id=self.visitor_id, after=self._after
            )

    async def _mark_pushed(self, message_ids: list[str]) -> None:
        async with self.container.sessions() as session, session.begin():
            await webchat_service.mark_pushed(
                session, tenant_id=self.widget.config.tenant_id, message_ids=message_ids
            )

    async def _send(self, frames: list[dict[str, Any]], *, locked: bool = False) -> None:
        if locked:
            for frame in frames:
                await self.ws.send_text(json.dumps(frame, ensure_ascii=False))
            return
        async with self._lock:
            await self._send(frames, locked=True)

    async def _close(self, code: int, reason: str) -> None:
        """Close with a code and a reason the widget can show, then stop both loops."""
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                await self.ws.close(code, reason)
        raise _Closed(reason)


def _frame(line: ChatLine) -> dict[str, Any]:
    return message_frame(
        message_id=line.id, author=line.author, text=line.text, at=line.at,
        client_id=line.client_id,
    )  # fmt: skip
