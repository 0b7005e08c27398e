"""Apply a tenant document: an idempotent, declarative upsert of everything it describes.

Rows are matched by the tenant's slug and each entry's key (a channel's name); rows the
document no longer lists are deleted. Only real differences are written, so applying the same
document twice changes nothing, not even ``updated_at``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.access import service as access_service
from centralita.audit import service as audit_service
from centralita.channels.models import ChannelAccount
from centralita.core.ids import new_id
from centralita.events import outbox
from centralita.tenants import service as tenants_service
from centralita.tenants.config.schema import (
    ChannelConfig,
    FaqConfig,
    Localized,
    QueueConfig,
    ServiceConfig,
    StaffConfig,
    TenantDocument,
)
from centralita.tenants.events import TenantConfigApplied
from centralita.tenants.models import FaqEntry, Queue, Service, StaffMember, Tenant


@dataclass
class ApplyReport:
    """What an apply changed, as ``kind:key`` items; empty lists mean nothing changed."""

    tenant_id: str
    slug: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    changed_fields: dict[str, list[str]] = field(default_factory=dict)  # item -> fields
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)

    def lines(self) -> list[str]:
        out = [f"+ {item}" for item in self.created]
        out += [f"~ {i} ({', '.join(self.changed_fields.get(i, []))})" for i in self.updated]
        out += [f"- {item}" for item in self.deleted]
        return out + [f"warning: {w}" for w in self.warnings]


async def apply_document(
    session: AsyncSession,
    doc: TenantDocument,
    *,
    actor: str = "cli",
    environ: Mapping[str, str] | None = None,
) -> ApplyReport:
    """Make the database match ``doc``; the caller commits (or rolls back for a dry run).

    ``environ`` resolves ``secret_env``; an unset variable leaves the stored secret as it was,
    as does a channel with neither ``secret`` nor ``secret_env``.
    """
    environ = environ or {}
    tenant, report = await _upsert_tenant(session, doc)
    tid = tenant.id
    staff_rows = {m.key: _staff(i, m) for i, m in enumerate(doc.staff)}
    staff, removed = await _sync(session, tid, report, StaffMember, staff_rows)
    for model, rows in (
        (Service, {s.key: _service(i, s) for i, s in enumerate(doc.services)}),
        (FaqEntry, {f.key: _faq(i, f) for i, f in enumerate(doc.faq)}),
        (Queue, {q.key: _queue(i, q) for i, q in enumerate(doc.queues)}),
    ):
        await _sync(session, tid, report, model, rows)
    channels = {c.name: _channel(i, c, environ, report) for i, c in enumerate(doc.channels)}
    await _sync(session, tid, report, ChannelAccount, channels, key="name")
    await _sync_users(session, tid, doc, staff, removed, report)
    if report.changed:
        outbox.record(
            session,
            TenantConfigApplied(
                tenant_id=tid,
                slug=doc.tenant.slug,
                created=report.created,
                updated=report.updated,
                deleted=report.deleted,
            ),
        )
        audit_service.record(
            session,
            tenant_id=tid,
            actor=actor,
            action="tenant.config_applied",
            object_type="tenant",
            object_id=tid,
            data={
                "created": report.created,
                "updated": report.updated,
                "deleted": report.deleted,
                # which fields changed, never their values: channel settings can hold secrets
                "changed_fields": report.changed_fields,
            },
        )
    await session.flush()
    return report


def stored_config(doc: TenantDocument) -> dict[str, Any]:
    """What ``Tenant.config`` holds: the whole document with defaults, minus literal secrets."""
    data = doc.model_dump(mode="json", by_alias=True)
    for channel in data["channels"]:
        channel.pop("secret", None)
    return data


async def _upsert_tenant(session: AsyncSession, doc: TenantDocument) -> tuple[Tenant, ApplyReport]:
    info = doc.tenant
    values: dict[str, Any] = {
        "name": info.name,
        "timezone": info.timezone,
        "locale": info.locale,
        "country": info.country,
        "receptionist_mode": doc.receptionist.mode,
        "reopen_window_hours": doc.receptionist.reopen_window_hours,
    }
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == info.slug))
    if tenant is None:
        tenant = await tenants_service.create_tenant(session, slug=info.slug, **values)
        tenant.config = stored_config(doc)
        report = ApplyReport(tenant.id, info.slug, created=[f"tenant:{info.slug}"])
        return tenant, report
    report = ApplyReport(tenant.id, info.slug)
    _record_update(
        report, f"tenant:{info.slug}", _assign(tenant, {**values, "config": stored_config(doc)})
    )
    return tenant, report


def _assign(row: Any, values: Mapping[str, Any]) -> list[str]:
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, values[name])
    return changed


def _record_update(report: ApplyReport, item: str, fields: list[str]) -> None:
    if fields:
        report.updated.append(item)
        report.changed_fields[item] = fields


# What each synced table is called in reports, and the prefix of its ids.
_KINDS: dict[type[Any], tuple[str, str]] = {
    StaffMember: ("staff", "stf"),
    Service: ("service", "svc"),
    FaqEntry: ("faq", "faq"),
    Queue: ("queue", "que"),
    ChannelAccount: ("channel", "chn"),
}


async def _sync(
    session: AsyncSession,
    tenant_id: str,
    report: ApplyReport,
    model: type[Any],
    desired: Mapping[str, Mapping[str, Any]],
    *,
    key: str = "key",
) -> tuple[dict[str, Any], list[Any]]:
    """Upsert ``desired`` (key -> column values) and delete the tenant's other rows."""
    kind, prefix = _KINDS[model]
    rows = (await session.scalars(select(model).where(model.tenant_id == tenant_id))).all()
    existing = {getattr(row, key): row for row in rows}
    result: dict[str, Any] = {}
    for name, values in desired.items():
        row = existing.get(name)
        if row is None:
            row = model(id=new_id(prefix), tenant_id=tenant_id, **{key: name}, **values)
            session.add(row)
            report.created.append(f"{kind}:{name}")
        else:
            _record_update(report, f"{kind}:{name}", _assign(row, values))
        result[name] = row
    removed = [row for name, row in existing.items() if name not in desired]
    for row in removed:
        await session.delete(row)
        report.deleted.append(f"{kind}:{getattr(row, key)}")
    return result, removed


def _localized(text: Localized | None) -> dict[str, str] | None:
    return None if text is None else text.model_dump(exclude_none=True)


def _hours(config: Any) -> dict[str, Any] | None:
    return None if config is None else config.model_dump(mode="json")


def _staff(position: int, member: StaffConfig) -> dict[str, Any]:
    return {
        "position": position,
        "name": member.name,
        "aliases": list(member.aliases),
        "role": member.role,
        "email": member.email,
        "phone": member.phone,
        "sip": member.sip,
        "skills": dict(sorted(member.skills.items())),
        "hours": _hours(member.hours),
        "user_role": member.user_role,
        "capacity": None if member.capacity is None else dict(sorted(member.capacity.items())),
    }


def _service(position: int, service: ServiceConfig) -> dict[str, Any]:
    price = None if service.price is None else int(service.price * 100)
    return {
        "position": position,
        "name": _localized(service.name),
        "description": _localized(service.description),
        "duration_minutes": service.duration_minutes,
        "price_cents": price,
        "price_from": service.price_from,
        "bookable": service.bookable,
        "staff_keys": list(service.staff),
    }


def _faq(position: int, entry: FaqConfig) -> dict[str, Any]:
    return {
        "position": position,
        "question": _localized(entry.question),
        "answer": _localized(entry.answer),
        "tags": list(entry.tags),
    }


def _queue(position: int, queue: QueueConfig) -> dict[str, Any]:
    return {
        "position": position,
        "name": queue.name,
        "skills": list(queue.skills),
        "priority": queue.priority,
        "sla_seconds": queue.sla_seconds,
        "sla_target": queue.sla_target,
        "channels": list(queue.channels),
        "hours": _hours(queue.hours),
        "callback": queue.callback,
        "overflow": [step.model_dump(mode="json", exclude_none=True) for step in queue.overflow],
        "strategy": queue.strategy,
        "offer_timeout_seconds": queue.offer_timeout_seconds,
        "wrapup_seconds": queue.wrapup_seconds,
        "aging_per_minute": queue.aging_per_minute,
        "min_proficiency": queue.min_proficiency,
        "max_missed_offers": queue.max_missed_offers,
    }


def _channel(
    index: int, channel: ChannelConfig, environ: Mapping[str, str], report: ApplyReport
) -> dict[str, Any]:
    # ChannelAccount rows are written here directly: channels.service has no write use cases
    # yet. Move this to it once it does.
    values: dict[str, Any] = {
        "kind": channel.kind,
        "provider": channel.provider,
        "address": channel.address,
        "settings": channel.model_dump(mode="json")["settings"],
        "enabled": channel.enabled,
    }
    if channel.secret is not None:
        values["secret"] = channel.secret
    elif channel.secret_env is not None:
        if environ.get(channel.secret_env):
            values["secret"] = environ[channel.secret_env]
        elif channel.enabled:  # a disabled channel can wait for its secret
            report.warnings.append(
                f"channels[{index}].secret_env: {channel.secret_env} is not set; "
                "the channel's secret is left as it was"
            )
    return values


async def _sync_users(
    session: AsyncSession,
    tenant_id: str,
    doc: TenantDocument,
    staff: Mapping[str, StaffMember],
    removed: list[StaffMember],
    report: ApplyReport,
) -> None:
    """Give staff with a ``user_role`` a login (by email); disable the logins of the others."""
    users = {u.id: u for u in await access_service.list_users(session, tenant_id=tenant_id)}
    by_email = {u.email: u for u in users.values()}

    async def disable(user_id: str | None) -> None:
        user = users.get(user_id) if user_id else None
        if user is not None and not user.disabled:
            await access_service.update_user(
                session, tenant_id=tenant_id, user_id=user.id, disabled=True
            )
            _record_update(report, f"user:{user.email}", ["disabled"])

    for member in doc.staff:
        row = staff[member.key]
        if member.user_role is None or member.email is None:
            await disable(row.user_id)
            continue
        linked = users.get(row.user_id) if row.user_id else None
        user = linked if linked is not None and linked.email == member.email else None
        user = user or by_email.get(member.email)
        if linked is not None and linked is not user:
            await disable(linked.id)  # the staff member's email changed
        if user is None:
            user = await access_service.create_user(
                session,
                tenant_id=tenant_id,
                email=member.email,
                name=member.name,
                role=member.user_role,
            )
            report.created.append(f"user:{user.email}")
        else:
            wanted: dict[str, Any] = {"name": member.name, "role": member.user_role}
            wanted["disabled"] = False
            fields = [name for name, value in wanted.items() if getattr(user, name) != value]
            if fields:
                await access_service.update_user(
                    session,
                    tenant_id=tenant_id,
                    user_id=user.id,
                    name=member.name,
                    role=member.user_role,
                    disabled=False,
                )
                _record_update(report, f"user:{user.email}", fields)
        if row.user_id != user.id:
            row.user_id = user.id
    for row in removed:
        await disable(row.user_id)
