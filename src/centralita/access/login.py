"""Password sign-in with throttling: the thin shell around ``access/throttle.py``.

Both keys (the account typed and the client address) are read ``FOR UPDATE`` in the login's
transaction, so processes sharing the database count the same failures, and parallel guesses
at one account queue behind each other instead of slipping past the limit.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.access import service as access_service
from centralita.access import throttle
from centralita.access.models import LoginThrottle, User
from centralita.access.throttle import ThrottlePolicy, ThrottleState
from centralita.audit import service as audit_service
from centralita.core.clock import utcnow
from centralita.tenants.models import Tenant

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None = None
    retry_after: timedelta | None = None  # set: locked, answer 429 with Retry-After

    @property
    def locked(self) -> bool:
        return self.retry_after is not None


def _key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}\x00{value}".encode()).hexdigest()


def account_key(tenant_slug: str, email: str) -> str:
    return _key("account", f"{tenant_slug.strip().lower()}\x00{email.strip().lower()}")


def address_key(client: str) -> str:
    return _key("address", client)


async def _row(session: AsyncSession, key: str, kind: str) -> LoginThrottle:
    stmt = select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
    row = await session.scalar(stmt)
    if row is not None:
        return row
    try:
        async with session.begin_nested():
            session.add(LoginThrottle(key=key, kind=kind, failures=0, lockouts=0))
    except IntegrityError:
        pass  # another process created it first; lock theirs
    row = await session.scalar(stmt.execution_options(populate_existing=True))
    assert row is not None
    return row


def _state(row: LoginThrottle) -> ThrottleState:
    return ThrottleState(
        failures=row.failures,
        window_started_at=row.window_started_at,
        locked_until=row.locked_until,
        lockouts=row.lockouts,
        last_failure_at=row.last_failure_at,
    )


def _store(row: LoginThrottle, state: ThrottleState) -> None:
    row.failures = state.failures
    row.window_started_at = state.window_started_at
    row.locked_until = state.locked_until
    row.lockouts = state.lockouts
    row.last_failure_at = state.last_failure_at


async def _audit_lock(
    session: AsyncSession,
    *,
    kind: str,
    tenant_slug: str,
    email: str,
    client: str,
    until: datetime,
) -> None:
    """``user.locked`` (the account) or ``client.locked`` (the address), in the tenant typed."""
    found = await session.execute(
        select(Tenant.id, User.id)
        .outerjoin(User, (User.tenant_id == Tenant.id) & (User.email == email.strip().lower()))
        .where(Tenant.slug == tenant_slug.strip().lower())
    )
    row = found.first()
    if row is None:
        return  # no such workspace: nobody to tell, the address lock still applies
    tenant_id, user_id = row
    account = kind == "account"
    audit_service.record(
        session,
        tenant_id=tenant_id,
        actor="system",
        action="user.locked" if account else "client.locked",
        object_type="user" if account else "client",
        object_id=(user_id or "unknown") if account else client[:40],
        data={"email": email.strip().lower()[:254], "client": client, "until": until.isoformat()},
    )


async def sign_in(
    session: AsyncSession,
    *,
    tenant_slug: str,
    email: str,
    password: str,
    client: str,
    now: datetime | None = None,
    account_policy: ThrottlePolicy = throttle.ACCOUNT_POLICY,
    address_policy: ThrottlePolicy = throttle.ADDRESS_POLICY,
) -> LoginOutcome:
    """Check the password unless the account or the address is locked; count failures."""
    now = now or utcnow()
    account = await _row(session, account_key(tenant_slug, email), "account")
    address = await _row(session, address_key(client), "address")
    checks = (throttle.retry_after(_state(row), now) for row in (account, address))
    waits = [w for w in checks if w is not None]
    if waits:
        # A locked account's correct password fails too: the password is not even checked.
        return LoginOutcome(retry_after=max(waits))
    user = await access_service.authenticate_password(
        session, tenant_slug=tenant_slug, email=email, password=password
    )
    if user is not None:
        _store(account, throttle.after_success(_state(account)))
        return LoginOutcome(user=user)
    locked: list[timedelta] = []
    for row, policy in ((account, account_policy), (address, address_policy)):
        outcome = throttle.after_failure(_state(row), now, policy)
        _store(row, outcome.state)
        if outcome.locked_now and outcome.state.locked_until is not None:
            locked.append(outcome.state.locked_until - now)
            log.warning("sign-in locked (%s) until %s", row.kind, outcome.state.locked_until)
            await _audit_lock(
                session,
                kind=row.kind,
                tenant_slug=tenant_slug,
                email=email,
                client=client,
                until=outcome.state.locked_until,
            )
    return LoginOutcome(retry_after=max(locked) if locked else None)
