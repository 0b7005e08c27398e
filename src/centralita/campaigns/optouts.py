"""The opt-out ledger: record opt-outs and opt-ins, and answer "may we write to them?".

The ledger is append-only; for a channel the newest row about the contact (or one of its
addresses) on that channel or on "all" decides. Consent flags on the contact say what the
contact agreed to receive; the ledger says what they refused, for good, until they opt back
in. Every proactive send checks both; a reminder (transactional) checks only the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.campaigns.events import ContactOptedIn, ContactOptedOut
from centralita.campaigns.models import OptOut
from centralita.contacts import service as contacts_service
from centralita.contacts.models import ContactAddress
from centralita.core.errors import InvalidInput
from centralita.core.ids import new_id
from centralita.events import outbox

LEDGER_CHANNELS = ("all", "sms", "whatsapp", "email")
# How a ledger entry came about: a keyword the contact wrote, or one recorded by staff
# (manual, or more precisely by phone, in writing, on a web form, from an import);
# "erasure" rows keep an erased contact's opt-out as salted hashes (privacy.suppression).
SOURCES = ("keyword", "manual", "verbal", "written", "web_form", "import", "erasure")
WRITTEN_SOURCES = ("keyword", "written", "web_form")  # an opt-in there is explicit consent


def _channel(channel: str) -> str:
    if channel not in LEDGER_CHANNELS:
        raise InvalidInput.for_field("channel", f"use one of {', '.join(LEDGER_CHANNELS)}")
    return channel


async def _addresses(session: AsyncSession, *, tenant_id: str, contact_id: str) -> list[str]:
    rows = await session.scalars(
        select(ContactAddress.value).where(
            ContactAddress.tenant_id == tenant_id, ContactAddress.contact_id == contact_id
        )
    )
    return list(rows.all())


async def record(
    session: AsyncSession,
    *,
    tenant_id: str,
    contact_id: str,
    action: str,
    channel: str = "all",
    source: str = "manual",
    keyword: str | None = None,
    message_id: str | None = None,
    actor: str = "system",
    now: datetime,
) -> OptOut:
    """Append an opt-out or opt-in for the contact (and its addresses' sake: the first
    address is kept so that the row outlives the contact). An opt-out also clears the
    contact's ``marketing`` consent; an explicit opt-in by keyword sets it again."""
    if action not in ("opt_out", "opt_in"):
        raise InvalidInput.for_field("action", "opt_out or opt_in")
    if source not in SOURCES:
        raise InvalidInput.for_field("source", f"use one of {', '.join(SOURCES)}")
    contact = await contacts_service.get_active_contact(
        session, tenant_id=tenant_id, contact_id=contact_id
    )
    addresses = await _addresses(session, tenant_id=tenant_id, contact_id=contact.id)
    row = OptOut(
        id=new_id("opt"),
        tenant_id=tenant_id,
        contact_id=contact.id,
        address=addresses[0] if addresses else None,
        channel=_channel(channel),
        action=action,
        source=source,
        keyword=keyword,
        message_id=message_id,
        actor=actor,
        at=now,
    )
    session.add(row)
    await session.flush()
    consent: dict[str, Any] = {}
    if action == "opt_out" and (contact.consent or {}).get("marketing") is not False:
        consent = {"marketing": False}
    elif action == "opt_in" and source in WRITTEN_SOURCES:
        consent = {"marketing": True}  # the contact asked, in writing
    if consent:
        await contacts_service.update_contact(
            session, tenant_id=tenant_id, contact_id=contact.id, actor=actor, consent=consent
        )
    event_cls = ContactOptedOut if action == "opt_out" else ContactOptedIn
    outbox.record(
        session,
        event_cls(
            tenant_id=tenant_id,
            contact_id=contact.id,
            channel=row.channel,
            source=source,
            keyword=keyword,
        ),
    )
    return row


def latest_says_out(rows: list[tuple[str, datetime, str]]) -> bool:
    """Given (action, at, id) ledger rows, True when the newest is an opt-out."""
    if not rows:
        return False
    return max(rows, key=lambda r: (r[1], r[2]))[0] == "opt_out"


async def is_opted_out(
    session: AsyncSession, *, tenant_id: str, contact_id: str, channel: str
) -> bool:
    """True when the contact opted out of ``channel`` (or of everything) and has not opted
    back in since. Campaigns, reminders and surveys call it right before sending."""
    addresses = await _addresses(session, tenant_id=tenant_id, contact_id=contact_id)
    who = OptOut.contact_id == contact_id
    if addresses:
        hashes = await _erased_forms(session, tenant_id=tenant_id, values=addresses)
        who = or_(who, OptOut.address.in_([*addresses, *hashes.values()]))
    rows = await session.execute(
        select(OptOut.action, OptOut.at, OptOut.id).where(
            OptOut.tenant_id == tenant_id, OptOut.channel.in_((channel, "all")), who
        )
    )
    return latest_says_out([(r[0], r[1], r[2]) for r in rows.all()])


async def opted_out_contacts(session: AsyncSession, *, tenant_id: str, channel: str) -> set[str]:
    """Every contact id (and address) currently opted out of ``channel``: one query for a
    whole audience."""
    rows = await session.execute(
        select(OptOut.contact_id, OptOut.address, OptOut.action, OptOut.at, OptOut.id).where(
            OptOut.tenant_id == tenant_id, OptOut.channel.in_((channel, "all"))
        )
    )
    by_key: dict[str, list[tuple[str, datetime, str]]] = {}
    for contact_id, address, action, at, row_id in rows.all():
        for key in (contact_id, address):
            if key:
                by_key.setdefault(key, []).append((action, at, row_id))
    out = {key for key, entries in by_key.items() if latest_says_out(entries)}
    if any(key.startswith("sha256:") for key in out):
        # an erased contact's opt-out: the addresses that hash to it are opted out too
        values = await session.scalars(
            select(ContactAddress.value).where(ContactAddress.tenant_id == tenant_id)
        )
        hashes = await _erased_forms(session, tenant_id=tenant_id, values=values.all())
        out |= {value for value, hashed in hashes.items() if hashed in out}
    return out


async def _erased_forms(
    session: AsyncSession, *, tenant_id: str, values: Sequence[str]
) -> dict[str, str]:
    """Each address's salted hash, as the ledger keeps it once its contact was erased."""
    from centralita.privacy import service as privacy_service  # privacy imports campaigns

    return await privacy_service.address_hashes(session, tenant_id=tenant_id, values=values)


async def list_entries(
    session: AsyncSession,
    *,
    tenant_id: str,
    contact_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> list[OptOut]:
    """Ledger rows, newest first."""
    stmt = select(OptOut).where(OptOut.tenant_id == tenant_id)
    if contact_id:
        stmt = stmt.where(OptOut.contact_id == contact_id)
    if cursor:
        stmt = stmt.where(OptOut.id < cursor)
    rows = await session.scalars(stmt.order_by(OptOut.id.desc()).limit(limit))
    return list(rows.all())


async def contact_ledger(session: AsyncSession, *, tenant_id: str, contact_id: str) -> list[OptOut]:
    """Every ledger row about the contact or one of its addresses, oldest first."""
    addresses = await _addresses(session, tenant_id=tenant_id, contact_id=contact_id)
    who = OptOut.contact_id == contact_id
    if addresses:
        who = or_(who, OptOut.address.in_(addresses))
    rows = await session.scalars(
        select(OptOut).where(OptOut.tenant_id == tenant_id, who).order_by(OptOut.at, OptOut.id)
    )
    return list(rows.all())


async def channel_states(
    session: AsyncSession, *, tenant_id: str, contact_id: str
) -> dict[str, str]:
    """What the ledger says now for each outbound channel."""
    return {
        channel: (
            "opted_out"
            if await is_opted_out(
                session, tenant_id=tenant_id, contact_id=contact_id, channel=channel
            )
            else "not_opted_out"
        )
        for channel in LEDGER_CHANNELS
        if channel != "all"
    }


async def seen_message(session: AsyncSession, *, tenant_id: str, message_id: str) -> bool:
    """True when this inbound message was already recorded (a redelivered event)."""
    found = await session.scalar(
        select(OptOut.id).where(OptOut.tenant_id == tenant_id, OptOut.message_id == message_id)
    )
    return found is not None
