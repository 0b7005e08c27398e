"""Write and read audit entries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.audit.models import AuditEntry
from centralita.core.clock import utcnow
from centralita.core.ids import new_id
from centralita.db.paging import Slice, paginate

# Never copied into a diff, whatever the object: audit readers must not learn secrets here.
SECRET_FIELDS = frozenset({
    "password", "password_hash", "secret", "secret_hash", "token", "api_key", "credentials",
    "auth_token", "access_token", "app_secret", "verify_token", "smtp_password",
    "imap_password", "signing_secret",
})  # fmt: skip


def record(
    session: AsyncSession,
    *,
    tenant_id: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        id=new_id("aud"),
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        data=data or {},
    )
    session.add(entry)
    return entry


# A Core statement on the table: compiled once, no unit of work.
_INSERT_ENTRY = insert(AuditEntry.__table__)  # type: ignore[arg-type]


async def record_read(
    session: AsyncSession,
    *,
    tenant_id: str,
    actor: str,
    object_type: str,
    object_id: str,
    data: dict[str, Any] | None = None,
) -> None:
    """Staff read a contact's personal data (``contact.read``, ``conversation.read``).

    One INSERT executed now in the request's own transaction (it commits or rolls back with
    the request): no ORM object and no flush, as it runs on every read of personal data.
    Callers are staff endpoints only, so the receptionist and the system never appear here.
    """
    await session.execute(
        _INSERT_ENTRY,
        {
            "id": new_id("aud"),
            "tenant_id": tenant_id,
            "at": utcnow(),
            "actor": actor,
            "action": f"{object_type}.read",
            "object_type": object_type,
            "object_id": object_id,
            "data": data or {},
        },
    )


async def list_entries(
    session: AsyncSession,
    *,
    tenant_id: str,
    object_id: str | None = None,
    limit: int = 100,
    changes_only: bool = False,
) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    if object_id:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    if changes_only:
        stmt = stmt.where(AuditEntry.action.not_like("%.read"))
    stmt = stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    return list((await session.scalars(stmt)).all())


def _clean(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            str(k): ("[secret]" if str(k).lower() in SECRET_FIELDS else _clean(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """``{field: [old, new]}`` for the fields that changed; secret fields say only that."""
    changed: dict[str, Any] = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if name.lower() in SECRET_FIELDS:
            changed[name] = "[changed]"
        else:
            changed[name] = [_clean(old), _clean(new)]
    return changed


def record_change(
    session: AsyncSession,
    *,
    tenant_id: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """An administrative change, with the diff of its non-secret fields."""
    payload: dict[str, Any] = dict(_clean(dict(data or {})))
    if before is not None or after is not None:
        payload["diff"] = diff(before or {}, after or {})
    return record(
        session,
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id[:40],
        data=payload,
    )


async def search(
    session: AsyncSession,
    *,
    tenant_id: str,
    limit: int,
    cursor: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Slice[AuditEntry]:
    """The tenant's entries, newest first, filtered; keyset-paginated by id."""
    stmt = select(AuditEntry).where(AuditEntry.tenant_id == tenant_id)
    if actor:
        stmt = stmt.where(AuditEntry.actor == actor)
    if action:
        if action.endswith(".*"):
            stmt = stmt.where(AuditEntry.action.startswith(action[:-1], autoescape=True))
        else:
            stmt = stmt.where(AuditEntry.action == action)
    if object_type:
        stmt = stmt.where(AuditEntry.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.at < until)
    return await paginate(session, stmt, AuditEntry.id, limit=limit, cursor=cursor)
