"""The demo clinic with a Twilio SMS number at the local stand-in, contacts, and the real
inbound path (signed webhooks) for keywords and status callbacks."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import select

from centralita.bootstrap import Container
from centralita.campaigns import runner
from centralita.campaigns.models import CampaignRecipient
from centralita.channels.models import ChannelAccount
from centralita.channels.twilio import signature
from centralita.contacts import service as contacts_service
from centralita.tenants.config.apply import apply_document
from centralita.tenants.config.schema import ChannelConfig, OutreachConfig
from centralita.tenants.models import Tenant
from tests.channels.fake_twilio import FakeTwilio
from tests.receptionist.harness import demo_document

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-for-tests-0001"
OUR_NUMBER = "+34910000001"


async def clinic(container: Container, twilio: FakeTwilio, **outreach: Any) -> tuple[Tenant, str]:
    """The demo clinic with an enabled Twilio SMS number; (tenant, account id)."""
    doc = demo_document("clinica-dental-sonrisa")
    doc.outreach = OutreachConfig(**outreach)
    doc.channels.append(
        ChannelConfig(
            name="sms",
            kind="sms",
            provider="twilio",
            address=OUR_NUMBER,
            secret=TOKEN,
            settings={"account_sid": SID, "api_base_url": twilio.url},
        )
    )
    async with container.sessions() as session, session.begin():
        await apply_document(session, doc, actor="tests", environ={})
    async with container.sessions() as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == doc.tenant.slug))
        account = await session.scalar(
            select(ChannelAccount).where(
                ChannelAccount.provider == "twilio", ChannelAccount.kind == "sms"
            )
        )
        assert tenant is not None and account is not None
        return tenant, account.id


async def contact(
    container: Container,
    tenant: Tenant,
    name: str | None,
    phone: str,
    *,
    consent: dict[str, bool] | None = None,
    tags: list[str] | None = None,
    language: str | None = None,
    **attributes: Any,
) -> str:
    async with container.sessions() as session, session.begin():
        created = await contacts_service.create_contact(
            session,
            tenant_id=tenant.id,
            name=name,
            addresses=[("phone", phone)],
            tags=tags if tags is not None else ["promo"],
            consent={"sms": True, "marketing": True} if consent is None else consent,
            attributes=attributes,
            language=language,
        )
        return created.id


def _signed(path: str, params: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    url = "http://testserver" + path
    sig = signature.compute(TOKEN, url, {k: [v] for k, v in params.items()})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig}
    return urlencode(params).encode(), headers


async def text_in(
    client: httpx.AsyncClient, account_id: str, sender: str, body: str, sid: str
) -> None:
    """The contact writes ``body`` to our number, through Twilio's signed webhook."""
    params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": SID, "From": sender,
              "To": OUR_NUMBER, "Body": body, "NumMedia": "0", "NumSegments": "1",
              "ApiVersion": "2010-04-01"}  # fmt: skip
    content, headers = _signed(f"/hooks/{account_id}", params)
    r = await client.post(f"/hooks/{account_id}", content=content, headers=headers)
    assert r.status_code == 200, r.text


async def status_callback(
    client: httpx.AsyncClient, account_id: str, message_sid: str, status: str, to: str
) -> None:
    params = {"MessageSid": message_sid, "MessageStatus": status, "AccountSid": SID,
              "From": OUR_NUMBER, "To": to}  # fmt: skip
    if status in ("failed", "undelivered"):
        params["ErrorCode"] = "30003"
    content, headers = _signed(f"/hooks/{account_id}", params)
    r = await client.post(f"/hooks/{account_id}", content=content, headers=headers)
    assert r.status_code == 200, r.text


async def tick(container: Container, now: datetime) -> runner.TickReport:
    """One runner round at ``now``, then delivery through the outbox."""
    container.clock = lambda: now
    report = await runner.tick(container.sessions, now=now)
    await container.relay.drain()
    return report


def sms_to(twilio: FakeTwilio) -> Counter[str]:
    return Counter(sent["To"] for sent in twilio.sent)


async def recipients(container: Container, campaign_id: str) -> dict[str, CampaignRecipient]:
    async with container.sessions() as session:
        rows = await session.scalars(
            select(CampaignRecipient).where(CampaignRecipient.campaign_id == campaign_id)
        )
        return {r.contact_id: r for r in rows.all()}
