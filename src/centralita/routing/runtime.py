"""Routing in the running system: configuration into the engine, hand-offs into queues, time.

- ``sync`` turns the tenant's queues (with their hours), staff with a login (the agents) and
  routing settings into engine events, sending only what changed.
- ``handle_event`` is routing's subscriber: a hand-off becomes an ``Enqueue`` (priority from
  urgency and VIP, the named or last agent preferred for a while), a closed conversation or an
  abandoned call is withdrawn, a new configuration is synced.
- ``run_routing_timers`` ticks each tenant whose next routing deadline has passed (offer
  expiry, wrap-up, overflow) and re-checks queue hours every minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.contacts.models import Contact
from centralita.conversations.models import Conversation
from centralita.core.clock import utcnow
from centralita.routing import service
from centralita.routing.engine import priority_for
from centralita.routing.model import (
    AgentConfig,
    Configure,
    Enqueue,
    Event,
    OverflowStep,
    QueueConfig,
    RemoveAgent,
    RoutingSettings,
    Strategy,
    Tick,
    UpsertAgent,
    UpsertQueue,
    Withdraw,
)
from centralita.routing.models import RoutingAssignment, RoutingStateRow
from centralita.tenants.config.schema import DEFAULT_CAPACITY
from centralita.tenants.hours import HolidayCalendar, WeeklySchedule, is_open
from centralita.tenants.models import Queue, StaffMember, Tenant

if TYPE_CHECKING:
    from centralita.bootstrap import Container
    from centralita.events.envelope import Envelope

log = logging.getLogger(__name__)

PREFERRED_SECONDS = 60.0  # a named staff member gets the first minute
LAST_AGENT_SECONDS = 30.0  # the contact's last agent gets half a minute
HOURS_CHECK_SECONDS = 60.0


# ---- configuration -----------------------------------------------------------------------------


def settings_of(tenant: Tenant) -> RoutingSettings:
    raw = dict((tenant.config or {}).get("routing") or {})
    defaults = RoutingSettings()
    return RoutingSettings(
        predictive=bool(raw.get("predictive", defaults.predictive)),
        predictive_share=float(raw.get("predictive_share", defaults.predictive_share)),
        predictive_min_samples=int(
            raw.get("predictive_min_samples", defaults.predictive_min_samples)
        ),
        urgency_bonus={**defaults.urgency_bonus, **dict(raw.get("urgency_bonus") or {})},
        vip_bonus=int(raw.get("vip_bonus", defaults.vip_bonus)),
    )


def _open(queue: Queue, tenant: Tenant, now: datetime) -> bool:
    if not queue.hours:
        return True  # the queue follows the receptionist, which knows the tenant's hours
    holidays = HolidayCalendar.from_config(
        (tenant.config or {}).get("holidays"), country=tenant.country, language=tenant.locale
    )
    return is_open(WeeklySchedule.from_config(queue.hours), holidays, tenant.timezone, now)


def queue_config(queue: Queue, ids: dict[str, str], tenant: Tenant, now: datetime) -> QueueConfig:
    steps = []
    for step in queue.overflow or []:
        after = float(step.get("after_seconds", 0))
        action = step.get("action")
        if action == "queue" and step.get("queue") in ids:
            steps.append(OverflowStep(after, queue=ids[step["queue"]]))
        elif action == "widen":
            steps.append(OverflowStep(after, skills=tuple(step.get("skills") or ())))
        elif action in ("callback", "voicemail", "message"):
            steps.append(OverflowStep(after, action=action))
    return QueueConfig(
        id=queue.id,
        skills=tuple(queue.skills or ()),
        min_proficiency=queue.min_proficiency,
        priority=queue.priority,
        strategy=Strategy(queue.strategy),
        aging_per_minute=float(queue.aging_per_minute),
        offer_timeout=float(queue.offer_timeout_seconds),
        wrapup_seconds=float(queue.wrapup_seconds),
        overflow=tuple(steps),
        open=_open(queue, tenant, now),
        max_declines=queue.max_missed_offers,
    )


def agent_config(staff: StaffMember) -> AgentConfig:
    # As written in the YAML: a channel a capacity map leaves out is not offered (0).
    capacity = staff.capacity if staff.capacity is not None else DEFAULT_CAPACITY
    return AgentConfig(
        id=staff.id,
        skills={str(k): int(v) for k, v in (staff.skills or {}).items()},
        capacity={str(k): int(v) for k, v in capacity.items()},
    )


async def desired(session: AsyncSession, tenant: Tenant, now: datetime) -> list[Event]:
    """The configuration events that describe the tenant as it is now."""
    queues = (await session.execute(
        select(Queue).where(Queue.tenant_id == tenant.id).order_by(Queue.position)
    )).scalars().all()  # fmt: skip
    ids = {q.key: q.id for q in queues}
    staff = (await session.execute(
        select(StaffMember).where(StaffMember.tenant_id == tenant.id,
                                  StaffMember.user_id.is_not(None))
    )).scalars().all()  # fmt: skip
    events: list[Event] = [Configure(settings_of(tenant))]
    events += [UpsertQueue(queue_config(q, ids, tenant, now)) for q in queues]
    events += [UpsertAgent(agent_config(s)) for s in staff]
    return events


async def sync(session: AsyncSession, container: Container, tenant_id: str,
               now: datetime | None = None) -> int:  # fmt: skip
    """Send the engine whatever configuration changed; returns how many events were sent."""
    now = now or container.clock()
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None:
        return 0
    store = container.routing
    state = await store.read(session, tenant_id)
    wanted = await desired(session, tenant, now)
    changes: list[Event] = []
    agents = set()
    for event in wanted:
        if isinstance(event, Configure):
            if event.settings != state.settings:
                changes.append(event)
        elif isinstance(event, UpsertQueue):
            current = state.queues.get(event.queue.id)
            if current is None or current.config != event.queue:
                changes.append(event)
        elif isinstance(event, UpsertAgent):
            agents.add(event.agent.id)
            agent = state.agents.get(event.agent.id)
            if agent is None or agent.config != event.agent:
                changes.append(event)
    changes += [RemoveAgent(a) for a in sorted(set(state.agents) - agents)]
    if changes:
        await service.apply_many(session, store, tenant_id, changes, now)
    return len(changes)


async def ensure_synced(session: AsyncSession, container: Container, tenant_id: str) -> None:
    """A tenant's first routing event syncs its configuration first."""
    row = await session.get(RoutingStateRow, tenant_id)
    if row is None or row.seq == 0:
        await sync(session, container, tenant_id)


# ---- hand-offs in, conversations out -------------------------------------------------------


async def enqueue_handoff(session: AsyncSession, container: Container, tenant_id: str,
                          payload: dict[str, Any]) -> None:  # fmt: skip
    from centralita.receptionist.models import Handoff

    await ensure_synced(session, container, tenant_id)
    handoff = await session.get(Handoff, payload["handoff_id"])
    conversation = await session.get(Conversation, payload["conversation_id"])
    if handoff is None or conversation is None or handoff.status != "waiting":
        return
    if conversation.tenant_id != tenant_id:
        return
    queues = (await session.execute(
        select(Queue).where(Queue.tenant_id == tenant_id).order_by(Queue.position)
    )).scalars().all()  # fmt: skip
    queue = next((q for q in queues if q.key == handoff.queue_key), None)
    if queue is None:
        channel_queues = [q for q in queues if not q.channels or handoff.channel in q.channels]
        queue = channel_queues[0] if channel_queues else None
    if queue is None:
        log.info("tenant %s has no queue for a %s hand-off", tenant_id, handoff.channel)
        return
    tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None
    contact = await session.get(Contact, conversation.contact_id)
    priority = priority_for(settings_of(tenant), urgency=handoff.urgency,
                            vip=bool(contact and contact.vip))  # fmt: skip
    preferred, seconds = None, 0.0
    if handoff.staff_key:
        preferred = await session.scalar(select(StaffMember.id).where(
            StaffMember.tenant_id == tenant_id, StaffMember.key == handoff.staff_key,
            StaffMember.user_id.is_not(None),
        ))  # fmt: skip
        seconds = PREFERRED_SECONDS
    if preferred is None:
        preferred = await last_agent(session, tenant_id, conversation.contact_id)
        seconds = LAST_AGENT_SECONDS
    intent = (handoff.intake or {}).get("intent")
    event = Enqueue(
        item_id=conversation.id, queue_id=queue.id, channel=handoff.channel,
        priority=priority, intent=intent if isinstance(intent, str) else None,
        preferred_agent=preferred, preferred_seconds=seconds if preferred else 0.0,
    )  # fmt: skip
    await service.apply(session, container.routing, tenant_id, event, container.clock())


async def last_agent(session: AsyncSession, tenant_id: str, contact_id: str) -> str | None:
    """The agent who last had one of this contact's conversations."""
    return await session.scalar(
        select(RoutingAssignment.agent_id)
        .join(Conversation, Conversation.id == RoutingAssignment.item_id)
        .where(RoutingAssignment.tenant_id == tenant_id, Conversation.contact_id == contact_id)
        .order_by(RoutingAssignment.id.desc())
        .limit(1)
    )


async def withdraw(session: AsyncSession, container: Container, tenant_id: str,
                   conversation_id: str, reason: str) -> None:  # fmt: skip
    state = await container.routing.read(session, tenant_id)
    if conversation_id in state.items:
        await service.apply(session, container.routing, tenant_id,
                            Withdraw(conversation_id, reason), container.clock())  # fmt: skip


async def handle_event(container: Container, envelope: Envelope) -> None:
    payload, tenant_id = envelope.payload, envelope.tenant_id
    async with container.sessions() as session, session.begin():
        if envelope.name == "conversation.handoff_requested":
            await enqueue_handoff(session, container, tenant_id, payload)
        elif envelope.name == "tenant.config_applied":
            await sync(session, container, tenant_id)
        elif envelope.name == "conversation.closed":
            await withdraw(session, container, tenant_id, payload["conversation_id"], "closed")
        elif envelope.name == "interaction.ended" and payload.get("disposition") == "abandoned":
            await withdraw(session, container, tenant_id, payload["conversation_id"],
                           "abandoned")  # fmt: skip


# ---- time -------------------------------------------------------------------------------------


async def tick_due(container: Container, now: datetime | None = None) -> int:
    """Tick every tenant whose next routing deadline has passed; returns how many."""
    now = now or container.clock()
    async with container.sessions() as session:
        due = (await session.execute(
            select(RoutingStateRow.tenant_id).where(
                RoutingStateRow.next_deadline.is_not(None),
                RoutingStateRow.next_deadline <= now.timestamp(),
            )
        )).scalars().all()  # fmt: skip
    for tenant_id in due:
        async with container.sessions() as session, session.begin():
            await service.apply(session, container.routing, tenant_id, Tick(), now)
    return len(due)


async def check_hours(container: Container) -> None:
    """Open or close queues whose hours changed state since the last check."""
    async with container.sessions() as session:
        tenants = (await session.execute(select(RoutingStateRow.tenant_id))).scalars().all()
    for tenant_id in tenants:
        async with container.sessions() as session, session.begin():
            await sync(session, container, tenant_id)


async def run_routing_timers(container: Container, stopping: asyncio.Event) -> None:
    interval = container.settings.routing_tick_seconds
    last_hours = 0.0
    loop = asyncio.get_running_loop()
    while not stopping.is_set():
        try:
            await tick_due(container, utcnow() if container.clock is utcnow else None)
            if loop.time() - last_hours >= HOURS_CHECK_SECONDS:
                last_hours = loop.time()
                await check_hours(container)
        except Exception:  # a database hiccup: try again next round
            log.exception("routing timers failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), interval)
