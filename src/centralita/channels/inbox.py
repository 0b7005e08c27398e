"""Accept-then-process ingest (``CENTRALITA_INGEST_MODE=inbox``).

The inline pipeline (channels/ingress.py) stores a webhook's messages before it answers the
provider: about seventeen statements in the request. In inbox mode the webhook verifies the
signature, parses the request (so that a malformed one is refused at once), stores it as
received in one insert and answers once that commits. Workers then parse the stored request
again and store its messages and statuses in the transaction that deletes the row, so a
crash at any point leaves the row to be processed again: nothing acknowledged is lost, and
the message-level deduplication (provider ids) makes a second processing harmless.

Order: rows with one ``order_key`` (an account plus the customer's address, or an account
plus the provider id a delivery status is about) are processed in ``id`` order: a row is
taken only when no earlier row of its key is still pending, checked under the row's lock.
A row that fails is tried again with exponential backoff (holding back the later rows of
its key); after ``MAX_ATTEMPTS``, or at once for a final error (the account was deleted,
the stored request no longer parses), it is kept as ``dead`` with its error, never dropped,
and stops holding its key back.

Calls are never put in the inbox: their webhook's answer is what the caller hears.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from centralita.channels import service as channels_service
from centralita.channels.base import (
    AccountConfig,
    ChannelKind,
    HttpInbound,
    HttpOutbound,
    MalformedRequest,
    ParsedRequest,
)
from centralita.channels.ingress import store_parsed
from centralita.channels.models import InboxRequest
from centralita.channels.registry import AdapterRegistry
from centralita.core.blobs import BlobStore
from centralita.core.errors import Conflict, InvalidInput, NotFound

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12  # 1 s doubling to 5 minutes: about half an hour of trying
BACKOFF_CAP = timedelta(minutes=5)
ORDER_KEY_LENGTH = 400
BATCH = 100


def order_key(account_id: str, parsed: ParsedRequest) -> str:
    """What a request must stay in order with: the customer's earlier messages on this
    account, or the earlier statuses of the same outbound message."""
    if parsed.messages:
        sender = parsed.messages[0].sender
        key = f"{account_id}:{sender.kind}:{sender.value}"
    elif parsed.statuses:
        key = f"{account_id}:status:{parsed.statuses[0].provider_message_id}"
    else:
        key = f"{account_id}:"
    return key[:ORDER_KEY_LENGTH]


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s, … capped at five minutes."""
    return min(timedelta(seconds=2 ** max(attempts - 1, 0)), BACKOFF_CAP)


class AccountCache:
    """Each account's configuration for ``ttl`` seconds, per process, so that accepting a
    webhook costs one insert and no lookup. The price, documented: disabling an account or
    rotating its secret takes effect in this process within ``ttl`` (2 s by default)."""

    def __init__(self, ttl: float, *, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._items: dict[str, tuple[float, AccountConfig]] = {}

    def get(self, account_id: str) -> AccountConfig | None:
        item = self._items.get(account_id)
        if item is None or time.monotonic() - item[0] >= self.ttl:
            return None
        return item[1]

    def put(self, config: AccountConfig) -> None:
        if self.ttl <= 0:
            return
        if len(self._items) >= self.size:
            self._items.clear()
        self._items[config.id] = (time.monotonic(), config)


async def accept(
    sessions: async_sessionmaker[AsyncSession],
    adapters: AdapterRegistry,
    *,
    account_id: str,
    request: HttpInbound,
    now: datetime,
    accounts: AccountCache | None = None,
) -> HttpOutbound | None:
    """Verify, parse and store the request as received; the provider's acknowledgement once
    it is committed. ``None`` for an account whose requests are answered inline (calls):
    the caller runs the inline pipeline instead. Raises ``NotFound``, ``SignatureError`` or
    ``MalformedRequest`` like it, storing nothing."""
    config = accounts.get(account_id) if accounts is not None else None
    if config is None:
        async with sessions() as session:
            target = await channels_service.get_for_ingress(session, account_id=account_id)
            config = channels_service.to_config(target.account)
        if accounts is not None:
            accounts.put(config)
    adapter = adapters.get(config.provider)
    if adapter is None:
        raise NotFound(f"no adapter for provider {config.provider}")
    answers_inline = getattr(adapter, "answers_inline", lambda _: False)
    if config.kind == ChannelKind.VOICE or answers_inline(config):
        return None
    adapter.verify(request, config)
    parsed = adapter.parse(request, config)
    if parsed.messages or parsed.statuses:
        async with sessions() as session, session.begin():
            await session.execute(
                insert(InboxRequest).values(
                    tenant_id=config.tenant_id,
                    channel_account_id=config.id,
                    order_key=order_key(config.id, parsed),
                    method=request.method,
                    url=request.url,
                    headers=dict(request.headers),
                    query=dict(request.query),
                    body=request.body,
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    received_at=now,
                )
            )
    return adapter.acknowledge(parsed, config)


def _due(now: datetime) -> ColumnElement[bool]:
    """Pending rows that are due and not behind an earlier row of their key that is
    backing off. Rows behind a due one are included: a batch is processed in ``id`` order,
    so the earlier row is stored first (``process_one`` checks it under the lock)."""
    earlier = aliased(InboxRequest)
    return and_(
        InboxRequest.state == "pending",
        InboxRequest.next_attempt_at <= now,
        ~exists().where(
            earlier.order_key == InboxRequest.order_key,
            earlier.state == "pending",
            earlier.id < InboxRequest.id,
            earlier.next_attempt_at > now,
        ),
    )


class InboxProcessor:
    """Takes due rows and stores what they hold; one per worker process."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        adapters: AdapterRegistry,
        *,
        blobs: BlobStore | None,
        clock: Callable[[], datetime],
        poll_seconds: float = 0.2,
        account_cache_seconds: float = 2.0,
    ) -> None:
        self.sessions = sessions
        self.adapters = adapters
        self.blobs = blobs
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.accounts = AccountCache(account_cache_seconds)  # for ``accept`` in this process
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A row was just accepted in this process: look now rather than at the next poll."""
        self._wake.set()

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                done = await self.process_due()
            except Exception:  # the database is away: try again at the next poll
                log.exception("inbox: taking due requests failed")
                done = 0
            if done:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    async def process_due(self, *, limit: int = BATCH) -> int:
        """Process up to ``limit`` due rows, oldest first; how many were stored."""
        async with self.sessions() as session:
            ids = list(
                (
                    await session.scalars(
                        select(InboxRequest.id)
                        .where(_due(self.clock()))
                        .order_by(InboxRequest.id)
                        .limit(limit)
                    )
                ).all()
            )
        done = 0
        for row_id in ids:
            done += await self.process_one(row_id)
        return done

    async def process_one(self, row_id: int) -> bool:
        """Store one row's messages and delete it, in one transaction. ``False`` when another
        worker holds it, an earlier row of its key is still pending, or it failed."""
        try:
            async with self.sessions() as session, session.begin():
                row = await session.scalar(
                    select(InboxRequest)
                    .where(InboxRequest.id == row_id, InboxRequest.state == "pending")
                    .with_for_update(skip_locked=True)
                )
                if row is None:
                    return False
                earlier = await session.scalar(
                    select(InboxRequest.id)
                    .where(
                        InboxRequest.order_key == row.order_key,
                        InboxRequest.state == "pending",
                        InboxRequest.id < row.id,
                    )
                    .limit(1)
                )
                if earlier is not None:
                    return False
                await self._store(session, row)
                await session.delete(row)
        except Exception as exc:
            await self._failed(row_id, exc)
            return False
        return True

    async def _store(self, session: AsyncSession, row: InboxRequest) -> None:
        target = await channels_service.get_for_ingress(session, account_id=row.channel_account_id)
        adapter = self.adapters.get(target.account.provider)
        if adapter is None:
            raise NotFound(f"no adapter for provider {target.account.provider}")
        config = channels_service.to_config(target.account)
        request = HttpInbound(
            method=row.method,
            url=row.url,
            headers={str(k): str(v) for k, v in (row.headers or {}).items()},
            body=bytes(row.body),
            query={str(k): str(v) for k, v in (row.query or {}).items()},
        )
        # verified when it was accepted: a secret rotated since must not refuse it now
        parsed = adapter.parse(request, config)
        await store_parsed(session, target, config, parsed, blobs=self.blobs, now=self.clock())

    async def _failed(self, row_id: int, exc: Exception) -> None:
        final = isinstance(exc, NotFound | MalformedRequest | InvalidInput)
        retry_now = isinstance(exc, IntegrityError | Conflict)  # lost a race: the winner's rows
        reason = f"{type(exc).__name__}: {exc}"[:2000]
        now = self.clock()
        async with self.sessions() as session, session.begin():
            row = await session.scalar(
                select(InboxRequest).where(InboxRequest.id == row_id).with_for_update()
            )
            if row is None:
                return
            attempts = row.attempts + 1
            values: dict[str, object] = {"attempts": attempts, "last_error": reason}
            if final or attempts >= MAX_ATTEMPTS:
                values["state"] = "dead"
                log.error("inbox: request %s is dead after %d attempts: %s", row_id, attempts,
                          reason)  # fmt: skip
            else:
                values["next_attempt_at"] = now if retry_now else now + backoff(attempts)
                log.warning("inbox: request %s failed (attempt %d): %s", row_id, attempts, reason)
            await session.execute(
                update(InboxRequest).where(InboxRequest.id == row_id).values(**values)
            )


async def pending_count(session: AsyncSession) -> tuple[int, int]:
    """(pending, dead) rows across tenants: for operators and the benchmarks."""
    rows = (
        await session.execute(select(InboxRequest.state, func.count()).group_by(InboxRequest.state))
    ).all()
    counts = {str(state): int(n) for state, n in rows}
    return counts.get("pending", 0), counts.get("dead", 0)


async def dead_requests(
    session: AsyncSession, *, tenant_id: str | None = None, limit: int = 100
) -> list[InboxRequest]:
    """Rows the inbox gave up on, oldest first (``centralita inbox dead``)."""
    query = select(InboxRequest).where(InboxRequest.state == "dead")
    if tenant_id is not None:
        query = query.where(InboxRequest.tenant_id == tenant_id)
    return list((await session.scalars(query.order_by(InboxRequest.id).limit(limit))).all())


async def retry_dead(session: AsyncSession, *, now: datetime, ids: list[int] | None = None) -> int:
    """Put dead rows back in line (all, or ``ids``), after the cause is fixed; how many."""
    query = update(InboxRequest).where(InboxRequest.state == "dead")
    if ids is not None:
        query = query.where(InboxRequest.id.in_(ids))
    result = await session.execute(
        query.values(state="pending", attempts=0, next_attempt_at=now).execution_options(
            synchronize_session=False
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
