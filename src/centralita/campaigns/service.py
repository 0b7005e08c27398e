"""Campaign use cases: create, change, preview, start, pause, cancel, and their progress.

Sending happens in ``campaigns.runner``; the opt-out ledger is ``campaigns.optouts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.campaigns import audience, templates
from centralita.campaigns.events import (
    CampaignCreated,
    CampaignRecipientsMaterialized,
    CampaignStatusChanged,
    CampaignUpdated,
)
from centralita.campaigns.models import Campaign, CampaignRecipient
from centralita.campaigns.optouts import is_opted_out
from centralita.campaigns.segments import SegmentError, parse_segment
from centralita.core.errors import Conflict, FieldProblem, InvalidInput, NotFound
from centralita.core.ids import looks_like_id, new_id
from centralita.events import outbox
from centralita.tenants import service as tenants_service

__all__ = ["is_opted_out"]  # re-exported: surveys and reminders ask it before sending

CHANNELS = ("sms", "whatsapp", "email")
EDITABLE = (
    "name",
    "channel",
    "body",
    "whatsapp_template",
    "segment",
    "consent_flag",
    "start_at",
    "pace_per_minute",
    "max_attempts",
)
SAMPLE_SIZE = 5


@dataclass
class Preview:
    matched: int
    eligible: int
    skipped: dict[str, int]
    missing_variable: int
    sample: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None


def _validate(values: dict[str, Any]) -> None:
    problems: list[FieldProblem] = []
    if "channel" in values and values["channel"] not in CHANNELS:
        problems.append(FieldProblem("channel", f"use one of {', '.join(CHANNELS)}"))
    if "body" in values:
        try:
            templates.variables(values["body"])
        except templates.TemplateError as exc:
            problems.append(FieldProblem("body", str(exc)))
    if "segment" in values:
        try:
            parse_segment(values["segment"])
        except SegmentError as exc:
            problems.extend(FieldProblem(f"segment.{p}", m) for p, m in exc.problems)
    wa = values.get("whatsapp_template")
    if wa is not None and not (isinstance(wa, dict) and isinstance(wa.get("name"), str)):
        problems.append(FieldProblem("whatsapp_template", 'needs at least {"name": "..."}'))
    if problems:
        raise InvalidInput(
            "; ".join(f"{p.field}: {p.message}" for p in problems), problems=problems
        )


async def get_campaign(session: AsyncSession, *, tenant_id: str, campaign_id: str) -> Campaign:
    campaign = None
    if looks_like_id(campaign_id):
        campaign = await session.scalar(
            select(Campaign).where(Campaign.tenant_id == tenant_id, Campaign.id == campaign_id)
        )
    if campaign is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return campaign


async def list_campaigns(
    session: AsyncSession, *, tenant_id: str, status: str | None = None, limit: int = 100
) -> list[Campaign]:
    stmt = select(Campaign).where(Campaign.tenant_id == tenant_id)
    if status:
        stmt = stmt.where(Campaign.status == status)
    rows = await session.scalars(stmt.order_by(Campaign.id.desc()).limit(limit))
    return list(rows.all())


async def create_campaign(
    session: AsyncSession,
    *,
    tenant_id: str,
    name: str,
    channel: str,
    body: str,
    created_by: str,
    segment: dict[str, Any] | None = None,
    whatsapp_template: dict[str, Any] | None = None,
    consent_flag: str = "marketing",
    start_at: datetime | None = None,
    pace_per_minute: int = 60,
    max_attempts: int = 3,
    now: datetime,
) -> Campaign:
    """A draft campaign; a segment that matches nobody is allowed (its preview says 0)."""
    values = {
        "channel": channel,
        "body": body,
        "segment": segment or {},
        "whatsapp_template": whatsapp_template,
    }
    _validate(values)
    campaign = Campaign(
        id=new_id("cmp"),
        tenant_id=tenant_id,
        name=name,
        channel=channel,
        body=body,
        whatsapp_template=whatsapp_template,
        segment=segment or {},
        consent_flag=consent_flag,
        status="draft",
        start_at=start_at,
        pace_per_minute=pace_per_minute,
        max_attempts=max_attempts,
        created_by=created_by,
        counts={},
        created_at=now,
        updated_at=now,
    )
    session.add(campaign)
    await session.flush()
    outbox.record(
        session, CampaignCreated(tenant_id=tenant_id, campaign_id=campaign.id, channel=channel)
    )
    return campaign


async def update_campaign(
    session: AsyncSession, *, tenant_id: str, campaign_id: str, now: datetime, **changes: Any
) -> Campaign:
    """Change a draft, scheduled or paused campaign (a paused one's pending recipients get
    the new text; the audience is fixed once it started)."""
    campaign = await get_campaign(session, tenant_id=tenant_id, campaign_id=campaign_id)
    if campaign.status not in ("draft", "scheduled", "paused"):
        raise Conflict(f"a {campaign.status} campaign cannot be changed")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidInput.for_field(sorted(unknown)[0], "cannot be changed")
    if "segment" in changes and campaign.status == "paused":
        raise Conflict("the audience of a started campaign is fixed; create a new campaign")
    _validate(changes)
    changed = sorted(k for k, v in changes.items() if getattr(campaign, k) != v)
    for key in changed:
        setattr(campaign, key, changes[key])
    if changed:
        campaign.updated_at = now
        outbox.record(
            session, CampaignUpdated(tenant_id=tenant_id, campaign_id=campaign.id, fields=changed)
        )
    return campaign


async def delete_campaign(session: AsyncSession, *, tenant_id: str, campaign_id: str) -> None:
    """Only a draft, or a finished campaign, can be deleted (with its recipients)."""
    campaign = await get_campaign(session, tenant_id=tenant_id, campaign_id=campaign_id)
    if campaign.status not in ("draft", "completed", "cancelled"):
        raise Conflict(f"a {campaign.status} campaign cannot be deleted; cancel it first")
    await set_status(session, campaign, "deleted")
    await session.delete(campaign)


async def set_status(session: AsyncSession, campaign: Campaign, status: str) -> None:
    previous = campaign.status
    if status != "deleted":
        campaign.status = status
    outbox.record(
        session,
        CampaignStatusChanged(
            tenant_id=campaign.tenant_id,
            campaign_id=campaign.id,
            status=status,
            previous=previous,
        ),
    )


async def preview(
    session: AsyncSession, *, tenant_id: str, campaign_id: str, now: datetime
) -> Preview:
    """How many the segment matches, how many would get it, why the others would not, and a
    sample of rendered texts. Read-only."""
    campaign = await get_campaign(session, tenant_id=tenant_id, campaign_id=campaign_id)
    tenant = await tenants_service.get_tenant(session, tenant_id=tenant_id)
    verdicts = await audience.evaluate(session, tenant=tenant, campaign=campaign, now=now)
    skipped: dict[str, int] = {}
    for v in verdicts:
        if v.reason:
            skipped[v.reason] = skipped.get(v.reason, 0) + 1
    eligible = [v for v in verdicts if v.reason is None]
    result = Preview(
        matched=len(verdicts),
        eligible=len(eligible),
        skipped=skipped,
        missing_variable=skipped.get("missing_variable", 0),
        sample=[
            {"contact_id": v.contact_id, "name": v.name, "text": v.text}
            for v in eligible[:SAMPLE_SIZE]
        ],
    )
    if not verdicts:
        result.message = "the segment matches no contact; starting the campaign is refused"
    return result


async def start_campaign(
    session: AsyncSession, *, tenant_id: str, campaign_id: str, now: datetime
) -> Campaign:
    """Start now, schedule for ``start_at``, or resume a paused campaign."""
    campaign = await get_campaign(session, tenant_id=tenant_id, campaign_id=campaign_id)
    if campaign.status == "paused":
        await set_status(session, campaign, "running")
        return campaign
    if campaign.status not in ("draft", "scheduled"):
        raise Conflict(f"a {campaign.status} campaign cannot be started")
    tenant = await tenants_service.get_tenant(session, tenant_id=tenant_id)
    matched = await audience.matching_contacts(
        session, tenant_id=tenant_id, segment=parse_segment(campaign.segment), now=now
    )
    if not matched:
        raise Conflict("the segment matches no contact: there is nobody to send this campaign to")
    if campaign.start_at is not None and campaign.start_at > now:
        if campaign.status != "scheduled":
            await set_status(session, campaign, "scheduled")
        return campaign
    await materialize(session, tenant=tenant, campaign=campaign, now=now)
    return campaign


async def materialize(
    session: AsyncSession, *, tenant: Any, campaign: Campaign, now: datetime
) -> None:
    """Fix the audience: one recipient row per matched contact, pending or skipped with its
    reason; the campaign is running from now on."""
    verdicts = await audience.evaluate(session, tenant=tenant, campaign=campaign, now=now)
    skipped: dict[str, int] = {}
    for v in verdicts:
        if v.reason:
            skipped[v.reason] = skipped.get(v.reason, 0) + 1
        session.add(
            CampaignRecipient(
                id=new_id("cr"),
                tenant_id=tenant.id,
                campaign_id=campaign.id,
                contact_id=v.contact_id,
                status="skipped" if v.reason else "pending",
                reason=v.reason,
                detail=", ".join(v.missing) or None,
                next_attempt_at=None if v.reason else now,
                created_at=now,
                updated_at=now,
            )
        )
    campaign.started_at = now
    await session.flush()
    outbox.record(
        session,
        CampaignRecipientsMaterialized(
            tenant_id=tenant.id,
            campaign_id=campaign.id,
            total=len(verdicts),
            pending=len(verdicts) - sum(skipped.values()),
            skipped=skipped,
        ),
    )
    await set_status(session, campaign, "running")
    campaign.counts = await progress(session, campaign=campaign)


async def pause_campaign(
    session: AsyncSession, *, tenant_id: str, campaign_id: str, now: datetime
) -> Campaign:
    campaign = await get_campaign(session, tenant_id=tenant_id, campaign_id=campaign_id)
    if campaign.status not in ("running", "scheduled"):
        raise Conflict(f"a {campaign.status} campaign cannot be paused")
    campaign.updated_at = now
    await set_status(session, campaign, "paused")
    return campaign


async def cancel_campaign(
    session: AsyncSession, *, tenant_id: str, campaign_id: str, now: datetime
) -> Campaign:
    """Stop for good: recipients not yet sent are skipped with reason ``cancelled``."""
    campaign = await get_campaign(session, tenant_id=tenant_id, campaign_id=campaign_id)
    if campaign.status in ("completed", "cancelled"):
        raise Conflict(f"the campaign is already {campaign.status}")
    await session.execute(
        update(CampaignRecipient)
        .where(
            CampaignRecipient.tenant_id == tenant_id,
            CampaignRecipient.campaign_id == campaign.id,
            CampaignRecipient.status == "pending",
        )
        .values(status="skipped", reason="cancelled", next_attempt_at=None, updated_at=now)
    )
    campaign.completed_at = now
    await set_status(session, campaign, "cancelled")
    campaign.counts = await progress(session, campaign=campaign)
    return campaign


async def progress(session: AsyncSession, *, campaign: Campaign) -> dict[str, Any]:
    """total, pending, sent, delivered, failed, skipped and skipped_by_reason; ``deferred``
    counts the pending ones waiting for quiet hours to end."""
    rows = await session.execute(
        select(CampaignRecipient.status, CampaignRecipient.reason, func.count())
        .where(
            CampaignRecipient.tenant_id == campaign.tenant_id,
            CampaignRecipient.campaign_id == campaign.id,
        )
        .group_by(CampaignRecipient.status, CampaignRecipient.reason)
    )
    result: dict[str, Any] = {
        "total": 0,
        "pending": 0,
        "sent": 0,
        "delivered": 0,
        "failed": 0,
        "skipped": 0,
        "deferred": 0,
        "skipped_by_reason": {},
    }
    for status, reason, n in rows.all():
        result["total"] += n
        result[status] = result.get(status, 0) + n
        if status == "skipped":
            by = result["skipped_by_reason"]
            by[reason or "unknown"] = by.get(reason or "unknown", 0) + n
        if status == "pending" and reason == "quiet_hours":
            result["deferred"] += n
    done = result["total"] - result["pending"]
    result["done_ratio"] = round(done / result["total"], 4) if result["total"] else 0.0
    return result


async def list_recipients(
    session: AsyncSession,
    *,
    tenant_id: str,
    campaign_id: str,
    status: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> list[CampaignRecipient]:
    await get_campaign(session, tenant_id=tenant_id, campaign_id=campaign_id)
    stmt = select(CampaignRecipient).where(
        CampaignRecipient.tenant_id == tenant_id, CampaignRecipient.campaign_id == campaign_id
    )
    if status:
        stmt = stmt.where(CampaignRecipient.status == status)
    if cursor:
        stmt = stmt.where(CampaignRecipient.id > cursor)
    rows = await session.scalars(stmt.order_by(CampaignRecipient.id).limit(limit))
    return list(rows.all())
