"""Past contacts written straight into the tables, for the KPI and staffing pages' tests.

Analytics reads the history as a reporting read model; these rows are what a finished call or
chat leaves behind (the services that write them in production are tested elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from centralita.contacts.models import Contact
from centralita.conversations.models import Conversation, Interaction
from centralita.core.ids import new_id
from centralita.surveys.models import Survey
from centralita.tenants.models import Queue, StaffMember


@dataclass(frozen=True)
class Contacted:
    conversation_id: str
    interaction_id: str


async def add_queue(session: AsyncSession, tenant_id: str, key: str, name: str) -> str:
    queue = Queue(id=new_id("q"), tenant_id=tenant_id, key=key, name=name)
    session.add(queue)
    await session.flush()
    return queue.id


async def add_agent(session: AsyncSession, tenant_id: str, key: str, name: str) -> str:
    staff = StaffMember(id=new_id("stf"), tenant_id=tenant_id, key=key, name=name)
    session.add(staff)
    await session.flush()
    return staff.id


async def add_contact(
    session: AsyncSession,
    tenant_id: str,
    arrived_at: datetime,
    *,
    channel: str = "whatsapp",
    queue_id: str | None = None,
    agent_id: str | None = None,
    intent: str | None = None,
    wait: float | None = 10.0,
    talk: float = 120.0,
    abandoned: bool = False,
    bot_only: bool = False,
    csat: int | None = None,
    name: str = "Cliente",
) -> Contacted:
    """One inbound contact: queued on arrival and answered after ``wait`` seconds (or
    abandoned then); ``bot_only``: the receptionist handled it alone."""
    contact = Contact(id=new_id("ct"), tenant_id=tenant_id, name=name)
    conversation = Conversation(
        id=new_id("cv"), tenant_id=tenant_id, contact_id=contact.id, last_channel=channel,
        intake={"intent": intent} if intent else {}, status="closed",
    )  # fmt: skip
    interaction = Interaction(
        id=new_id("ix"), tenant_id=tenant_id, conversation_id=conversation.id,
        contact_id=contact.id, channel=channel, direction="inbound", arrived_at=arrived_at,
        handled_by_bot=bot_only,
    )  # fmt: skip
    if not bot_only:
        interaction.queue_id = queue_id
        interaction.queued_at = arrived_at
        waited = arrived_at + timedelta(seconds=wait or 0.0)
        if abandoned:
            interaction.abandoned_at = waited
            interaction.ended_at = waited
        else:
            interaction.agent_id = agent_id
            interaction.answered_at = waited
            interaction.ended_at = waited + timedelta(seconds=talk)
    else:
        interaction.ended_at = arrived_at + timedelta(seconds=talk)
    session.add_all([contact])
    await session.flush()
    session.add(conversation)
    await session.flush()
    session.add(interaction)
    if csat is not None:
        session.add(
            Survey(
                id=new_id("sv"), tenant_id=tenant_id, interaction_id=interaction.id,
                conversation_id=conversation.id, contact_id=contact.id, channel=channel,
                kind="csat", status="answered", sent_at=interaction.ended_at,
                expires_at=interaction.ended_at + timedelta(days=1),
                answered_at=interaction.ended_at + timedelta(minutes=1), score=csat,
            )
        )  # fmt: skip
    await session.flush()
    return Contacted(conversation.id, interaction.id)
