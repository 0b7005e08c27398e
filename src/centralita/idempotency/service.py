"""Claim, complete, release and purge idempotency keys; each call is one short transaction.

No domain events: these rows are request bookkeeping, not business facts (and an event per
POST would double the outbox).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from centralita.core.ids import new_id
from centralita.idempotency.models import IdempotencyKey
from centralita.idempotency.rules import (
    COMMITTED,
    COMPLETED,
    IN_PROGRESS,
    KeyState,
    Outcome,
    decide,
    should_store,
)


@dataclass(frozen=True)
class StoredResponse:
    status: int
    content_type: str | None
    body: bytes


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    record_id: str | None = None  # set when the caller is to run the request
    lease_token: datetime | None = None  # the lease it holds, to release only its own claim
    response: StoredResponse | None = None  # set for a replay


class ClaimRaced(Exception):
    """Another request changed the row between our read and our write: try again."""


def _state(row: IdempotencyKey) -> KeyState:
    return KeyState(row.fingerprint, row.state, row.locked_until, row.expires_at)


async def claim_key(
    session: AsyncSession,
    *,
    tenant_id: str,
    principal: str,
    key: str,
    fingerprint: str,
    now: datetime,
    ttl: timedelta,
    lease: timedelta,
) -> Claim:
    """Decide what a request carrying ``key`` may do; claim the key when it is to run.

    Raises ``ClaimRaced`` when a concurrent request won the same row: the caller retries in a
    new transaction and then sees that request's claim.
    """
    row = await session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.tenant_id == tenant_id,
            IdempotencyKey.principal == principal,
            IdempotencyKey.key == key,
        )
    )
    outcome = decide(None if row is None else _state(row), fingerprint, now)
    locked_until = now + lease
    if outcome is Outcome.PROCEED and row is None:
        record_id = new_id("idk")
        try:
            async with session.begin_nested():
                session.add(
                    IdempotencyKey(
                        id=record_id,
                        tenant_id=tenant_id,
                        principal=principal,
                        key=key,
                        fingerprint=fingerprint,
                        state=IN_PROGRESS,
                        created_at=now,
                        locked_until=locked_until,
                        expires_at=now + ttl,
                    )
                )
        except IntegrityError as exc:
            raise ClaimRaced from exc
        return Claim(outcome, record_id, locked_until)
    if outcome in (Outcome.PROCEED, Outcome.TAKE_OVER):
        assert row is not None
        # compare-and-set on what we read, so that of two retries only one takes the key
        result = await session.execute(
            update(IdempotencyKey)
            .where(
                IdempotencyKey.id == row.id,
                IdempotencyKey.state == row.state,
                IdempotencyKey.expires_at == row.expires_at,
                (IdempotencyKey.locked_until == row.locked_until)
                if row.locked_until is not None
                else IdempotencyKey.locked_until.is_(None),
            )
            .values(
                fingerprint=fingerprint,
                state=IN_PROGRESS,
                created_at=now if outcome is Outcome.PROCEED else row.created_at,
                locked_until=locked_until,
                expires_at=now + ttl if outcome is Outcome.PROCEED else row.expires_at,
                completed_at=None,
                response_status=None,
                response_content_type=None,
                response_body=None,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ClaimRaced
        return Claim(outcome, row.id, locked_until)
    if outcome is Outcome.REPLAY:
        assert row is not None and row.response_status is not None
        stored = StoredResponse(
            row.response_status, row.response_content_type, row.response_body or b""
        )
        return Claim(outcome, row.id, response=stored)
    return Claim(outcome)


def mark_committed(session: Session, *, record_id: str) -> None:
    """Inside the request's own transaction: it is committing, so it must never run again.

    Sync, because it runs in SQLAlchemy's ``before_commit`` hook (see the middleware).
    """
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == record_id, IdempotencyKey.state == IN_PROGRESS)
        .values(state=COMMITTED)
        .execution_options(synchronize_session=False)
    )


async def finish_key(
    session: AsyncSession,
    *,
    record_id: str,
    lease_token: datetime,
    response: StoredResponse,
    now: datetime,
) -> bool:
    """Store the outcome of the request holding the claim, or release the key.

    A success, or anything that committed, is stored; a failure that changed nothing frees
    the key for a retry. Returns whether it was stored.
    """
    row = await session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.id == record_id,
            IdempotencyKey.state.in_((IN_PROGRESS, COMMITTED)),
        )
    )
    if row is None:  # taken over after our lease ran out, or purged
        return False
    if not should_store(response.status, committed=row.state == COMMITTED):
        await release_key(session, record_id=record_id, lease_token=lease_token)
        return False
    result = await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.id == record_id,
            IdempotencyKey.state == row.state,
            IdempotencyKey.locked_until == lease_token,
        )
        .values(
            state=COMPLETED,
            locked_until=None,
            completed_at=now,
            response_status=response.status,
            response_content_type=response.content_type,
            response_body=response.body,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def extend_lease(
    session: AsyncSession, *, record_id: str, lease_token: datetime, until: datetime
) -> bool:
    """Push a running request's lease out to ``until``; False if the claim was lost."""
    result = await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.id == record_id,
            IdempotencyKey.state.in_((IN_PROGRESS, COMMITTED)),
            IdempotencyKey.locked_until == lease_token,
        )
        .values(locked_until=until)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def release_key(session: AsyncSession, *, record_id: str, lease_token: datetime) -> None:
    """Forget a claim whose request failed, so that a retry runs it afresh.

    A claim whose request already committed is kept: a retry gets ``Outcome.LOST``.
    """
    await session.execute(
        delete(IdempotencyKey)
        .where(
            IdempotencyKey.id == record_id,
            IdempotencyKey.state == IN_PROGRESS,
            IdempotencyKey.locked_until == lease_token,
        )
        .execution_options(synchronize_session=False)
    )


async def purge_expired(session: AsyncSession, *, now: datetime, batch: int = 1000) -> int:
    """Delete up to ``batch`` keys past their retention; returns how many went."""
    ids = list(
        (
            await session.scalars(
                select(IdempotencyKey.id).where(IdempotencyKey.expires_at <= now).limit(batch)
            )
        ).all()
    )
    if ids:
        await session.execute(
            delete(IdempotencyKey)
            .where(IdempotencyKey.id.in_(ids))
            .execution_options(synchronize_session=False)
        )
    return len(ids)


async def count_keys(session: AsyncSession, *, tenant_id: str) -> int:
    """How many keys a tenant holds (tests and diagnostics)."""
    rows = await session.scalars(
        select(IdempotencyKey.id).where(IdempotencyKey.tenant_id == tenant_id)
    )
    return len(rows.all())
