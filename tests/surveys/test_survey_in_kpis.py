"""The demo's promise, end to end: closing an interaction sends the survey, and the customer's
answer shows in today's CSAT (the clinic) or NPS (the law firm) through the KPI API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from centralita.access import service as access_service
from centralita.bootstrap import Container
from centralita.channels.models import ChannelAccount
from centralita.surveys.models import Survey
from centralita.tenants.config.apply import apply_document
from centralita.tenants.models import Tenant
from tests.receptionist.harness import Business, demo_document
from tests.surveys.test_flow import MONDAY_10, handled_by_a_person, later, resolve


@pytest.fixture(autouse=True)
def _ingress_on_the_test_clock(monkeypatch: pytest.MonkeyPatch, container: Container) -> None:
    monkeypatch.setattr("centralita.conversations.service.utcnow", lambda: container.clock())


async def demo_business(
    container: Container, client: httpx.AsyncClient, name: str
) -> tuple[Business, dict[str, str]]:
    """A demo tenant exactly as shipped (its own survey settings), and a supervisor's key."""
    doc = demo_document(name)
    async with container.sessions() as session, session.begin():
        await apply_document(session, doc, actor="tests", environ={})
    async with container.sessions() as session, session.begin():
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == doc.tenant.slug))
        assert tenant is not None
        account = await session.scalar(
            select(ChannelAccount).where(
                ChannelAccount.tenant_id == tenant.id, ChannelAccount.provider == "simulator"
            )
        )
        assert account is not None and account.secret
        key = await access_service.create_api_key(
            session, tenant_id=tenant.id, name="kpi", role="supervisor"
        )
    business = Business(container, client, tenant.id, account.id, account.secret)
    business.at(MONDAY_10)
    return business, {"Authorization": f"Bearer {key.secret}"}


async def today(business: Business, headers: dict[str, str]) -> dict[str, Any]:
    response = await business.client.get("/api/v1/kpis/today", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json()["total"]["kpis"])


async def surveyed_and_answered(business: Business, caller: str, answer: str) -> None:
    later(business, 1)  # this customer's message is the newest
    conversation_id, _ = await handled_by_a_person(business, value=caller)
    later(business, 4)
    await resolve(business, conversation_id)
    later(business, 1)
    await business.say(answer, value=caller)


async def test_the_clinics_csat_counts_the_answers_to_its_surveys(
    container: Container, client: httpx.AsyncClient
) -> None:
    clinic, headers = await demo_business(container, client, "clinica-dental-sonrisa")
    assert (await today(clinic, headers))["csat"] is None  # nobody has answered yet
    await surveyed_and_answered(clinic, "34612000001", "5")
    assert (await today(clinic, headers))["csat"] == pytest.approx(1.0)
    await surveyed_and_answered(clinic, "34612000002", "dos")
    kpis = await today(clinic, headers)
    assert kpis["csat"] == pytest.approx(0.5)  # one of two answers is a 4 or a 5
    answered = await clinic.rows(Survey, status="answered")
    assert sorted(s.score for s in answered) == [2, 5]


async def test_the_law_firms_nps_counts_promoters_minus_detractors(
    container: Container, client: httpx.AsyncClient
) -> None:
    firm, headers = await demo_business(container, client, "hartley-law")
    await surveyed_and_answered(firm, "447911123001", "10")
    await surveyed_and_answered(firm, "447911123002", "9")
    await surveyed_and_answered(firm, "447911123003", "3")
    kpis = await today(firm, headers)
    # two promoters and one detractor of three answers: (2 - 1) / 3
    assert kpis["nps"] == pytest.approx(100.0 / 3)
    assert kpis["csat"] is None
