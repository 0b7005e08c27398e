"""Appointment reminders: once, 24 h before a booked appointment, never for a cancelled one,
and not to somebody who opted out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from centralita.bootstrap import Container
from centralita.campaigns.models import ReminderSent
from centralita.scheduling import service as scheduling_service
from centralita.tenants.models import Tenant
from tests.campaigns.kit import SID, TOKEN, clinic, contact, sms_to, text_in, tick
from tests.channels.fake_twilio import FakeTwilio, fake_twilio

MADRID = ZoneInfo("Europe/Madrid")
# Appointment rows carry the real creation time: the test's days lie after it.
NOW = datetime(2027, 3, 1, 10, 0, tzinfo=MADRID)  # Monday
TUESDAY_17 = datetime(2027, 3, 2, 17, 0, tzinfo=MADRID)


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with fake_twilio(SID, TOKEN) as server:
        yield server


async def _book(container: Container, tenant: Tenant, start: datetime, contact_id: str) -> str:
    async with container.sessions() as session, session.begin():
        appointment = await scheduling_service.book(
            session,
            tenant=tenant,
            start=start,
            now=NOW,
            service_key="limpieza",
            contact_id=contact_id,
            source="api",
        )
        return appointment.id


async def test_reminders_go_once_24_hours_before_and_not_for_cancelled(
    container: Container, twilio: FakeTwilio
) -> None:
    container.clock = lambda: NOW
    tenant, _ = await clinic(container, twilio, reminders=True, reminder_hours=[24])
    # no marketing consent needed: a reminder is transactional
    ana = await contact(container, tenant, "Ana López", "+34600000061", consent={})
    bea = await contact(container, tenant, "Bea Ruiz", "+34600000062", consent={}, tags=[])
    await _book(container, tenant, TUESDAY_17, ana)
    cancelled = await _book(container, tenant, TUESDAY_17 + timedelta(hours=1), bea)
    async with container.sessions() as session, session.begin():
        await scheduling_service.cancel(
            session, tenant_id=tenant.id, appointment_id=cancelled, now=NOW
        )

    report = await tick(container, TUESDAY_17 - timedelta(hours=25))
    assert report.reminders == 0 and twilio.sent == []
    report = await tick(container, TUESDAY_17 - timedelta(hours=24) + timedelta(minutes=1))
    assert report.reminders == 1
    for minutes in (2, 30, 60 + 5, 60 * 5):  # later ticks, also after the cancelled one's time
        await tick(container, TUESDAY_17 - timedelta(hours=24) + timedelta(minutes=minutes))
    assert sms_to(twilio) == {"+34600000061": 1}
    [sent] = twilio.sent
    assert "02/03/2027" in sent["Body"] and "17:00" in sent["Body"]
    assert sent["Body"].startswith("Recordatorio de ")
    async with container.sessions() as session:
        [row] = (await session.scalars(select(ReminderSent))).all()
    assert (row.status, row.hours_before, row.channel) == ("sent", 24, "sms")


async def test_no_reminder_after_an_opt_out_or_when_reminders_are_off(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    container.clock = lambda: NOW
    tenant, account = await clinic(container, twilio, reminders=True, reminder_hours=[24])
    ana = await contact(container, tenant, "Ana López", "+34600000071", language="en")
    await _book(container, tenant, TUESDAY_17, ana)
    await text_in(client, account, "+34600000071", "stop", "SM" + "7" * 32)
    await container.relay.drain()
    assert len(twilio.sent) == 1 and "START" in twilio.sent[0]["Body"]  # English confirmation
    await tick(container, TUESDAY_17 - timedelta(hours=23))
    assert len(twilio.sent) == 1
    async with container.sessions() as session:
        [row] = (await session.scalars(select(ReminderSent))).all()
    assert (row.status, row.reason) == ("skipped", "opted_out")


async def test_reminders_off_send_nothing(container: Container, twilio: FakeTwilio) -> None:
    container.clock = lambda: NOW
    tenant, _ = await clinic(container, twilio)  # reminders default to off
    ana = await contact(container, tenant, "Ana López", "+34600000081")
    await _book(container, tenant, TUESDAY_17, ana)
    await tick(container, TUESDAY_17 - timedelta(hours=23))
    assert twilio.sent == []
