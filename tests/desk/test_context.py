"""The desktop's customer 360° panel and inbox lines, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from centralita.app import create_app
from centralita.bootstrap import Container
from centralita.conversations.models import Conversation
from centralita.core.ids import new_id
from centralita.receptionist.models import Handoff
from centralita.scheduling.models import Appointment
from centralita.staff_messages import service as staff_messages_service
from centralita.tenants import service as tenants_service
from centralita.tenants.models import Queue, Service, StaffMember
from tests.factories import TenantKit, make_tenant
from tests.simulator_client import simulator_request
from tests.web.forms import make_user, meta_token, sign_in

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@dataclass
class Clinic:
    kit: TenantKit
    conversation_id: str
    contact_id: str
    browser: httpx.AsyncClient  # an agent signed in, with the CSRF header


async def _write(container: Container, client: httpx.AsyncClient, kit: TenantKit, text: str) -> str:
    body, headers = simulator_request(kit.simulator_secret, text=text, name="Lucía Pérez")
    r = await client.post(f"/hooks/{kit.simulator_account_id}", content=body, headers=headers)
    assert r.status_code == 200, r.text
    async with container.sessions() as session:
        conversation = await session.scalar(
            select(Conversation)
            .where(Conversation.tenant_id == kit.tenant_id, Conversation.status != "closed")
            .order_by(Conversation.created_at.desc())
        )
    assert conversation is not None
    return conversation.id


async def _clinic(container: Container, client: httpx.AsyncClient) -> Clinic:
    kit = await make_tenant(container)
    conversation_id = await _write(container, client, kit, "Quiero hablar con una persona")
    user_id = await make_user(container, kit.tenant_id, email="moreno@example.com", name="Alberto")
    async with container.sessions() as session, session.begin():
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        contact_id = conversation.contact_id
        conversation.intake = {"intent": "book_appointment", "service_key": "limpieza"}
        conversation.sentiment = -0.4
        session.add_all([
            StaffMember(id=new_id("stf"), tenant_id=kit.tenant_id, key="moreno",
                        name="Alberto Moreno", user_id=user_id, user_role="agent"),
            StaffMember(id=new_id("stf"), tenant_id=kit.tenant_id, key="sanz",
                        name="Paula Sanz"),
            Service(id=new_id("svc"), tenant_id=kit.tenant_id, key="limpieza",
                    name={"es": "Limpieza dental", "en": "Dental cleaning"}),
            Queue(id=new_id("que"), tenant_id=kit.tenant_id, key="recepcion", name="Recepción"),
            Handoff(id=new_id("hnd"), tenant_id=kit.tenant_id, conversation_id=conversation_id,
                    contact_id=contact_id, queue_key="recepcion", channel="whatsapp",
                    reason="Quiere hablar con una persona", urgency="high",
                    summary="Pide una limpieza y prefiere hablar con alguien",
                    intake={"intent": "book_appointment", "service_key": "limpieza",
                            "preferred_time": "2026-12-09T10:00:00+01:00"},
                    requested_at=T0 - timedelta(minutes=5)),
            # an older hand-off of the same conversation: the latest one is shown
            Handoff(id=new_id("hnd"), tenant_id=kit.tenant_id, conversation_id=conversation_id,
                    contact_id=contact_id, channel="whatsapp", reason="antes",
                    requested_at=T0 - timedelta(days=2)),
            # a past conversation of the same customer, on another channel
            Conversation(id=new_id("cv"), tenant_id=kit.tenant_id, contact_id=contact_id,
                         status="closed", last_channel="voice", subject="Presupuesto",
                         last_message_at=T0 - timedelta(days=30)),
            Appointment(id=new_id("apt"), tenant_id=kit.tenant_id, contact_id=contact_id,
                        staff_key="sanz", service_key="limpieza", status="booked",
                        start_at=T0 + timedelta(days=2), end_at=T0 + timedelta(days=2, hours=1)),
        ])  # fmt: skip
        tenant = await tenants_service.get_tenant(session, tenant_id=kit.tenant_id)
        await staff_messages_service.take_message(
            session,
            tenant=tenant,
            conversation_id=conversation_id,
            contact_id=contact_id,
            recipient_key=None,
            caller_name="Lucía Pérez",
            caller_phone="+34600111222",
            caller_email=None,
            reason="Dudas con la factura",
            intent="billing",
            urgency="normal",
            summary="Llamar por la factura de octubre",
            language="es",
            now=T0 - timedelta(days=1),
        )
    browser = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(container)), base_url="http://testserver"
    )
    assert (await sign_in(browser, kit.slug, email="moreno@example.com")).status_code == 303
    browser.headers["X-CSRF-Token"] = meta_token((await browser.get("/app")).text)
    return Clinic(kit, conversation_id, contact_id, browser)


@pytest.fixture
async def clinic(container: Container, client: httpx.AsyncClient) -> AsyncIterator[Clinic]:
    container.clock = lambda: T0
    found = await _clinic(container, client)
    try:
        yield found
    finally:
        await found.browser.aclose()


async def test_the_context_shows_the_intake_the_customer_and_their_history(
    clinic: Clinic,
) -> None:
    r = await clinic.browser.get(f"/api/v1/desk/conversations/{clinic.conversation_id}/context")
    assert r.status_code == 200, r.text
    data = r.json()

    conversation = data["conversation"]
    assert conversation["id"] == clinic.conversation_id
    assert conversation["channel"] == "whatsapp" and conversation["status"] == "open"
    assert conversation["sentiment"] == -0.4
    assert conversation["intake"]["service_key"] == "limpieza"

    handoff = data["handoff"]
    assert handoff["reason"] == "Quiere hablar con una persona"
    assert handoff["urgency"] == "high" and handoff["queue_name"] == "Recepción"
    assert handoff["summary"].startswith("Pide una limpieza")
    assert handoff["intake"]["preferred_time"] == "2026-12-09T10:00:00+01:00"

    contact = data["contact"]
    assert contact["id"] == clinic.contact_id and contact["name"] == "Lucía Pérez"
    assert contact["vip"] is False and contact["value"] == 0
    assert {"kind": "whatsapp", "value": "34600111222", "label": None} in contact["addresses"]

    [past] = data["past_conversations"]
    assert past["last_channel"] == "voice" and past["subject"] == "Presupuesto"
    assert past["status"] == "closed"

    [appointment] = data["appointments"]
    assert appointment["service_key"] == "limpieza" and appointment["staff_key"] == "sanz"
    assert appointment["status"] == "booked"
    assert data["staff_names"] == {"sanz": "Paula Sanz"}
    assert data["service_names"] == {"limpieza": {"es": "Limpieza dental", "en": "Dental cleaning"}}

    [taken] = data["messages_taken"]
    assert taken["summary"] == "Llamar por la factura de octubre"
    assert taken["reason"] == "Dudas con la factura" and taken["status"] == "pending"

    assert data["survey_answers"] == []
    window = data["whatsapp_window"]
    assert window["open"] is True and window["reengagement_template"] is None


async def test_the_whatsapp_window_closes_a_day_after_the_last_message(
    container: Container, clinic: Clinic
) -> None:
    container.clock = lambda: T0 + timedelta(hours=25)  # the message came at T0
    r = await clinic.browser.get(f"/api/v1/desk/conversations/{clinic.conversation_id}/context")
    assert r.status_code == 200, r.text
    assert r.json()["whatsapp_window"]["open"] is False


async def test_another_tenant_and_unknown_ids_are_not_found(
    container: Container, client: httpx.AsyncClient, clinic: Clinic
) -> None:
    other = await make_tenant(container)
    path = f"/api/v1/desk/conversations/{clinic.conversation_id}/context"
    r = await client.get(path, headers=other.headers)
    assert r.status_code == 404
    assert clinic.conversation_id in r.json()["detail"]
    assert (await client.get(path, headers=clinic.kit.headers)).status_code == 200
    unknown = "cv_" + "0" * 26
    r = await clinic.browser.get(f"/api/v1/desk/conversations/{unknown}/context")
    assert r.status_code == 404
    r = await clinic.browser.get("/api/v1/desk/conversations/not-an-id/context")
    assert r.status_code == 404
    # the inbox lines leave out what is not the tenant's
    r = await client.get(
        "/api/v1/desk/conversations",
        params={"ids": [clinic.conversation_id, unknown]},
        headers=other.headers,
    )
    assert r.status_code == 200 and r.json() == []
    assert (await client.get(path)).status_code == 401


async def test_inbox_lines_name_the_customer_and_the_latest_message(
    container: Container, client: httpx.AsyncClient, clinic: Clinic
) -> None:
    second = await _write(container, client, clinic.kit, "Y otra cosa")
    assert second == clinic.conversation_id  # the same thread
    r = await clinic.browser.get(
        "/api/v1/desk/conversations",
        params={"ids": [clinic.conversation_id, "cv_" + "0" * 26, clinic.conversation_id]},
    )
    assert r.status_code == 200, r.text
    [line] = r.json()
    assert line["id"] == clinic.conversation_id and line["contact_name"] == "Lucía Pérez"
    assert line["channel"] == "whatsapp" and line["vip"] is False
    assert line["last_message"]["body"] == "Y otra cosa"
    assert line["last_message"]["direction"] == "inbound"
    assert line["last_inbound_at"] is not None
    assert line["urgency"] == "high" and line["reason"] == "Quiere hablar con una persona"
    r = await clinic.browser.get("/api/v1/desk/conversations", params={"ids": ["x"] * 51})
    assert r.status_code == 422
    r = await clinic.browser.get("/api/v1/desk/conversations")
    assert r.status_code == 422
