"""Who a campaign reaches and what each contact would read: the facts, the values of the
template's variables, and the gates every send passes (opt-out, consent, address, variables).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.campaigns import optouts, templates
from centralita.campaigns.models import Campaign
from centralita.campaigns.schedule import zone
from centralita.campaigns.segments import ContactFacts, Segment, matches, parse_segment
from centralita.channels.base import SENDER_ADDRESS_KIND, ChannelKind
from centralita.contacts.models import Contact
from centralita.scheduling.models import Appointment
from centralita.tenants.models import Tenant


@dataclass(frozen=True)
class Verdict:
    contact_id: str
    name: str | None
    reason: str | None  # None: may be sent
    text: str | None
    missing: tuple[str, ...] = ()
    values: dict[str, str | None] = field(default_factory=dict)


def facts(contact: Contact) -> ContactFacts:
    return ContactFacts(
        id=contact.id,
        name=contact.name,
        language=contact.language,
        attributes=dict(contact.attributes or {}),
        tags=frozenset(contact.tags or []),
        consent=dict(contact.consent or {}),
        last_contact_at=contact.last_contact_at,
        address_kinds=frozenset(a.kind for a in contact.addresses),
    )


def contact_zone(contact: Contact, tenant: Tenant) -> ZoneInfo:
    """The contact's ``attributes.timezone`` when valid, else the tenant's time zone."""
    value = (contact.attributes or {}).get("timezone")
    return zone(value if isinstance(value, str) else None, tenant.timezone)


async def matching_contacts(
    session: AsyncSession, *, tenant_id: str, segment: Segment, now: datetime
) -> list[Contact]:
    """The tenant's live (not merged) contacts in ``segment``, oldest first. The segment is
    evaluated in Python over every contact: simple and exact, fine for tens of thousands."""
    rows = await session.scalars(
        select(Contact)
        .where(Contact.tenant_id == tenant_id, Contact.merged_into_id.is_(None))
        .order_by(Contact.created_at, Contact.id)
    )
    return [c for c in rows.all() if matches(segment, facts(c), now=now)]


async def next_appointment(
    session: AsyncSession, *, tenant_id: str, contact_id: str, now: datetime
) -> Appointment | None:
    appointment: Appointment | None = await session.scalar(
        select(Appointment)
        .where(
            Appointment.tenant_id == tenant_id,
            Appointment.contact_id == contact_id,
            Appointment.status == "booked",
            Appointment.start_at > now,
        )
        .order_by(Appointment.start_at)
        .limit(1)
    )
    return appointment


async def template_values(
    session: AsyncSession,
    *,
    tenant: Tenant,
    contact: Contact,
    needed: tuple[str, ...],
    now: datetime,
) -> dict[str, str | None]:
    values: dict[str, str | None] = {
        "name": contact.name,
        "first_name": templates.first_name(contact.name),
        "business": tenant.name,
    }
    for name in needed:
        if name.startswith("attributes."):
            raw = (contact.attributes or {}).get(name.split(".", 1)[1])
            values[name] = None if raw is None or isinstance(raw, dict | list) else str(raw)
    if any(n.startswith("appointment.") for n in needed):
        appointment = await next_appointment(
            session, tenant_id=tenant.id, contact_id=contact.id, now=now
        )
        if appointment is not None:
            local = appointment.start_at.astimezone(contact_zone(contact, tenant))
            values["appointment.date"] = local.strftime("%d/%m/%Y")
            values["appointment.time"] = local.strftime("%H:%M")
    return values


def consent_ok(campaign: Campaign, contact: Contact) -> bool:
    """The campaign's consent flag (``marketing`` by default) must be true, and the channel's
    own flag (``sms``, ``whatsapp``, ``email``) must not be false."""
    consent = contact.consent or {}
    return consent.get(campaign.consent_flag) is True and consent.get(campaign.channel) is not False


def address_ok(campaign: Campaign, contact: Contact) -> bool:
    kind = SENDER_ADDRESS_KIND[ChannelKind(campaign.channel)]
    return any(a.kind == kind for a in contact.addresses)


async def judge(
    session: AsyncSession,
    *,
    tenant: Tenant,
    campaign: Campaign,
    contact: Contact,
    opted_out: set[str] | None,
    now: datetime,
) -> Verdict:
    """Whether ``contact`` may get the campaign now (quiet hours apart) and its text.
    ``opted_out`` is the audience's opt-out set; None asks the ledger for this contact."""
    if opted_out is None:
        out = await optouts.is_opted_out(
            session, tenant_id=tenant.id, contact_id=contact.id, channel=campaign.channel
        )
    else:
        out = contact.id in opted_out or any(a.value in opted_out for a in contact.addresses)
    if out:
        return Verdict(contact.id, contact.name, "opted_out", None)
    if not consent_ok(campaign, contact):
        return Verdict(contact.id, contact.name, "no_consent", None)
    if not address_ok(campaign, contact):
        return Verdict(contact.id, contact.name, "no_address", None)
    needed = templates.variables(campaign.body)
    values = await template_values(session, tenant=tenant, contact=contact, needed=needed, now=now)
    rendered = templates.render(campaign.body, values)
    if rendered.text is None:
        return Verdict(contact.id, contact.name, "missing_variable", None, rendered.missing)
    return Verdict(contact.id, contact.name, None, rendered.text, values=values)


async def evaluate(
    session: AsyncSession, *, tenant: Tenant, campaign: Campaign, now: datetime
) -> list[Verdict]:
    """A verdict for every contact in the campaign's segment."""
    segment = parse_segment(campaign.segment)
    contacts = await matching_contacts(session, tenant_id=tenant.id, segment=segment, now=now)
    opted_out = await optouts.opted_out_contacts(
        session, tenant_id=tenant.id, channel=campaign.channel
    )
    return [
        await judge(
            session, tenant=tenant, campaign=campaign, contact=c, opted_out=opted_out, now=now
        )
        for c in contacts
    ]
