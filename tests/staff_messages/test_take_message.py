"""take_message: the stored message, its deliveries, its deadline and its event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from centralita.bootstrap import Container
from centralita.core.errors import InvalidInput
from centralita.events.models import OutboxEvent
from tests.factories import make_tenant
from tests.staff_messages.conftest import Hook, deliveries, event_names, make_clinic, reload, take

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


async def test_message_rows_and_event(container: Container, webhook: Hook) -> None:
    clinic = await make_clinic(container, webhook_url=webhook.url)
    message = await take(
        container, clinic.tenant_id, now=NOW, contact_id="ct_1", transcript_url="https://x/t"
    )
    stored = await reload(container, message.id)
    assert message.id.startswith("smsg_")
    assert (stored.recipient_key, stored.recipient_name) == ("garcia", "Dra. Lucía García")
    assert (stored.caller_name, stored.caller_phone, stored.caller_email) == (
        "Ana Ruiz",
        "+34600111222",
        "ana@example.com",
    )
    assert (stored.status, stored.urgency, stored.language) == ("pending", "high", "es")
    assert stored.contact_id == "ct_1" and stored.transcript_url == "https://x/t"
    assert stored.acknowledged_at is None and stored.escalated_at is None
    rows = await deliveries(container, message.id)
    assert sorted((d.channel, d.target, d.status, d.attempts, d.escalation) for d in rows) == [
        ("email", "lucia.garcia@clinica.example", "pending", 0, False),
        ("in_app", "garcia", "pending", 0, False),
        ("webhook", webhook.url, "pending", 0, False),
    ]
    assert all(d.tenant_id == clinic.tenant_id for d in rows)
    assert await event_names(container, clinic.tenant_id) == ["staff_message.created"]
    async with container.sessions() as session:
        event = await session.scalar(
            select(OutboxEvent).where(OutboxEvent.name == "staff_message.created")
        )
    assert event is not None and event.payload == {
        "tenant_id": clinic.tenant_id,
        "message_id": message.id,
        "conversation_id": "cv_test",
        "recipient_key": "garcia",
        "urgency": "high",
    }


@pytest.mark.parametrize(
    ("urgency", "minutes"), [("low", 30), ("normal", 30), ("high", 10), ("emergency", 5)]
)
async def test_deadline_by_urgency(container: Container, urgency: str, minutes: int) -> None:
    clinic = await make_clinic(container)
    message = await take(container, clinic.tenant_id, urgency=urgency, now=NOW)
    assert message.due_at == NOW + timedelta(minutes=minutes)


async def test_short_ack_window_caps_the_emergency_deadline(container: Container) -> None:
    clinic = await make_clinic(container, ack_minutes=2)
    emergency = await take(container, clinic.tenant_id, urgency="emergency", now=NOW)
    high = await take(container, clinic.tenant_id, urgency="high", now=NOW)
    assert emergency.due_at == NOW + timedelta(minutes=2)
    assert high.due_at == NOW + timedelta(minutes=1)


async def test_recipient_falls_back_to_default_then_first(container: Container) -> None:
    clinic = await make_clinic(container)
    unknown = await take(container, clinic.tenant_id, recipient_key="nobody")
    nobody = await take(container, clinic.tenant_id, recipient_key=None)
    assert unknown.recipient_key == nobody.recipient_key == "lopez"
    assert nobody.recipient_name == "Carmen López"

    other = await make_clinic(container, "sin-defecto", default_recipient=None)
    first = await take(container, other.tenant_id, recipient_key=None)
    assert first.recipient_key == "garcia"


async def test_no_email_without_address_or_when_policy_says_so(container: Container) -> None:
    clinic = await make_clinic(container)
    no_address = await take(container, clinic.tenant_id, recipient_key="ruiz")
    assert [d.channel for d in await deliveries(container, no_address.id)] == ["in_app"]

    quiet = await make_clinic(container, "sin-correo", email=False)
    message = await take(container, quiet.tenant_id)
    assert [d.channel for d in await deliveries(container, message.id)] == ["in_app"]


async def test_tenant_without_a_directory_still_keeps_the_message(container: Container) -> None:
    kit = await make_tenant(container)  # made through the API: no document, nobody listed
    message = await take(container, kit.tenant_id, recipient_key="garcia", urgency="normal")
    assert message.recipient_key is None and message.recipient_name is None
    assert message.due_at > message.created_at
    rows = await deliveries(container, message.id)
    assert [(d.channel, d.target) for d in rows] == [("in_app", "")]


async def test_long_fields_are_clipped_and_urgency_checked(container: Container) -> None:
    clinic = await make_clinic(container)
    message = await take(container, clinic.tenant_id, reason="x" * 900, caller_name="  ")
    assert len(message.reason or "") == 500 and message.caller_name is None
    with pytest.raises(InvalidInput):
        await take(container, clinic.tenant_id, urgency="whenever")
