"""Users, API keys and web sessions. Secrets are shown once and stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.access.events import ApiKeyCreated, ApiKeyRevoked, UserCreated, UserUpdated
from centralita.access.models import ApiKey, Role, User, WebSession
from centralita.access.passwords import hash_password, verify_password
from centralita.access.principal import Principal
from centralita.core.clock import utcnow
from centralita.core.email import normalise_email
from centralita.core.errors import Conflict, InvalidInput
from centralita.core.ids import new_id
from centralita.db.scoped import get_scoped
from centralita.events import outbox
from centralita.tenants.models import Tenant

API_KEY_PREFIX = "ck_"
MIN_PASSWORD = 10


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_key_digest(token: str) -> str:
    """What the database keeps of an API key (``ApiKey.secret_hash``)."""
    return _sha256(token)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        raise InvalidInput.for_field("role", "must be admin, supervisor or agent") from exc


# ---- users -------------------------------------------------------------------------------


async def create_user(
    session: AsyncSession,
    *,
    tenant_id: str,
    email: str,
    name: str,
    role: str = "agent",
    password: str | None = None,
    cheap_hash: bool = False,
) -> User:
    email = normalise_email(email)
    role_ = _role(role)
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidInput.for_field("password", f"use at least {MIN_PASSWORD} characters")
    exists = await session.scalar(
        select(User.id).where(User.tenant_id == tenant_id, User.email == email)
    )
    if exists:
        raise Conflict(f"a user with email {email} already exists")
    user = User(
        id=new_id("usr"),
        tenant_id=tenant_id,
        email=email,
        name=name,
        role=role_.value,
        password_hash=hash_password(password, cheap=cheap_hash) if password else None,
    )
    session.add(user)
    await session.flush()
    outbox.record(session, UserCreated(tenant_id=tenant_id, user_id=user.id, role=user.role))
    return user


async def get_user(session: AsyncSession, *, tenant_id: str, user_id: str) -> User:
    return await get_scoped(session, User, tenant_id=tenant_id, id=user_id, label="user")


async def list_users(session: AsyncSession, *, tenant_id: str) -> list[User]:
    return list(
        (
            await session.scalars(select(User).where(User.tenant_id == tenant_id).order_by(User.id))
        ).all()
    )


async def update_user(
    session: AsyncSession,
    *,
    tenant_id: str,
    user_id: str,
    name: str | None = None,
    role: str | None = None,
    disabled: bool | None = None,
    password: str | None = None,
    cheap_hash: bool = False,
) -> User:
    user = await get_user(session, tenant_id=tenant_id, user_id=user_id)
    changed: list[str] = []
    if name is not None and name != user.name:
        user.name = name
        changed.append("name")
    if role is not None and _role(role).value != user.role:
        user.role = _role(role).value
        changed.append("role")
    if disabled is not None and disabled != user.disabled:
        user.disabled = disabled
        changed.append("disabled")
        if disabled:
            await _revoke_user_keys(session, tenant_id=tenant_id, user_id=user.id)
    if password is not None:
        if len(password) < MIN_PASSWORD:
            raise InvalidInput.for_field("password", f"use at least {MIN_PASSWORD} characters")
        user.password_hash = hash_password(password, cheap=cheap_hash)
        changed.append("password")
    if {"role", "password", "disabled"} & set(changed):
        # Whoever holds one of the user's cookies must sign in again under the new terms.
        await revoke_user_sessions(session, tenant_id=tenant_id, user_id=user.id)
    if changed:
        outbox.record(session, UserUpdated(tenant_id=tenant_id, user_id=user.id, fields=changed))
    return user


# ---- API keys ----------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str  # shown once


async def create_api_key(
    session: AsyncSession,
    *,
    tenant_id: str,
    name: str,
    role: str = "admin",
    created_by: str | None = None,
) -> IssuedKey:
    token = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id("key"),
        tenant_id=tenant_id,
        name=name,
        prefix=token[:10],
        secret_hash=_sha256(token),
        role=_role(role).value,
        created_by=created_by,
    )
    session.add(key)
    await session.flush()
    outbox.record(session, ApiKeyCreated(tenant_id=tenant_id, api_key_id=key.id))
    return IssuedKey(key, token)


async def list_api_keys(session: AsyncSession, *, tenant_id: str) -> list[ApiKey]:
    return list(
        (
            await session.scalars(
                select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.id)
            )
        ).all()
    )


async def get_api_key(session: AsyncSession, *, tenant_id: str, key_id: str) -> ApiKey:
    return await get_scoped(session, ApiKey, tenant_id=tenant_id, id=key_id, label="API key")


async def revoke_api_key(session: AsyncSession, *, tenant_id: str, key_id: str) -> ApiKey:
    key = await get_api_key(session, tenant_id=tenant_id, key_id=key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        outbox.record(session, ApiKeyRevoked(tenant_id=tenant_id, api_key_id=key.id))
    return key


async def authenticate_api_key(session: AsyncSession, *, token: str) -> Principal | None:
    """The key's principal, or None when it is unknown, revoked or its tenant disabled.

    ``api.deps`` remembers the answer for a few seconds (``access.key_cache``), so
    ``last_used_at`` is as coarse as a minute plus that."""
    if not token.startswith(API_KEY_PREFIX):
        return None
    row = await session.execute(
        select(ApiKey, Tenant.disabled)
        .join(Tenant, Tenant.id == ApiKey.tenant_id)
        .where(ApiKey.secret_hash == _sha256(token))
    )
    found = row.first()
    if found is None:
        return None
    key, tenant_disabled = found
    if key.revoked_at is not None or tenant_disabled:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        key.last_used_at = now  # coarse, so that reads do not write on every request
    return Principal(tenant_id=key.tenant_id, role=Role(key.role), api_key_id=key.id)


# ---- passwords and web sessions -----------------------------------------------------------


async def authenticate_password(
    session: AsyncSession, *, tenant_slug: str, email: str, password: str
) -> User | None:
    try:
        email = normalise_email(email)
    except InvalidInput:
        verify_password(password, None)
        return None
    user = await session.scalar(
        select(User)
        .join(Tenant, Tenant.id == User.tenant_id)
        .where(Tenant.slug == tenant_slug, User.email == email, Tenant.disabled.is_(False))
    )
    if user is None or user.disabled:
        verify_password(password, None)
        return None
    if not verify_password(password, user.password_hash):
        return None
    user.last_login_at = utcnow()
    return user


@dataclass(frozen=True)
class IssuedSession:
    session: WebSession
    token: str


async def start_session(
    session: AsyncSession,
    *,
    user: User,
    absolute: timedelta,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> IssuedSession:
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    web = WebSession(
        id=_sha256(token)[:40],
        tenant_id=user.tenant_id,
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + absolute,
        user_agent=(user_agent or "")[:300],
    )
    session.add(web)
    await session.flush()
    return IssuedSession(web, token)


async def resolve_session(
    session: AsyncSession, *, token: str, idle: timedelta, now: datetime | None = None
) -> Principal | None:
    """Return the principal for a cookie token, enforcing idle and absolute expiry."""
    now = now or utcnow()
    row = (
        await session.execute(
            select(WebSession, User, Tenant.disabled)
            .join(User, User.id == WebSession.user_id)
            .join(Tenant, Tenant.id == WebSession.tenant_id)
            .where(WebSession.id == _sha256(token)[:40])
        )
    ).first()
    if row is None:
        return None
    web, user, tenant_disabled = row
    if web.revoked_at or user.disabled or tenant_disabled:
        return None
    if now >= web.expires_at or now - web.last_seen_at > idle:
        return None
    if now - web.last_seen_at > timedelta(seconds=30):
        web.last_seen_at = now
    return Principal(
        tenant_id=web.tenant_id, role=Role(user.role), user_id=user.id, session_id=web.id
    )


async def end_session(session: AsyncSession, *, token: str) -> None:
    await session.execute(
        update(WebSession)
        .where(WebSession.id == _sha256(token)[:40], WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def _revoke_user_keys(session: AsyncSession, *, tenant_id: str, user_id: str) -> None:
    """A disabled user's API keys stop working with them (keys record who created them)."""
    keys = await session.scalars(
        select(ApiKey).where(
            ApiKey.tenant_id == tenant_id,
            ApiKey.created_by == f"user:{user_id}",
            ApiKey.revoked_at.is_(None),
        )
    )
    for key in keys.all():
        key.revoked_at = utcnow()
        outbox.record(session, ApiKeyRevoked(tenant_id=tenant_id, api_key_id=key.id))


async def revoke_user_sessions(session: AsyncSession, *, tenant_id: str, user_id: str) -> None:
    await session.execute(
        update(WebSession)
        .where(
            WebSession.tenant_id == tenant_id,
            WebSession.user_id == user_id,
            WebSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
