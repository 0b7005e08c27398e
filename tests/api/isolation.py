"""The tenant-isolation walker: every /api/v1 route, called by tenant A with tenant B's ids.

A route passes when a foreign id answers 404, a list shows none of B's objects, and B's rows
in the database are byte-for-byte unchanged afterwards. Every route needs an entry in
``EXAMPLES`` (a valid body), so a new route cannot slip past the walk unnoticed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from centralita.bootstrap import Container
from centralita.conversations.models import Message
from centralita.core.clock import utcnow
from centralita.core.ids import new_id
from centralita.db.registry import metadata
from centralita.receptionist.models import Handoff
from centralita.staff_messages import service as staff_messages_service
from centralita.tenants import service as tenants_service
from centralita.tenants.config.apply import apply_document
from centralita.tenants.config.schema import TenantDocument
from tests.factories import TenantKit

PARAM = re.compile(r"{(\w+)}")

# A valid request body for every mutating route (so that validation cannot hide a leak).
EXAMPLES: dict[tuple[str, str], Any] = {
    ("PATCH", "/api/v1/tenants/{tenant_id}"): {"name": "Renamed by A"},
    ("POST", "/api/v1/users"): {"email": "new-a@example.com", "name": "New", "role": "agent"},
    ("PATCH", "/api/v1/users/{user_id}"): {"name": "Renamed by A", "disabled": True},
    ("POST", "/api/v1/api-keys"): {"name": "a-key"},
    ("DELETE", "/api/v1/api-keys/{key_id}"): None,
    ("POST", "/api/v1/contacts"): {"name": "A's contact"},
    ("PATCH", "/api/v1/contacts/{contact_id}"): {"name": "Renamed by A"},
    ("DELETE", "/api/v1/contacts/{contact_id}"): None,
    # The same address B's contact has: A must get its own contact, not B's.
    ("POST", "/api/v1/contacts/lookup"): {"kind": "whatsapp", "value": "34600999888"},
    ("POST", "/api/v1/contacts/{contact_id}/addresses"): {"kind": "web", "value": "visitor-a"},
    ("DELETE", "/api/v1/contacts/{contact_id}/addresses/{address_id}"): None,
    ("POST", "/api/v1/contacts/{contact_id}/merge/preview"): {"other_id": "ct_other"},
    ("POST", "/api/v1/contacts/{contact_id}/merge"): {"other_id": "ct_other"},
    ("POST", "/api/v1/contact-merges/{merge_id}/undo"): None,
    ("PATCH", "/api/v1/conversations/{conversation_id}"): {"status": "closed"},
    ("POST", "/api/v1/conversations/{conversation_id}/messages"): {"body": "leak?"},
    ("POST", "/api/v1/staff-messages/{staff_message_id}/acknowledge"): None,
    ("POST", "/api/v1/handoffs/{handoff_id}/take"): None,
    ("POST", "/api/v1/conversations/{conversation_id}/spam"): {"spam": False},
    # A callback A could book, a foreign contact aside (A has no hours: 422, never a leak).
    ("POST", "/api/v1/appointments"): {
        "kind": "callback",
        "start": "2030-01-08T10:00:00+01:00",
        "phone": "+34600999888",
    },
    ("POST", "/api/v1/appointments/{appointment_id}/reschedule"): {
        "start": "2030-01-08T10:00:00+01:00"
    },
    ("POST", "/api/v1/appointments/{appointment_id}/cancel"): {"reason": "leak?"},
    ("POST", "/api/v1/appointments/{appointment_id}/confirm"): None,
    ("POST", "/api/v1/staff/{staff_key}/calendar-feed"): None,
    ("PUT", "/api/v1/agent/me/presence"): {"presence": "available"},
    ("POST", "/api/v1/agent/me/wrapup-done"): None,
    ("POST", "/api/v1/agent/offers/{conversation_id}/accept"): None,
    ("POST", "/api/v1/agent/offers/{conversation_id}/decline"): None,
    ("POST", "/api/v1/conversations/{conversation_id}/pick"): None,
    ("POST", "/api/v1/conversations/{conversation_id}/transfer"): {"queue_id": "que_other"},
    ("POST", "/api/v1/conversations/{conversation_id}/resolve"): {"wrapup_code": "resolved"},
    ("POST", "/api/v1/conversations/{conversation_id}/assign"): {"agent_id": "stf_other"},
    ("PUT", "/api/v1/routing/agents/{agent_id}/presence"): {"presence": "away"},
    ("POST", "/api/v1/campaigns"): {"name": "A's campaign", "body": "Hola {first_name}"},
    ("PATCH", "/api/v1/campaigns/{campaign_id}"): {"name": "Renamed by A"},
    ("DELETE", "/api/v1/campaigns/{campaign_id}"): None,
    ("POST", "/api/v1/campaigns/{campaign_id}/preview"): None,
    ("POST", "/api/v1/campaigns/{campaign_id}/start"): None,
    ("POST", "/api/v1/campaigns/{campaign_id}/pause"): None,
    ("POST", "/api/v1/campaigns/{campaign_id}/cancel"): None,
    ("POST", "/api/v1/contacts/{contact_id}/opt-out"): {"channel": "all"},
    ("POST", "/api/v1/contacts/{contact_id}/opt-in"): {"channel": "all"},
    # webhooks: a public address literal, so that A's own create needs no DNS
    ("POST", "/api/v1/webhooks"): {"url": "https://93.184.215.14/a-hook", "events": ["*"]},
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): {"enabled": False, "description": "by A"},
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): None,
    ("POST", "/api/v1/webhooks/{webhook_id}/rotate-secret"): {"grace_hours": 0},
    ("POST", "/api/v1/webhook-deliveries/{webhook_delivery_id}/replay"): None,
    ("POST", "/api/v1/contacts/{contact_id}/erasure"): {"destroy_now": True},
}


async def populate_scheduling(
    container: Container, client: httpx.AsyncClient, kit: TenantKit
) -> dict[str, str]:
    """Give ``kit``'s tenant hours and a staff member, then book and mint a feed by the API."""
    every_day = {
        day: [["00:00", "24:00"]]
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    }
    doc = TenantDocument.model_validate(
        {
            "version": 1,
            "tenant": {"slug": kit.slug, "name": kit.slug.title(), "timezone": "Europe/Madrid"},
            "hours": every_day,
            "staff": [{"key": "b-dentist", "name": "B Dentist"}],
            # Listed so that applying keeps the simulator channel make_tenant created.
            "channels": [
                {
                    "name": "simulator",
                    "kind": "multi",
                    "provider": "simulator",
                    "address": "simulator",
                    "secret": kit.simulator_secret,
                }
            ],
        }
    )
    async with container.sessions() as session, session.begin():
        await apply_document(session, doc, actor="tests")
    slots = await client.get(
        "/api/v1/availability", headers=kit.headers, params={"staff_key": "b-dentist"}
    )
    booked = await client.post(
        "/api/v1/appointments",
        headers=kit.headers,
        json={"start": slots.json()["slots"][0]["start"], "staff_key": "b-dentist"},
    )
    assert booked.status_code == 201, booked.text
    feed = await client.post("/api/v1/staff/b-dentist/calendar-feed", headers=kit.headers)
    assert feed.status_code == 201, feed.text
    return {"appointment_id": booked.json()["id"], "staff_key": "b-dentist"}


async def populate_staff_messages(
    container: Container, kit: TenantKit, conversation_id: str
) -> dict[str, str]:
    """A message taken for staff in ``kit``'s tenant (the receptionist's path; no API)."""
    async with container.sessions() as session, session.begin():
        tenant = await tenants_service.get_tenant(session, tenant_id=kit.tenant_id)
        message = await staff_messages_service.take_message(
            session,
            tenant=tenant,
            conversation_id=conversation_id,
            contact_id=None,
            recipient_key="b-dentist",
            caller_name="B caller",
            caller_phone="+34600999888",
            caller_email=None,
            reason="leak?",
            intent="message",
            urgency="normal",
            summary="B's message",
            language="es",
            now=utcnow(),
        )
    return {"staff_message_id": message.id}


async def populate_handoff(
    container: Container, kit: TenantKit, conversation_id: str
) -> dict[str, str]:
    """A conversation the receptionist handed to people in ``kit``'s tenant."""
    async with container.sessions() as session, session.begin():
        handoff = Handoff(
            id=new_id("hnd"),
            tenant_id=kit.tenant_id,
            conversation_id=conversation_id,
            queue_key="b-queue",
            channel="whatsapp",
            reason="B wants a person",
            summary="B's summary",
        )
        session.add(handoff)
    return {"handoff_id": handoff.id}


async def populate_routing(
    container: Container, kit: TenantKit, conversation_id: str
) -> dict[str, str]:
    """An agent with a login, a queue, and the conversation offered to the agent by the ACD."""
    from centralita.access import service as access_service
    from centralita.routing import runtime, service
    from centralita.routing.model import Enqueue, Presence, SetPresence
    from centralita.tenants.models import Queue, StaffMember

    async with container.sessions() as session, session.begin():
        user = await access_service.create_user(
            session, tenant_id=kit.tenant_id, email="b-agent@example.com", name="B agent",
            role="agent", cheap_hash=True,
        )  # fmt: skip
        staff = StaffMember(id=new_id("stf"), tenant_id=kit.tenant_id, key="b-agent",
                            name="B agent", user_id=user.id, user_role="agent")  # fmt: skip
        queue = Queue(id=new_id("que"), tenant_id=kit.tenant_id, key="b-routing", name="B")
        session.add_all([staff, queue])
    async with container.sessions() as session, session.begin():
        await runtime.sync(session, container, kit.tenant_id)
        for event in (SetPresence(staff.id, Presence.AVAILABLE),
                      Enqueue(conversation_id, queue.id, "whatsapp")):  # fmt: skip
            await service.apply(session, container.routing, kit.tenant_id, event, utcnow())
    return {"agent_id": staff.id}


async def populate_file(container: Container, kit: TenantKit, message_id: str) -> dict[str, str]:
    """A file attached to one of ``kit``'s messages, as ingest leaves it: the bytes in the
    tenant's file store, the reference in the message's metadata."""
    blob = container.blobs.put(
        kit.tenant_id, b"B's scan " + kit.tenant_id.encode(), content_type="text/plain",
        filename="b.txt",
    )  # fmt: skip
    async with container.sessions() as session, session.begin():
        message = await session.get(Message, message_id)
        assert message is not None and message.tenant_id == kit.tenant_id
        message.meta = {**(message.meta or {}), "attachments": [blob.as_meta()]}
    return {"key": blob.key}


async def populate_survey(
    container: Container, client: httpx.AsyncClient, kit: TenantKit
) -> dict[str, str]:
    """A survey sent after an interaction of ``kit``'s (the surveys service, as on a close), on
    a conversation of its own: the other one is marked spam, and spam is never surveyed."""
    from centralita.conversations.models import Interaction
    from centralita.surveys import service as surveys_service
    from centralita.tenants.models import Tenant
    from tests.simulator_client import simulator_request

    body, headers = simulator_request(kit.simulator_secret, text="hola", value="34600111222")
    hook = await client.post(f"/hooks/{kit.simulator_account_id}", content=body, headers=headers)
    assert hook.status_code == 200, hook.text
    async with container.sessions() as session, session.begin():
        tenant = await session.get_one(Tenant, kit.tenant_id)
        tenant.config = {**(tenant.config or {}), "surveys": {"enabled": True, "after": "any"}}
        interaction = await session.scalar(
            select(Interaction)
            .where(Interaction.tenant_id == kit.tenant_id)
            .order_by(Interaction.arrived_at.desc())
            .limit(1)
        )
        assert interaction is not None
        interaction.ended_at = interaction.ended_at or utcnow()
        survey = await surveys_service.send_survey(
            session, tenant=tenant, interaction=interaction, now=utcnow()
        )
        assert survey is not None
    return {"survey_id": survey.id}


async def populate_campaigns(
    client: httpx.AsyncClient, kit: TenantKit, contact_id: str
) -> dict[str, str]:
    """A draft campaign (GET /campaigns, /campaigns/{id}, /recipients) and a manual opt-out
    (GET /opt-outs) in ``kit``'s tenant."""
    campaign = await client.post(
        "/api/v1/campaigns",
        headers=kit.headers,
        json={"name": "B's campaign", "body": "Hola {first_name}", "segment": {}},
    )
    assert campaign.status_code == 201, campaign.text
    opt_out = await client.post(f"/api/v1/contacts/{contact_id}/opt-out", headers=kit.headers)
    assert opt_out.status_code == 201, opt_out.text
    return {"campaign_id": campaign.json()["id"], "opt_out_id": opt_out.json()["id"]}


async def populate_webhooks(
    container: Container, client: httpx.AsyncClient, kit: TenantKit
) -> dict[str, str]:
    """A webhook of ``kit``'s and one delivery to it (the subscriber's path, no sending)."""
    from centralita.events.envelope import Envelope
    from centralita.webhooks import service as webhooks_service

    hook = await client.post(
        "/api/v1/webhooks",
        headers=kit.headers,
        json={"url": "https://93.184.215.14/b-hook", "events": ["*"]},
    )
    assert hook.status_code == 201, hook.text
    envelope = Envelope(
        event_id=new_id("evt"),
        name="contact.created",
        version=1,
        tenant_id=kit.tenant_id,
        occurred_at=utcnow().isoformat(),
        payload={"contact_id": "ct_b", "source": "api"},
    )
    async with container.sessions() as session, session.begin():
        await webhooks_service.enqueue(session, envelope, now=utcnow())
        page = await webhooks_service.list_deliveries(
            session, tenant_id=kit.tenant_id, webhook_id=hook.json()["id"]
        )
    return {"webhook_id": hook.json()["id"], "webhook_delivery_id": page.items[0].id}


@dataclass
class WalkReport:
    failures: list[str] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    paths = app.openapi()["paths"]
    return sorted(
        (method.upper(), path)
        for path, ops in paths.items()
        if path.startswith("/api/v1/")
        for method in ops
    )


async def tenant_rows(container: Container, tenant_id: str) -> dict[str, list[str]]:
    """Every row of every tenant-scoped table belonging to ``tenant_id``, serialised."""
    dump: dict[str, list[str]] = {}
    async with container.sessions() as session:
        for table in metadata.sorted_tables:
            column = table.c.get("tenant_id") if table.name != "tenants" else table.c.id
            if column is None:
                continue
            rows = (await session.execute(select(table).where(column == tenant_id))).all()
            dump[table.name] = sorted(
                json.dumps(dict(r._mapping), default=str, sort_keys=True) for r in rows
            )
    return dump


async def walk(
    client: httpx.AsyncClient,
    app: FastAPI,
    container: Container,
    a: TenantKit,
    b: TenantKit,
    b_ids: dict[str, str],
) -> WalkReport:
    report = WalkReport()
    before = await tenant_rows(container, b.tenant_id)
    b_values = set(b_ids.values())
    for method, path in api_routes(app):
        report.routes.append(f"{method} {path}")
        params = PARAM.findall(path)
        if method in {"POST", "PATCH", "PUT", "DELETE"} and (method, path) not in EXAMPLES:
            report.failures.append(f"{method} {path}: no example body in EXAMPLES")
            continue
        missing = [p for p in params if p not in b_ids]
        if missing:
            report.failures.append(f"{method} {path}: no foreign id for {missing}")
            continue
        url = path
        for p in params:
            url = url.replace("{" + p + "}", b_ids[p])
        body = EXAMPLES.get((method, path))
        if isinstance(body, dict) and body.get("other_id") == "ct_other":
            body = {"other_id": b_ids["contact_id"]}  # merging with a foreign contact
        kwargs: dict[str, Any] = {"headers": a.headers}
        if body is not None:
            kwargs["json"] = body
        response = await client.request(method, url, **kwargs)
        if params:
            if response.status_code != 404:
                report.failures.append(
                    f"{method} {path}: foreign id answered {response.status_code}, not 404"
                )
        else:
            leaked = [v for v in b_values if v in response.text]
            if leaked:
                report.failures.append(f"{method} {path}: response shows B's ids {leaked}")
            if response.status_code >= 500:
                report.failures.append(f"{method} {path}: {response.status_code}")
    after = await tenant_rows(container, b.tenant_id)
    for table in before:
        if before[table] != after.get(table):
            report.failures.append(f"tenant B's rows in {table} changed during A's walk")
    return report
