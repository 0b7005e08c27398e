"""The HTTP shell: applies Idempotency-Key to every POST under /api/v1 (pure ASGI).

It sits between the request limits and the routes: it buffers the (already size-checked)
body, authenticates the caller to scope the key, claims the key in a short transaction, runs
the route, and stores the response in another. No connection is held while the route runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from centralita.access import service as access_service
from centralita.access.principal import Principal
from centralita.api.deps import SESSION_COOKIE
from centralita.api.errors import problem
from centralita.idempotency import service
from centralita.idempotency.rules import (
    InvalidKey,
    Outcome,
    fingerprint,
    validate_key,
)

if TYPE_CHECKING:
    from centralita.bootstrap import Container

log = logging.getLogger(__name__)
HEADER = b"idempotency-key"
REPLAYED = b"idempotent-replayed"
PREFIX = "/api/v1/"
CLAIM_ATTEMPTS = 3


def _headers(scope: Scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope.get("headers", []) if key == name]


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or None when the client went away first."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that hands out ``body`` once, then defers to the real one (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


@dataclass
class _Lease:
    """The claim a running request holds; ``token`` changes each time the lease is renewed."""

    record_id: str
    token: datetime


async def _stop(task: asyncio.Task[None], stopping: asyncio.Event) -> None:
    """Let a renewal in flight finish (cancelling it could lose the new token), then stop."""
    stopping.set()
    await task


# The claim of the request running in this context, for the commit hook below.
_ACTIVE: ContextVar[_Lease | None] = ContextVar("idempotency_lease", default=None)


def _mark_committed(session: Session) -> None:
    """SQLAlchemy ``before_commit``: a keyed request's transaction marks its key committed.

    Same transaction, so "it changed data" and "its key says so" cannot disagree: a crash
    before the response is stored no longer lets a retry run the request twice.
    """
    lease = _ACTIVE.get()
    if lease is not None:
        service.mark_committed(session, record_id=lease.record_id)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, container: Container) -> None:
        self.app = app
        self.container = container
        if not event.contains(Session, "before_commit", _mark_committed):
            event.listen(Session, "before_commit", _mark_committed)

    @property
    def _clock(self) -> Callable[[], datetime]:
        return self.container.clock  # read each time: tests move it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].startswith(PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        raw = _headers(scope, HEADER)
        if not raw:
            await self.app(scope, receive, send)
            return
        try:
            if len(raw) > 1:
                raise InvalidKey("send one Idempotency-Key header, not several")
            key = validate_key(raw[0].decode("latin-1"))
        except InvalidKey as exc:
            response = problem(
                400,
                "Bad request",
                str(exc),
                [{"field": "header.Idempotency-Key", "message": str(exc)}],
            )
            await response(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return
        await self._handle(scope, replaying(body, receive), send, key, body)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, key: str, body: bytes
    ) -> None:
        settings = self.container.settings
        request_fp = fingerprint(
            scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"), body
        )
        claim: service.Claim | None = None
        principal: Principal | None = None
        for attempt in range(CLAIM_ATTEMPTS):
            now = self._clock()
            try:
                async with self.container.sessions() as session, session.begin():
                    principal = await self._principal(session, scope)
                    if principal is None:
                        break  # the route answers 401 itself
                    claim = await service.claim_key(
                        session,
                        tenant_id=principal.tenant_id,
                        principal=principal.actor,
                        key=key,
                        fingerprint=request_fp,
                        now=now,
                        ttl=timedelta(hours=settings.idempotency_ttl_hours),
                        lease=timedelta(seconds=settings.idempotency_lease_seconds),
                    )
                break
            except service.ClaimRaced:
                if attempt == CLAIM_ATTEMPTS - 1:
                    claim = service.Claim(Outcome.IN_PROGRESS)
        if principal is None or claim is None:
            await self.app(scope, receive, send)
            return
        if claim.outcome is Outcome.REPLAY:
            assert claim.response is not None
            await self._replay(claim.response, send)
        elif claim.outcome is Outcome.MISMATCH:
            detail = (
                "this Idempotency-Key was already used with a different request "
                "(method, path or body); use a new key for a new request"
            )
            field = [{"field": "header.Idempotency-Key", "message": detail}]
            await problem(422, "Idempotency key reused", detail, field)(scope, receive, send)
        elif claim.outcome is Outcome.LOST:
            detail = (
                "the request with this Idempotency-Key changed data, but the server stopped "
                "before recording its response; check the result before sending a new request "
                "with a new key"
            )
            await problem(409, "Outcome unknown", detail)(scope, receive, send)
        elif claim.outcome is Outcome.IN_PROGRESS:
            detail = "a request with this Idempotency-Key is still being processed; retry later"
            response = problem(409, "Conflict", detail, headers={"Retry-After": "1"})
            await response(scope, receive, send)
        else:
            await self._run(scope, receive, send, claim)

    async def _principal(self, session: AsyncSession, scope: Scope) -> Principal | None:
        auth = b"".join(_headers(scope, b"authorization")[:1]).decode("latin-1")
        if auth:
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return None
            return await access_service.authenticate_api_key(session, token=token.strip())
        cookies = cookie_parser(b"; ".join(_headers(scope, b"cookie")).decode("latin-1"))
        cookie = cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        idle = timedelta(minutes=self.container.settings.session_idle_minutes)
        # real time, as the route's own authentication uses: only key expiry follows the clock
        return await access_service.resolve_session(session, token=cookie, idle=idle)

    async def _run(self, scope: Scope, receive: Receive, send: Send, claim: service.Claim) -> None:
        assert claim.record_id is not None and claim.lease_token is not None
        lease = _Lease(claim.record_id, claim.lease_token)
        status = 0
        content_type: str | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        stopping = asyncio.Event()
        heartbeat = asyncio.create_task(
            self._keep_leased(lease, stopping), name="idempotency-lease"
        )
        active = _ACTIVE.set(lease)  # after creating the heartbeat: its commits are not ours
        try:
            await self.app(scope, receive, capture)
        except BaseException:
            _ACTIVE.reset(active)
            await asyncio.shield(_stop(heartbeat, stopping))
            await asyncio.shield(self._release(lease))
            raise
        _ACTIVE.reset(active)
        await _stop(heartbeat, stopping)
        stored = service.StoredResponse(status, content_type, b"".join(chunks))
        await asyncio.shield(self._finish(lease, stored))

    async def _keep_leased(self, lease: _Lease, stopping: asyncio.Event) -> None:
        """While the request runs, renew its lease, so only a dead process loses the key."""
        length = timedelta(seconds=self.container.settings.idempotency_lease_seconds)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), length.total_seconds() / 3)
            if stopping.is_set():
                return
            until = self._clock() + length
            try:
                async with self.container.sessions() as session, session.begin():
                    kept = await service.extend_lease(
                        session, record_id=lease.record_id, lease_token=lease.token, until=until
                    )
            except Exception:  # try again next round; the lease still has two thirds left
                log.exception("could not renew idempotency key %s", lease.record_id)
                continue
            if not kept:
                return
            lease.token = until

    async def _finish(self, lease: _Lease, stored: service.StoredResponse) -> None:
        try:
            async with self.container.sessions() as session, session.begin():
                await service.finish_key(
                    session,
                    record_id=lease.record_id,
                    lease_token=lease.token,
                    response=stored,
                    now=self._clock(),
                )
        except Exception:  # the response is already sent; the lease frees the key later
            log.exception("could not store the response for idempotency key %s", lease.record_id)

    async def _release(self, lease: _Lease) -> None:
        try:
            async with self.container.sessions() as session, session.begin():
                await service.release_key(
                    session, record_id=lease.record_id, lease_token=lease.token
                )
        except Exception:
            log.exception("could not release idempotency key %s", lease.record_id)

    @staticmethod
    async def _replay(stored: service.StoredResponse, send: Send) -> None:
        headers = [
            (b"content-length", str(len(stored.body)).encode()),
            (REPLAYED, b"true"),
        ]
        if stored.content_type:
            headers.append((b"content-type", stored.content_type.encode("latin-1")))
        await send({"type": "http.response.start", "status": stored.status, "headers": headers})
        await send({"type": "http.response.body", "body": stored.body})
