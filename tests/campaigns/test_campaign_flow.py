"""A campaign end to end on both databases, SMS through the local Twilio stand-in: only the
eligible contacts get exactly one text; quiet hours defer, opt-outs stop, failures retry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from centralita.bootstrap import Container
from centralita.campaigns import optouts
from centralita.campaigns import service as campaigns_service
from centralita.campaigns.models import Campaign, OptOut
from centralita.contacts import service as contacts_service
from centralita.core.clock import utcnow
from centralita.core.errors import Conflict
from centralita.tenants.models import Tenant
from tests.campaigns.kit import (
    SID,
    TOKEN,
    clinic,
    contact,
    recipients,
    sms_to,
    status_callback,
    text_in,
    tick,
)
from tests.channels.fake_twilio import FakeTwilio, fake_twilio

MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Madrid
BODY = "Hola {first_name}: 20% en limpiezas esta semana. Responde BAJA para no recibir más."


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with fake_twilio(SID, TOKEN) as server:
        yield server


async def _campaign(
    container: Container, tenant: Tenant, now: datetime, **fields: object
) -> Campaign:
    values: dict[str, object] = {
        "name": "Limpiezas de noviembre",
        "channel": "sms",
        "body": BODY,
        "segment": {"tags": {"any": ["promo"]}},
        **fields,
    }
    async with container.sessions() as session, session.begin():
        return await campaigns_service.create_campaign(
            session,
            tenant_id=tenant.id,
            created_by="tests",
            now=now,
            **values,  # type: ignore[arg-type]
        )


async def _start(container: Container, tenant: Tenant, campaign_id: str, now: datetime) -> None:
    async with container.sessions() as session, session.begin():
        await campaigns_service.start_campaign(
            session, tenant_id=tenant.id, campaign_id=campaign_id, now=now
        )


async def _campaign_row(container: Container, campaign_id: str) -> Campaign:
    async with container.sessions() as session:
        row = await session.get(Campaign, campaign_id)
        assert row is not None
        return row


async def test_only_eligible_contacts_get_exactly_one_sms(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    container.clock = lambda: MONDAY_10
    tenant, account = await clinic(container, twilio)
    ana = await contact(container, tenant, "Ana López", "+34600000001")
    bea = await contact(container, tenant, "Bea Ruiz", "+34600000002")
    await contact(container, tenant, "Carlos Sin Permiso", "+34600000003", consent={"sms": True})
    dani = await contact(container, tenant, "Dani Baja", "+34600000004")
    eva = await contact(
        container, tenant, "Eva México", "+34600000005", timezone="America/Mexico_City"
    )
    await contact(container, tenant, None, "+34600000006")  # no name: {first_name} missing
    await contact(container, tenant, "Gus Otro", "+34600000007", tags=["other"])

    # Dani opted out earlier by texting "BAJA" through the real inbound path
    await text_in(client, account, "+34600000004", "Baja.", "SM" + "d" * 32)
    await container.relay.drain()
    assert sms_to(twilio) == {"+34600000004": 1}  # the one confirmation, no receptionist reply
    assert "ALTA" in twilio.sent[0]["Body"]
    async with container.sessions() as session:
        assert await optouts.is_opted_out(
            session, tenant_id=tenant.id, contact_id=dani, channel="sms"
        )
        dani_row = await contacts_service.get_contact(session, tenant_id=tenant.id, contact_id=dani)
        assert dani_row.consent["marketing"] is False
    twilio.sent.clear()

    campaign = await _campaign(container, tenant, MONDAY_10)
    async with container.sessions() as session:
        preview = await campaigns_service.preview(
            session, tenant_id=tenant.id, campaign_id=campaign.id, now=MONDAY_10
        )
    assert (preview.matched, preview.eligible, preview.missing_variable) == (6, 3, 1)
    assert preview.skipped == {"no_consent": 1, "opted_out": 1, "missing_variable": 1}
    assert preview.sample[0]["text"].startswith("Hola Ana: 20%")

    await _start(container, tenant, campaign.id, MONDAY_10)
    report = await tick(container, MONDAY_10)
    assert (report.sent, report.deferred) == (2, 1)
    assert sms_to(twilio) == {"+34600000001": 1, "+34600000002": 1}
    assert {s["Body"] for s in twilio.sent} == {
        BODY.replace("{first_name}", "Ana"),
        BODY.replace("{first_name}", "Bea"),
    }
    rows = await recipients(container, campaign.id)
    assert rows[eva].status == "pending" and rows[eva].reason == "quiet_hours"
    # 03:00 in Mexico City: deferred to 09:00 there, 15:00 UTC
    assert rows[eva].next_attempt_at == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)

    # later ticks before the quiet hours end send nothing again
    await tick(container, MONDAY_10 + timedelta(minutes=5))
    assert len(twilio.sent) == 2
    assert (await _campaign_row(container, campaign.id)).status == "running"

    await tick(container, datetime(2026, 11, 23, 15, 1, tzinfo=UTC))
    assert sms_to(twilio) == {"+34600000001": 1, "+34600000002": 1, "+34600000005": 1}
    await tick(container, datetime(2026, 11, 23, 15, 2, tzinfo=UTC))
    done = await _campaign_row(container, campaign.id)
    assert done.status == "completed"
    assert done.counts["sent"] == 3 and done.counts["pending"] == 0
    assert done.counts["skipped_by_reason"] == {
        "no_consent": 1,
        "opted_out": 1,
        "missing_variable": 1,
    }
    rows = await recipients(container, campaign.id)
    assert {r.status for cid, r in rows.items() if cid in (ana, bea, eva)} == {"sent"}
    assert len(twilio.sent) == 3


async def test_an_opt_out_mid_campaign_stops_the_next_send(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    container.clock = lambda: MONDAY_10
    tenant, account = await clinic(container, twilio)
    ana = await contact(container, tenant, "Ana López", "+34600000011")
    bea = await contact(container, tenant, "Bea Ruiz", "+34600000012")
    campaign = await _campaign(container, tenant, MONDAY_10, pace_per_minute=1)
    await _start(container, tenant, campaign.id, MONDAY_10)

    await tick(container, MONDAY_10)
    [reached] = list(sms_to(twilio))  # the pace: one a minute (in no promised order)
    assert sms_to(twilio)[reached] == 1
    other = "+34600000012" if reached == "+34600000011" else "+34600000011"
    first, second = (ana, bea) if reached == "+34600000011" else (bea, ana)
    # the other contact (who got nothing yet) writes STOP after the campaign started
    await text_in(client, account, other, "STOP", "SM" + "e" * 32)
    await container.relay.drain()
    assert sms_to(twilio)[other] == 1  # the confirmation only
    await tick(container, MONDAY_10 + timedelta(minutes=2))
    await tick(container, MONDAY_10 + timedelta(minutes=4))
    assert sms_to(twilio) == {reached: 1, other: 1}
    rows = await recipients(container, campaign.id)
    assert rows[first].status == "sent"
    assert (rows[second].status, rows[second].reason) == ("skipped", "opted_out")
    assert (await _campaign_row(container, campaign.id)).status == "completed"

    # "for good": a later campaign never reaches them, until they opt back in
    later = await _campaign(container, tenant, MONDAY_10 + timedelta(days=1))
    async with container.sessions() as session:
        preview = await campaigns_service.preview(
            session, tenant_id=tenant.id, campaign_id=later.id, now=MONDAY_10
        )
    assert preview.skipped == {"opted_out": 1} and preview.eligible == 1
    await text_in(client, account, other, "Start", "SM" + "f" * 32)
    await container.relay.drain()
    async with container.sessions() as session:
        preview = await campaigns_service.preview(
            session, tenant_id=tenant.id, campaign_id=later.id, now=MONDAY_10
        )
        ledger = (await session.scalars(select(OptOut).order_by(OptOut.at, OptOut.id))).all()
    assert preview.eligible == 2  # START also gave the marketing consent back
    assert [(e.action, e.keyword, e.channel) for e in ledger] == [
        ("opt_out", "STOP", "all"),
        ("opt_in", "START", "all"),
    ]


async def test_a_redelivered_keyword_is_recorded_and_confirmed_once(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    container.clock = lambda: MONDAY_10
    tenant, account = await clinic(container, twilio)
    await contact(
        container,
        tenant,
        "Ana López",
        "+34600000021",
    )
    for _ in range(3):
        await text_in(client, account, "+34600000021", "BAJA", "SM" + "a" * 32)
    await container.relay.drain()
    assert len(twilio.sent) == 1
    async with container.sessions() as session:
        assert len((await session.scalars(select(OptOut))).all()) == 1


async def test_provider_errors_are_retried_and_failed_deliveries_resent(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    container.clock = lambda: MONDAY_10
    tenant, account = await clinic(container, twilio)
    ana = await contact(container, tenant, "Ana López", "+34600000031")
    campaign = await _campaign(container, tenant, MONDAY_10, max_attempts=2)
    await _start(container, tenant, campaign.id, MONDAY_10)

    # a provider 500: delivery keeps the message queued and the relay retries it
    twilio.failures.append((500, 20500, "Internal Server Error"))
    await tick(container, MONDAY_10)
    assert twilio.sent == []
    await tick(container, MONDAY_10 + timedelta(minutes=1))  # in flight: not sent twice
    container.relay._clock = lambda: utcnow() + timedelta(minutes=10)  # type: ignore[method-assign]
    await container.relay.drain()
    assert sms_to(twilio) == {"+34600000031": 1}

    # the carrier could not deliver it: the campaign tries again after its backoff
    await status_callback(client, account, twilio.sent[0]["sid"], "undelivered", "+34600000031")
    await tick(container, MONDAY_10 + timedelta(minutes=2))
    rows = await recipients(container, campaign.id)
    assert (rows[ana].status, rows[ana].reason) == ("pending", "retry")
    assert rows[ana].next_attempt_at == MONDAY_10 + timedelta(minutes=7)
    await tick(container, MONDAY_10 + timedelta(minutes=3))
    assert len(twilio.sent) == 1  # not before the backoff
    await tick(container, MONDAY_10 + timedelta(minutes=8))
    assert sms_to(twilio) == {"+34600000031": 2}

    # it fails again: max_attempts (2) reached, failed for good
    await status_callback(client, account, twilio.sent[1]["sid"], "failed", "+34600000031")
    await tick(container, MONDAY_10 + timedelta(hours=1))
    await tick(container, MONDAY_10 + timedelta(hours=2))
    assert len(twilio.sent) == 2
    rows = await recipients(container, campaign.id)
    assert (rows[ana].status, rows[ana].attempts) == ("failed", 2)
    done = await _campaign_row(container, campaign.id)
    assert done.status == "completed" and done.counts["failed"] == 1


async def test_pause_resume_cancel_and_an_empty_segment(
    container: Container, twilio: FakeTwilio
) -> None:
    container.clock = lambda: MONDAY_10
    tenant, _ = await clinic(container, twilio)
    for i in range(3):
        await contact(container, tenant, f"Cliente {i}", f"+3460000004{i}")
    nobody = await _campaign(container, tenant, MONDAY_10, segment={"tags": {"any": ["nadie"]}})
    async with container.sessions() as session:
        preview = await campaigns_service.preview(
            session, tenant_id=tenant.id, campaign_id=nobody.id, now=MONDAY_10
        )
    assert preview.matched == 0 and preview.message and "no contact" in preview.message
    with pytest.raises(Conflict, match="matches no contact"):
        await _start(container, tenant, nobody.id, MONDAY_10)

    campaign = await _campaign(container, tenant, MONDAY_10, pace_per_minute=1)
    await _start(container, tenant, campaign.id, MONDAY_10)
    await tick(container, MONDAY_10)
    async with container.sessions() as session, session.begin():
        await campaigns_service.pause_campaign(
            session, tenant_id=tenant.id, campaign_id=campaign.id, now=MONDAY_10
        )
    await tick(container, MONDAY_10 + timedelta(minutes=5))
    assert len(twilio.sent) == 1  # paused: nothing more
    await _start(container, tenant, campaign.id, MONDAY_10 + timedelta(minutes=6))
    await tick(container, MONDAY_10 + timedelta(minutes=6))
    assert len(twilio.sent) == 2
    async with container.sessions() as session, session.begin():
        await campaigns_service.cancel_campaign(
            session, tenant_id=tenant.id, campaign_id=campaign.id, now=MONDAY_10
        )
    await tick(container, MONDAY_10 + timedelta(minutes=9))
    assert len(twilio.sent) == 2
    row = await _campaign_row(container, campaign.id)
    assert row.status == "cancelled" and row.counts["skipped_by_reason"] == {"cancelled": 1}


async def test_a_scheduled_campaign_waits_for_its_time(
    container: Container, twilio: FakeTwilio
) -> None:
    container.clock = lambda: MONDAY_10
    tenant, _ = await clinic(container, twilio)
    await contact(container, tenant, "Ana López", "+34600000051")
    start_at = MONDAY_10 + timedelta(hours=2)
    campaign = await _campaign(container, tenant, MONDAY_10, start_at=start_at)
    await _start(container, tenant, campaign.id, MONDAY_10)
    assert (await _campaign_row(container, campaign.id)).status == "scheduled"
    await tick(container, MONDAY_10 + timedelta(hours=1))
    assert twilio.sent == [] and await recipients(container, campaign.id) == {}
    await tick(container, start_at)
    assert sms_to(twilio) == {"+34600000051": 1}
