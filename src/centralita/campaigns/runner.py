"""The campaign runner: each tick moves every running campaign forward.

A tick, per campaign and in one transaction under the campaign's row lock: start a scheduled
campaign whose time has come; follow up the messages already handed over (delivered, or
failed and retried with backoff up to ``max_attempts``); then send the due pending recipients
within the pace, each through the last gates at send time: the opt-out ledger, consent, the
address, the template's variables and quiet hours in the contact's zone (a recipient in quiet
hours is deferred to the moment they end, which does not use the pace). A campaign with
nothing pending and nothing still in the outbox is completed. Appointment reminders
(``campaigns.reminders``) run in the same loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from centralita.campaigns import audience, service
from centralita.campaigns.events import CampaignMessageSent, CampaignRecipientUpdated
from centralita.campaigns.models import Campaign, CampaignRecipient
from centralita.campaigns.reminders import tick_reminders
from centralita.campaigns.schedule import QuietHours, next_allowed, retry_at, send_budget
from centralita.campaigns.templates import render
from centralita.contacts import service as contacts_service
from centralita.conversations import outbound as conversations_outbound
from centralita.conversations.models import Message
from centralita.core.errors import DomainError, InvalidInput
from centralita.events import outbox
from centralita.tenants import service as tenants_service
from centralita.tenants.config.schema import OutreachConfig
from centralita.tenants.models import Tenant

if TYPE_CHECKING:
    from centralita.bootstrap import Container

log = logging.getLogger(__name__)

DELIVERED = ("delivered", "read")


@dataclass
class TickReport:
    sent: int = 0
    deferred: int = 0
    skipped: int = 0
    retried: int = 0
    completed: int = 0
    reminders: int = 0


def outreach(tenant: Tenant) -> OutreachConfig:
    return OutreachConfig.model_validate((tenant.config or {}).get("outreach") or {})


def _mark(
    session: AsyncSession,
    recipient: CampaignRecipient,
    *,
    status: str,
    reason: str | None,
    now: datetime,
    next_attempt_at: datetime | None = None,
    detail: str | None = None,
) -> None:
    recipient.status, recipient.reason = status, reason
    recipient.next_attempt_at, recipient.updated_at = next_attempt_at, now
    if detail is not None:
        recipient.detail = detail[:500]
    outbox.record(
        session,
        CampaignRecipientUpdated(
            tenant_id=recipient.tenant_id,
            campaign_id=recipient.campaign_id,
            recipient_id=recipient.id,
            contact_id=recipient.contact_id,
            status=status,
            reason=reason,
        ),
    )


async def _follow_up(
    session: AsyncSession, campaign: Campaign, now: datetime, report: TickReport
) -> int:
    """Move handed-over recipients on from their message's delivery status; the number
    still waiting in the outbox."""
    rows = (
        await session.execute(
            select(CampaignRecipient, Message.delivery_status, Message.delivery_error)
            .join(Message, Message.id == CampaignRecipient.message_id)
            .where(
                CampaignRecipient.tenant_id == campaign.tenant_id,
                CampaignRecipient.campaign_id == campaign.id,
                CampaignRecipient.status == "sent",
            )
        )
    ).all()
    in_flight = 0
    for recipient, status, error in rows:
        if status in DELIVERED:
            _mark(session, recipient, status="delivered", reason=None, now=now)
        elif status == "failed":
            if recipient.attempts < campaign.max_attempts:
                report.retried += 1
                _mark(
                    session,
                    recipient,
                    status="pending",
                    reason="retry",
                    now=now,
                    next_attempt_at=retry_at(now, recipient.attempts),
                    detail=error or "",
                )
            else:
                _mark(
                    session,
                    recipient,
                    status="failed",
                    reason="delivery_failed",
                    now=now,
                    detail=error or "",
                )
        elif status == "queued":
            in_flight += 1
    return in_flight


def _whatsapp_meta(campaign: Campaign, values: dict[str, str | None]) -> dict[str, Any]:
    ref = campaign.whatsapp_template
    if campaign.channel != "whatsapp" or not ref:
        return {}
    params = [render(str(p), values).text or "" for p in ref.get("parameters") or []]
    return {
        "template": {
            "name": ref["name"],
            "language": ref.get("language") or "es",
            "parameters": params,
        }
    }


async def _send_one(
    session: AsyncSession,
    *,
    tenant: Tenant,
    campaign: Campaign,
    recipient: CampaignRecipient,
    quiet: QuietHours,
    now: datetime,
    report: TickReport,
) -> bool:
    """True when a message was handed to delivery."""
    try:
        contact = await contacts_service.get_active_contact(
            session, tenant_id=tenant.id, contact_id=recipient.contact_id
        )
    except DomainError:  # merged away since the start
        _mark(session, recipient, status="skipped", reason="contact_gone", now=now)
        report.skipped += 1
        return False
    verdict = await audience.judge(
        session, tenant=tenant, campaign=campaign, contact=contact, opted_out=None, now=now
    )
    if verdict.reason is not None:
        _mark(
            session,
            recipient,
            status="skipped",
            reason=verdict.reason,
            now=now,
            detail=", ".join(verdict.missing) or None,
        )
        report.skipped += 1
        return False
    allowed = next_allowed(now, audience.contact_zone(contact, tenant), quiet)
    if allowed > now:
        _mark(
            session,
            recipient,
            status="pending",
            reason="quiet_hours",
            now=now,
            next_attempt_at=allowed,
        )
        report.deferred += 1
        return False
    assert verdict.text is not None
    meta = {
        "campaign_id": campaign.id,
        "recipient_id": recipient.id,
        **_whatsapp_meta(campaign, verdict.values),
    }
    try:
        message = await conversations_outbound.start_outbound(
            session,
            tenant_id=tenant.id,
            contact_id=contact.id,
            channel=campaign.channel,
            body=verdict.text,
            author_id=campaign.id,
            meta=meta,
            now=now,
        )
    except InvalidInput as exc:  # no account for the channel, or no address any more
        _mark(session, recipient, status="skipped", reason="no_address", now=now, detail=exc.detail)
        report.skipped += 1
        return False
    recipient.attempts += 1
    recipient.message_id, recipient.last_attempt_at = message.id, now
    _mark(session, recipient, status="sent", reason=None, now=now)
    outbox.record(
        session,
        CampaignMessageSent(
            tenant_id=tenant.id,
            campaign_id=campaign.id,
            recipient_id=recipient.id,
            contact_id=contact.id,
            message_id=message.id,
            attempt=recipient.attempts,
        ),
    )
    report.sent += 1
    return True


async def tick_campaign(
    session: AsyncSession, *, tenant_id: str, campaign_id: str, now: datetime, report: TickReport
) -> None:
    campaign = await session.scalar(
        select(Campaign)
        .where(Campaign.tenant_id == tenant_id, Campaign.id == campaign_id)
        .with_for_update(skip_locked=True)
    )
    if campaign is None or campaign.status not in ("scheduled", "running"):
        return
    tenant = await tenants_service.get_tenant(session, tenant_id=tenant_id)
    if campaign.status == "scheduled":
        if campaign.start_at is not None and campaign.start_at > now:
            return
        await service.materialize(session, tenant=tenant, campaign=campaign, now=now)
    in_flight = await _follow_up(session, campaign, now, report)
    sent_last_minute = await session.scalar(
        select(func.count()).where(
            CampaignRecipient.tenant_id == tenant_id,
            CampaignRecipient.campaign_id == campaign.id,
            CampaignRecipient.last_attempt_at > now - timedelta(minutes=1),
        )
    )
    budget = send_budget(
        pace_per_minute=campaign.pace_per_minute,
        sent_last_minute=sent_last_minute or 0,
        in_flight=in_flight,
    )
    config = outreach(tenant)
    quiet = QuietHours.parse(config.quiet_start, config.quiet_end)
    while budget > 0:
        due = (
            await session.scalars(
                select(CampaignRecipient)
                .where(
                    CampaignRecipient.tenant_id == tenant_id,
                    CampaignRecipient.campaign_id == campaign.id,
                    CampaignRecipient.status == "pending",
                    CampaignRecipient.next_attempt_at <= now,
                )
                .order_by(CampaignRecipient.next_attempt_at, CampaignRecipient.id)
                .limit(budget)
            )
        ).all()
        if not due:
            break
        for recipient in due:
            if await _send_one(
                session,
                tenant=tenant,
                campaign=campaign,
                recipient=recipient,
                quiet=quiet,
                now=now,
                report=report,
            ):
                budget -= 1
                in_flight += 1
        await session.flush()
    counts = await service.progress(session, campaign=campaign)
    if counts["pending"] == 0 and in_flight == 0:
        campaign.completed_at = now
        await service.set_status(session, campaign, "completed")
        report.completed += 1
    campaign.counts = counts


async def tick(sessions: async_sessionmaker[AsyncSession], *, now: datetime) -> TickReport:
    """One round over every tenant's scheduled and running campaigns, then reminders."""
    report = TickReport()
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Campaign.tenant_id, Campaign.id).where(
                    Campaign.status.in_(("scheduled", "running"))
                )
            )
        ).all()
        tenants = [t.id for t in await tenants_service.list_tenants(session)]
    for tenant_id, campaign_id in rows:
        async with sessions() as session, session.begin():
            await tick_campaign(
                session, tenant_id=tenant_id, campaign_id=campaign_id, now=now, report=report
            )
    for tenant_id in tenants:
        async with sessions() as session, session.begin():
            tenant = await tenants_service.get_tenant(session, tenant_id=tenant_id)
            config = outreach(tenant)
            if config.reminders:
                report.reminders += await tick_reminders(
                    session, tenant=tenant, config=config, now=now
                )
    return report


async def run_campaign_runner(container: Container, stopping: asyncio.Event) -> None:
    """The background loop ``Container.start`` runs."""
    interval = container.settings.campaign_tick_seconds
    while not stopping.is_set():
        try:
            await tick(container.sessions, now=container.clock())
        except Exception:  # a database hiccup: try again next round
            log.exception("campaign runner failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), interval)
