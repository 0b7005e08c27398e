"""Applying tenant documents on SQLite and PostgreSQL: idempotent, declarative, round-trips."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from centralita.access import service as access_service
from centralita.audit import service as audit_service
from centralita.bootstrap import Container
from centralita.channels.models import ChannelAccount
from centralita.db.registry import metadata
from centralita.demo import demo_tenant_text
from centralita.events.models import OutboxEvent
from centralita.tenants.config.apply import ApplyReport, apply_document
from centralita.tenants.config.export import dump_yaml, export_document, read_document
from centralita.tenants.config.loader import load_tenant_document
from centralita.tenants.config.schema import StaffConfig, TenantDocument
from centralita.tenants.models import FaqEntry, Queue, Service, StaffMember, Tenant

DEMOS = ["clinica-dental-sonrisa", "hartley-law"]
TIMESTAMPED = (Tenant, StaffMember, Service, FaqEntry, Queue, ChannelAccount)


def demo(slug: str) -> TenantDocument:
    return load_tenant_document(demo_tenant_text(slug), filename=f"{slug}.yaml")


async def apply(
    container: Container, doc: TenantDocument, environ: Mapping[str, str] | None = None
) -> ApplyReport:
    async with container.sessions() as session, session.begin():
        return await apply_document(session, doc, actor="tests", environ=environ)


async def export(container: Container, tenant_id: str, **kwargs: Any) -> dict[str, Any]:
    async with container.sessions() as session:
        return await export_document(session, tenant_id=tenant_id, **kwargs)


async def timestamps(container: Container) -> dict[str, datetime]:
    out: dict[str, datetime] = {}
    async with container.sessions() as session:
        for model in TIMESTAMPED:
            for row_id, updated in await session.execute(select(model.id, model.updated_at)):
                out[row_id] = updated
    return out


async def count(container: Container, model: type[Any]) -> int:
    async with container.sessions() as session:
        return len((await session.scalars(select(model))).all())


async def wipe(container: Container) -> None:
    async with container.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(table.delete())


@pytest.mark.parametrize("slug", DEMOS)
async def test_applying_twice_changes_nothing(container: Container, slug: str) -> None:
    doc = demo(slug)
    first = await apply(container, doc)
    assert first.created[0] == f"tenant:{slug}"
    assert f"staff:{doc.staff[0].key}" in first.created
    assert not first.updated and not first.deleted
    before, events = await timestamps(container), await count(container, OutboxEvent)

    second = await apply(container, load_tenant_document(demo_tenant_text(slug)))

    assert (second.created, second.updated, second.deleted) == ([], [], [])
    assert await timestamps(container) == before
    assert await count(container, OutboxEvent) == events
    async with container.sessions() as session:
        entries = await audit_service.list_entries(session, tenant_id=first.tenant_id)
    assert [e.action for e in entries] == ["tenant.config_applied"]
    assert entries[0].actor == "tests" and entries[0].data["created"] == first.created


async def test_apply_records_one_event_with_what_changed(container: Container) -> None:
    report = await apply(container, demo("hartley-law"))
    async with container.sessions() as session:
        rows = (await session.scalars(select(OutboxEvent).order_by(OutboxEvent.sequence))).all()
    applied = [r for r in rows if r.name == "tenant.config_applied"]
    assert len(applied) == 1
    assert applied[0].payload["created"] == report.created
    assert applied[0].payload["slug"] == "hartley-law"
    assert "tenant.created" in [r.name for r in rows]


async def test_rows_missing_from_the_document_are_deleted(container: Container) -> None:
    doc = demo("clinica-dental-sonrisa")
    first = await apply(container, doc)

    changed = doc.model_copy(deep=True)
    changed.staff = [m for m in changed.staff if m.key != "sanz"]
    for service in changed.services:
        service.staff = [k for k in service.staff if k != "sanz"] or ["garcia"]
    changed.faq[0].answer.en = "Yes, Adeslas, DKV and Sanitas."
    changed.channels = [c for c in changed.channels if c.name != "web"]
    changed.tenant.name = "Clínica Sonrisa"
    report = await apply(container, changed)

    assert report.created == []
    assert report.deleted == ["staff:sanz", "channel:web"]
    assert report.updated == [
        "tenant:clinica-dental-sonrisa",
        "staff:lopez",  # moved up a place
        "staff:moreno",
        "service:limpieza",
        "faq:seguros",
    ]
    assert report.changed_fields["staff:lopez"] == ["position"]
    assert report.changed_fields["faq:seguros"] == ["answer"]
    assert report.changed_fields["tenant:clinica-dental-sonrisa"] == ["name", "config"]
    async with container.sessions() as session:
        read = await read_document(session, tenant_id=first.tenant_id)
    assert [m.key for m in read.staff] == [m.key for m in changed.staff]
    assert read.faq[0].answer.en == "Yes, Adeslas, DKV and Sanitas."
    assert read.tenant.name == "Clínica Sonrisa"


async def test_staff_with_a_user_role_get_a_login(container: Container) -> None:
    doc = demo("clinica-dental-sonrisa")
    report = await apply(container, doc)
    assert "user:lucia.garcia@clinicadentalsonrisa.example" in report.created

    async def logins() -> dict[str, tuple[str, bool]]:
        async with container.sessions() as session:
            users = await access_service.list_users(session, tenant_id=report.tenant_id)
        return {u.email.split("@")[0]: (u.role, u.disabled) for u in users}

    assert await logins() == {
        "lucia.garcia": ("admin", False),
        "carmen.lopez": ("supervisor", False),
        "alberto.moreno": ("agent", False),
    }
    changed = doc.model_copy(deep=True)
    changed.staff[4].user_role = "agent"  # Carmen López
    changed.staff[5].user_role = None  # Alberto Moreno
    changed.staff[1].user_role = "agent"  # Dr Ruiz
    again = await apply(container, changed)
    assert again.created == ["user:javier.ruiz@clinicadentalsonrisa.example"]
    assert set(again.updated) >= {
        "user:carmen.lopez@clinicadentalsonrisa.example",
        "user:alberto.moreno@clinicadentalsonrisa.example",
    }
    assert await logins() == {
        "lucia.garcia": ("admin", False),
        "carmen.lopez": ("agent", False),
        "alberto.moreno": ("agent", True),
        "javier.ruiz": ("agent", False),
    }
    back = await apply(container, doc)
    assert "user:alberto.moreno@clinicadentalsonrisa.example" in back.updated
    assert (await logins())["alberto.moreno"] == ("agent", False)
    assert not (await apply(container, doc)).changed


async def test_secrets_come_from_the_document_or_the_environment(container: Container) -> None:
    doc = demo("clinica-dental-sonrisa")
    for channel in doc.channels:
        channel.enabled = True
    first = await apply(container, doc, environ={"SONRISA_TWILIO_AUTH_TOKEN": "tw-123"})
    assert first.warnings == [
        "channels[2].secret_env: SONRISA_WHATSAPP_APP_SECRET is not set; "
        "the channel's secret is left as it was",
        "channels[3].secret_env: SONRISA_MAIL_HOOK_SECRET is not set; "
        "the channel's secret is left as it was",
    ]
    second = await apply(container, doc, environ={})  # unset: the stored secret stays
    assert not second.changed
    async with container.sessions() as session:
        accounts = {a.name: a for a in await session.scalars(select(ChannelAccount))}
        tenant = await session.get(Tenant, first.tenant_id)
    assert accounts["telefono"].secret == "tw-123"
    assert accounts["simulator"].secret == "demo-sonrisa-simulator-secret"
    assert accounts["whatsapp"].secret == ""
    assert tenant is not None and "secret" not in tenant.config["channels"][0]

    plain = await export(container, first.tenant_id)
    assert [c.get("secret") for c in plain["channels"]] == [None] * 5
    assert plain["channels"][1]["secret_env"] == "SONRISA_TWILIO_AUTH_TOKEN"
    full = await export(container, first.tenant_id, include_secrets=True)
    assert full["channels"][0]["secret"] == "demo-sonrisa-simulator-secret"
    assert full["channels"][1]["secret"] == "tw-123" and "secret_env" not in full["channels"][1]


@pytest.mark.parametrize("slug", DEMOS)
async def test_export_apply_on_an_empty_database_export_is_identical(
    container: Container, slug: str
) -> None:
    doc = demo(slug)
    report = await apply(container, doc)
    exported = await export(container, report.tenant_id, include_secrets=True)
    assert exported == doc.to_data()  # nothing is lost on the way in
    text = dump_yaml(exported)

    await wipe(container)
    assert await count(container, Tenant) == 0
    again = await apply(container, load_tenant_document(text, filename="export.yaml"))
    assert again.tenant_id != report.tenant_id

    assert await export(container, again.tenant_id, include_secrets=True) == exported
    assert dump_yaml(await export(container, again.tenant_id, include_secrets=True)) == text


async def test_export_of_a_tenant_that_was_never_applied(container: Container) -> None:
    from tests.factories import make_tenant

    kit = await make_tenant(container, "plain-tenant")
    data = await export(container, kit.tenant_id, include_secrets=True)
    assert data["tenant"] == {
        "slug": "plain-tenant",
        "name": "Plain-Tenant",
        "timezone": "Europe/Madrid",
        "country": "ES",
    }
    assert data["channels"][0]["secret"] == kit.simulator_secret
    report = await apply(container, load_tenant_document(dump_yaml(data)))
    assert report.updated == ["tenant:plain-tenant"]  # only its stored config is filled in
    assert report.changed_fields["tenant:plain-tenant"] == ["config"]
    assert not (await apply(container, load_tenant_document(dump_yaml(data)))).changed


async def test_dry_run_is_a_rollback(container: Container) -> None:
    doc = demo("hartley-law")
    async with container.sessions() as session:
        transaction = await session.begin()
        report = await apply_document(session, doc)
        await transaction.rollback()
    assert report.changed
    assert await count(container, Tenant) == 0
    assert await count(container, StaffMember) == 0


def test_report_lines_show_created_changed_and_deleted() -> None:
    report = ApplyReport("tn_1", "x", created=["staff:a"], updated=["faq:b"], deleted=["queue:c"])
    report.changed_fields["faq:b"] = ["answer", "tags"]
    report.warnings.append("channels[0].secret_env: X is not set")
    assert report.lines() == [
        "+ staff:a",
        "~ faq:b (answer, tags)",
        "- queue:c",
        "warning: channels[0].secret_env: X is not set",
    ]
    assert StaffConfig(key="a", name="A").hours is None


async def test_apply_writes_the_routing_settings(container: Container) -> None:
    doc = demo("clinica-dental-sonrisa")
    report = await apply(container, doc)
    async with container.sessions() as session:
        queues = {q.key: q for q in await session.scalars(select(Queue))}
        staff = {m.key: m for m in await session.scalars(select(StaffMember))}
        tenant = await session.get(Tenant, report.tenant_id)
    urgent = queues["urgencias"]
    assert (
        urgent.strategy,
        urgent.offer_timeout_seconds,
        urgent.wrapup_seconds,
        urgent.aging_per_minute,
        urgent.min_proficiency,
        urgent.max_missed_offers,
    ) == ("skills_weighted", 15, 60, 0.0, 4, 0)
    assert urgent.overflow == [
        {"after_seconds": 20, "action": "widen", "skills": ["recepcion"]},
        {"after_seconds": 45, "action": "queue", "queue": "recepcion"},
    ]
    assert queues["recepcion"].overflow[0] == {"after_seconds": 60, "action": "callback"}
    assert (queues["recepcion"].strategy, queues["recepcion"].aging_per_minute) == (
        "longest_idle",
        2.0,
    )
    citas = queues["citas"]  # what the file leaves out gets the defaults
    assert (citas.offer_timeout_seconds, citas.min_proficiency, citas.max_missed_offers) == (
        30,
        1,
        3,
    )
    assert staff["moreno"].capacity == {
        "email": 8,
        "sms": 4,
        "voice": 1,
        "webchat": 3,
        "whatsapp": 4,
    }
    assert staff["sanz"].capacity is None  # absent: the routing reader's defaults
    assert tenant is not None
    assert tenant.config["routing"] == {
        "predictive": False,
        "predictive_share": 1.0,
        "predictive_min_samples": 20,
        "vip_bonus": 30,
        "urgency_bonus": {"low": -10, "normal": 0, "high": 50, "urgent": 100},
    }


async def test_changing_routing_settings_updates_only_what_changed(container: Container) -> None:
    doc = demo("hartley-law")
    await apply(container, doc)
    changed = doc.model_copy(deep=True)
    billing = next(q for q in changed.queues if q.key == "billing")
    billing.strategy = "least_occupied"
    billing.max_missed_offers = 0
    chen = next(m for m in changed.staff if m.key == "chen")
    chen.capacity = None
    okafor = next(m for m in changed.staff if m.key == "okafor")
    okafor.capacity = {"email": 2, "voice": 1}
    changed.routing.predictive = True
    changed.routing.urgency_bonus.urgent = 300

    report = await apply(container, changed)
    assert report.created == [] and report.deleted == []
    assert report.updated == ["tenant:hartley-law", "staff:okafor", "staff:chen", "queue:billing"]
    assert report.changed_fields["queue:billing"] == ["strategy", "max_missed_offers"]
    assert report.changed_fields["staff:chen"] == ["capacity"]
    assert report.changed_fields["tenant:hartley-law"] == ["config"]
    before = await timestamps(container)

    again = await apply(container, changed.model_copy(deep=True))
    assert not again.changed
    assert await timestamps(container) == before
    async with container.sessions() as session:
        read = await read_document(session, tenant_id=report.tenant_id)
    assert read.routing == changed.routing
    assert read.routing.predictive is True and read.routing.urgency_bonus.urgent == 300
    assert next(q for q in read.queues if q.key == "billing").strategy == "least_occupied"
    assert next(m for m in read.staff if m.key == "chen").capacity is None


async def test_export_keeps_the_routing_settings(container: Container) -> None:
    doc = demo("hartley-law")
    report = await apply(container, doc)
    exported = await export(container, report.tenant_id)
    assert exported["routing"] == doc.to_data()["routing"]
    assert exported["routing"]["urgency_bonus"] == {"high": 60, "urgent": 150}  # defaults left out
    staff = {m["key"]: m for m in exported["staff"]}
    assert staff["brennan"]["capacity"] == {
        "email": 8,
        "sms": 4,
        "voice": 1,
        "webchat": 3,
        "whatsapp": 0,
    }
    assert "capacity" not in staff["okafor"]  # absent stays absent
    queues = {q["key"]: q for q in exported["queues"]}
    assert queues["property"]["strategy"] == "skills_weighted"
    assert queues["property"]["overflow"][0] == {
        "after_seconds": 45,
        "action": "widen",
        "skills": ["intake"],
    }
    assert queues["urgent-family"]["max_missed_offers"] == 0
    assert "wrapup_seconds" not in queues["urgent-family"]  # the default, 0
    text = dump_yaml(exported)
    assert "routing:\n  predictive_share: 0.5\n" in text

    # A tenant applied before the routing section existed reads back with its defaults.
    async with container.sessions() as session, session.begin():
        tenant = await session.get(Tenant, report.tenant_id)
        assert tenant is not None
        tenant.config = {k: v for k, v in tenant.config.items() if k != "routing"}
    assert "routing" not in await export(container, report.tenant_id)
