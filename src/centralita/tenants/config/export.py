"""Read a tenant back out of the database as a document (and as YAML).

Rows are the source of truth for what has rows (the tenant's own columns, staff, services,
FAQ, queues, channel accounts); the rest (profile, hours, holidays, receptionist details,
routing settings) comes from the document stored in ``Tenant.config`` by the last apply.
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.channels.models import ChannelAccount
from centralita.tenants import service as tenants_service
from centralita.tenants.config import yaml_dialect
from centralita.tenants.config.loader import validate_document
from centralita.tenants.config.schema import TenantDocument, TenantInfo
from centralita.tenants.models import FaqEntry, Queue, Service, StaffMember, Tenant

YAML_HEADER = (
    "# Centralita tenant configuration. Check it with `centralita tenant validate FILE`,\n"
    "# load it with `centralita tenant apply FILE`; the schema is docs/tenant.schema.json.\n"
)


def tenant_document(tenant: Tenant) -> TenantDocument:
    """The document a tenant row was last applied with, without reading the database again.

    A tenant created without one (through the API or in tests) gets a minimal document from
    its row: no hours (always closed), no directory, services or FAQ.
    """
    if tenant.config:
        return TenantDocument.model_validate(tenant.config)
    info = TenantInfo(
        slug=tenant.slug,
        name=tenant.name,
        timezone=tenant.timezone,
        locale="es" if tenant.locale == "es" else "en",
        country=tenant.country,
    )
    return TenantDocument(version=1, tenant=info)


async def read_document(
    session: AsyncSession, *, tenant_id: str, include_secrets: bool = False
) -> TenantDocument:
    """The tenant as a validated document: what the receptionist and routing read."""
    tenant = await tenants_service.get_tenant(session, tenant_id=tenant_id)
    config: dict[str, Any] = dict(tenant.config or {})
    data: dict[str, Any] = {
        "version": 1,
        "tenant": {
            "slug": tenant.slug,
            "name": tenant.name,
            "timezone": tenant.timezone,
            "locale": tenant.locale,
            "country": tenant.country,
            "region": (config.get("tenant") or {}).get("region"),
        },
        "profile": config.get("profile") or {},
        "receptionist": {
            **(config.get("receptionist") or {}),
            "mode": tenant.receptionist_mode,
            "reopen_window_hours": tenant.reopen_window_hours,
        },
        "hours": config.get("hours") or {},
        "holidays": config.get("holidays") or {},
        "routing": config.get("routing") or {},
        "kpis": config.get("kpis") or {},
        "surveys": config.get("surveys") or {},
        "outreach": config.get("outreach") or {},
        "access": config.get("access") or {},
        "staff": [_staff(row) for row in await _rows(session, StaffMember, tenant_id)],
        "services": [_service(row) for row in await _rows(session, Service, tenant_id)],
        "faq": [_faq(row) for row in await _rows(session, FaqEntry, tenant_id)],
        "queues": [_queue(row) for row in await _rows(session, Queue, tenant_id)],
        "channels": await _channels(session, tenant_id, config, include_secrets),
    }
    return validate_document(data, filename=f"tenant {tenant.slug}")


async def export_document(
    session: AsyncSession, *, tenant_id: str, include_secrets: bool = False
) -> dict[str, Any]:
    """The tenant as plain data in canonical form; ``dump_yaml`` turns it into a file."""
    doc = await read_document(session, tenant_id=tenant_id, include_secrets=include_secrets)
    return doc.to_data(include_secrets=include_secrets)


def dump_yaml(data: dict[str, Any]) -> str:
    """YAML text of a document's plain data, with holiday dates unquoted as people write them."""
    data = copy.deepcopy(data)
    holidays = data.get("holidays", {})
    for section, fields in (
        ("custom", ("date",)),
        ("closures", ("from", "to")),
        ("special", ("date",)),
    ):
        for entry in holidays.get(section, []):
            for name in fields:
                entry[name] = date.fromisoformat(entry[name])
    return yaml_dialect.dump(data, header=YAML_HEADER)


async def _rows(session: AsyncSession, model: type[Any], tenant_id: str) -> list[Any]:
    stmt = select(model).where(model.tenant_id == tenant_id).order_by(model.position, model.key)
    return list((await session.scalars(stmt)).all())


def _staff(row: StaffMember) -> dict[str, Any]:
    return {
        "key": row.key,
        "name": row.name,
        "aliases": row.aliases or [],
        "role": row.role,
        "email": row.email,
        "phone": row.phone,
        "sip": row.sip,
        "skills": row.skills or {},
        "hours": row.hours,
        "user_role": row.user_role,
        "capacity": row.capacity,
    }


def _service(row: Service) -> dict[str, Any]:
    price = None if row.price_cents is None else Decimal(row.price_cents) / 100
    return {
        "key": row.key,
        "name": row.name,
        "description": row.description,
        "duration_minutes": row.duration_minutes,
        "price": price,
        "price_from": row.price_from,
        "bookable": row.bookable,
        "staff": row.staff_keys or [],
    }


def _faq(row: FaqEntry) -> dict[str, Any]:
    return {"key": row.key, "question": row.question, "answer": row.answer, "tags": row.tags or []}


def _queue(row: Queue) -> dict[str, Any]:
    return {
        "key": row.key,
        "name": row.name,
        "skills": row.skills or [],
        "priority": row.priority,
        "sla_seconds": row.sla_seconds,
        "sla_target": row.sla_target,
        "channels": row.channels or [],
        "hours": row.hours,
        "callback": row.callback,
        "overflow": row.overflow or [],
        "strategy": row.strategy,
        "offer_timeout_seconds": row.offer_timeout_seconds,
        "wrapup_seconds": row.wrapup_seconds,
        "aging_per_minute": row.aging_per_minute,
        "min_proficiency": row.min_proficiency,
        "max_missed_offers": row.max_missed_offers,
    }


async def _channels(
    session: AsyncSession, tenant_id: str, config: dict[str, Any], include_secrets: bool
) -> list[dict[str, Any]]:
    # channel_accounts has no position column: keep the order of the last applied document.
    applied = {c["name"]: c for c in config.get("channels") or []}
    order = {name: i for i, name in enumerate(applied)}
    stmt = select(ChannelAccount).where(ChannelAccount.tenant_id == tenant_id)
    rows = sorted(
        (await session.scalars(stmt)).all(), key=lambda r: (order.get(r.name, len(order)), r.name)
    )
    out = []
    for row in rows:
        entry: dict[str, Any] = {
            "name": row.name,
            "kind": row.kind,
            "provider": row.provider,
            "address": row.address,
            "enabled": row.enabled,
            "settings": row.settings or {},
        }
        if include_secrets and row.secret:
            entry["secret"] = row.secret
        elif applied.get(row.name, {}).get("secret_env"):
            entry["secret_env"] = applied[row.name]["secret_env"]
        out.append(entry)
    return out
