"""What agents and supervisors do with routing: the functions behind the desktop and wallboard.

Agents are staff members with a login; the engine knows them by their staff member id.
Every change goes through the engine (``service.apply``) in the caller's transaction; a
refusal (an expired offer, a conversation someone else took, an offline agent) becomes a
clear 404 or 409.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.access.principal import Principal
from centralita.conversations import service as conversations_service
from centralita.conversations.models import Conversation, Interaction
from centralita.core.errors import InvalidInput, NotFound, PermissionDenied
from centralita.routing import runtime, service
from centralita.routing.engine import oldest_wait, position, waiting_count
from centralita.routing.model import (
    Accept,
    Complete,
    Decline,
    EndWrapup,
    Event,
    Outcome,
    Pick,
    Presence,
    SetPresence,
    Transfer,
)
from centralita.routing.models import AgentPresence, RoutingAssignment, RoutingOffer
from centralita.routing.predictive import Arm, Lift, lift
from centralita.tenants.models import Queue, StaffMember, Tenant

if TYPE_CHECKING:
    from centralita.bootstrap import Container

SETTABLE = {Presence.AVAILABLE, Presence.BUSY, Presence.AWAY, Presence.OFFLINE}
SUCCESS_CODES = frozenset({"resolved", "appointment_booked", "callback_booked"})
WRAPUP_CODES = ("resolved", "follow_up", "callback_booked", "appointment_booked", "no_answer",
                "spam", "other")  # fmt: skip


async def agent_of(session: AsyncSession, principal: Principal) -> StaffMember:
    """The staff member behind a signed-in user; API keys and users without one are refused."""
    if principal.user_id is None:
        raise PermissionDenied("only a signed-in agent has a desktop; API keys act as supervisors")
    staff = await session.scalar(select(StaffMember).where(
        StaffMember.tenant_id == principal.tenant_id, StaffMember.user_id == principal.user_id
    ))  # fmt: skip
    if staff is None:
        raise PermissionDenied("your login is not a staff member of this business")
    return staff


async def staff_member(session: AsyncSession, tenant_id: str, staff_id: str) -> StaffMember:
    staff = await session.scalar(select(StaffMember).where(
        StaffMember.tenant_id == tenant_id, StaffMember.id == staff_id
    ))  # fmt: skip
    if staff is None or staff.user_id is None:
        raise NotFound(f"agent {staff_id} not found")
    return staff


async def _apply(session: AsyncSession, container: Container, tenant_id: str,
                 event: Event) -> list[Any]:  # fmt: skip
    await runtime.ensure_synced(session, container, tenant_id)
    applied = await service.apply(session, container.routing, tenant_id, event,
                                  container.clock())  # fmt: skip
    service.raise_rejection(applied.decisions)
    return applied.decisions


# ---- an agent ---------------------------------------------------------------------------------


def parse_presence(value: str, *, supervisor: bool = False) -> Presence:
    try:
        presence = Presence(value)
    except ValueError:
        allowed = ", ".join(p.value for p in sorted(SETTABLE))
        raise InvalidInput.for_field("presence", f"use one of {allowed}") from None
    if presence not in SETTABLE:
        raise InvalidInput.for_field("presence", "wrap-up starts and ends by itself")
    return presence


async def set_presence(
    session: AsyncSession, container: Container, tenant_id: str, agent_id: str,
    presence: Presence, by: str | None = None,
) -> None:  # fmt: skip
    await _apply(session, container, tenant_id, SetPresence(agent_id, presence, by=by))


async def accept(session: AsyncSession, container: Container, tenant_id: str, agent_id: str,
                 conversation_id: str) -> None:  # fmt: skip
    await _apply(session, container, tenant_id, Accept(conversation_id, agent_id))


async def decline(session: AsyncSession, container: Container, tenant_id: str, agent_id: str,
                  conversation_id: str) -> None:  # fmt: skip
    await _apply(session, container, tenant_id, Decline(conversation_id, agent_id))


async def pick(
    session: AsyncSession, container: Container, tenant_id: str, agent_id: str,
    conversation_id: str, *, force: bool = False, by: str | None = None,
) -> None:  # fmt: skip
    await conversations_service.get_conversation(
        session, tenant_id=tenant_id, conversation_id=conversation_id
    )
    await _apply(session, container, tenant_id, Pick(conversation_id, agent_id, force, by))


async def end_wrapup(session: AsyncSession, container: Container, tenant_id: str,
                     agent_id: str) -> None:  # fmt: skip
    await _apply(session, container, tenant_id, EndWrapup(agent_id))


async def transfer(session: AsyncSession, container: Container, tenant_id: str,
                   conversation_id: str, *, agent_id: str | None, queue_id: str | None,
                   by_agent: str | None) -> None:  # fmt: skip
    if (agent_id is None) == (queue_id is None):
        raise InvalidInput("name exactly one of agent_id and queue_id")
    conversation = await conversations_service.get_conversation(
        session, tenant_id=tenant_id, conversation_id=conversation_id
    )
    if by_agent is not None and conversation.owner_id != by_agent:
        raise PermissionDenied("only the agent who has the conversation can transfer it")
    if agent_id is not None:
        target = await staff_member(session, tenant_id, agent_id)
        presence = await session.get(AgentPresence, (tenant_id, target.id))
        if presence is None or presence.presence == Presence.OFFLINE:
            from centralita.core.errors import Conflict

            raise Conflict(f"{target.name} is offline: transfer to a queue or to someone else")
    if queue_id is not None:
        queue = await session.scalar(select(Queue).where(Queue.tenant_id == tenant_id,
                                                         Queue.id == queue_id))  # fmt: skip
        if queue is None:
            raise NotFound(f"queue {queue_id} not found")
    await _apply(session, container, tenant_id,
                 Transfer(conversation_id, to_agent=agent_id, to_queue=queue_id))  # fmt: skip


async def resolve(session: AsyncSession, container: Container, tenant_id: str,
                  conversation_id: str, *, by_agent: str | None, code: str,
                  note: str | None = None) -> Conversation:  # fmt: skip
    """The agent is done: wrap-up code on the interaction, capacity freed, conversation closed."""
    if code not in WRAPUP_CODES:
        raise InvalidInput.for_field("wrapup_code", f"use one of {', '.join(WRAPUP_CODES)}")
    conversation = await conversations_service.get_conversation(
        session, tenant_id=tenant_id, conversation_id=conversation_id
    )
    if by_agent is not None and conversation.owner_id != by_agent:
        raise PermissionDenied("only the agent who has the conversation can resolve it")
    now = container.clock()
    state = await container.routing.read(session, tenant_id)
    item = state.items.get(conversation_id)
    if item is not None:
        agent, intent = item.agent, item.intent
        await _apply(session, container, tenant_id, Complete(conversation_id))
        if agent is not None:
            last = await session.scalar(
                select(func.max(RoutingAssignment.id)).where(
                    RoutingAssignment.tenant_id == tenant_id,
                    RoutingAssignment.item_id == conversation_id,
                    RoutingAssignment.agent_id == agent,
                )
            )
            await session.execute(
                update(RoutingAssignment)
                .where(RoutingAssignment.id == last)
                .values(disposition=code)
            )
        if agent is not None and intent:
            # What predictive routing learns from: did this agent resolve this intent?
            score = 1.0 if code in SUCCESS_CODES else 0.0
            await _apply(session, container, tenant_id, Outcome(agent, intent, score))
    latest = await session.scalar(
        select(Interaction).where(Interaction.tenant_id == tenant_id,
                                  Interaction.conversation_id == conversation_id)
        .order_by(Interaction.arrived_at.desc()).limit(1)
    )  # fmt: skip
    if latest is not None:
        latest.disposition = code
        latest.ended_at = latest.ended_at or now
        latest.wrapup_started_at = latest.wrapup_started_at or now
    if note:
        from centralita.conversations import outbound

        await outbound.add_message(session, tenant_id=tenant_id, conversation_id=conversation_id,
                                   body=note, kind="note", author_type="agent",
                                   author_id=by_agent, now=now)  # fmt: skip
    return await conversations_service.update_conversation(
        session, tenant_id=tenant_id, conversation_id=conversation_id, status="closed"
    )


# ---- what people see -----------------------------------------------------------------------


@dataclass
class AgentView:
    id: str
    name: str
    presence: str
    since: datetime | None
    capacity: dict[str, int]
    load: dict[str, int]
    occupancy: float
    offers: list[dict[str, Any]] = field(default_factory=list)
    conversations: list[str] = field(default_factory=list)

    @property
    def activity(self) -> str:
        """What a wallboard shows: busy while handling something, else the presence."""
        if self.conversations and self.presence in ("available", "busy"):
            return "busy"
        return self.presence


async def agents_view(session: AsyncSession, container: Container, tenant_id: str,
                      only: str | None = None) -> list[AgentView]:  # fmt: skip
    await runtime.ensure_synced(session, container, tenant_id)
    state = await container.routing.read(session, tenant_id)
    query = select(StaffMember).where(StaffMember.tenant_id == tenant_id,
                                      StaffMember.user_id.is_not(None))  # fmt: skip
    if only is not None:
        query = query.where(StaffMember.id == only)
    staff = (await session.execute(query.order_by(StaffMember.position))).scalars().all()
    rows_since = await session.execute(
        select(AgentPresence.agent_id, AgentPresence.since).where(
            AgentPresence.tenant_id == tenant_id
        )
    )
    since: dict[str, datetime] = {agent: at for agent, at in rows_since}
    offers: dict[str, list[dict[str, Any]]] = {}
    rows = (await session.execute(
        select(RoutingOffer).where(RoutingOffer.tenant_id == tenant_id)
        .order_by(RoutingOffer.offered_at)
    )).scalars().all()  # fmt: skip
    for row in rows:
        offers.setdefault(row.agent_id, []).append({
            "conversation_id": row.item_id, "queue_id": row.queue_id, "channel": row.channel,
            "callback": row.callback, "offered_at": row.offered_at, "expires_at": row.expires_at,
        })  # fmt: skip
    views = []
    for person in staff:
        agent = state.agents.get(person.id)
        capacity = dict(agent.config.capacity) if agent else runtime.agent_config(person).capacity
        views.append(AgentView(
            id=person.id, name=person.name,
            presence=agent.presence.value if agent else Presence.OFFLINE.value,
            since=since.get(person.id), capacity=capacity,
            load=dict(agent.load) if agent else {},
            occupancy=agent.occupancy() if agent else 0.0,
            offers=offers.get(person.id, []),
            conversations=sorted(agent.tasks) if agent else [],
        ))  # fmt: skip
    return views


async def queue_refs(session: AsyncSession, tenant_id: str) -> list[Queue]:
    return list((await session.execute(
        select(Queue).where(Queue.tenant_id == tenant_id).order_by(Queue.position)
    )).scalars().all())  # fmt: skip


@dataclass
class QueueView:
    id: str
    key: str
    name: str
    waiting: int
    longest_wait_seconds: float
    answered_today: int
    abandoned_today: int
    service_level_today: float | None
    sla_seconds: int
    sla_target: float
    agents_available: int
    alerts: list[str] = field(default_factory=list)


async def queues_view(session: AsyncSession, container: Container,
                      tenant_id: str) -> list[QueueView]:  # fmt: skip
    """Live queues: waiting, the longest wait, today's service level, and alerts."""
    await runtime.ensure_synced(session, container, tenant_id)
    tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None
    now = container.clock()
    from zoneinfo import ZoneInfo

    local = now.astimezone(ZoneInfo(tenant.timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    state = await container.routing.read(session, tenant_id)
    queues = (await session.execute(
        select(Queue).where(Queue.tenant_id == tenant_id).order_by(Queue.position)
    )).scalars().all()  # fmt: skip
    views = []
    for queue in queues:
        answered, within, abandoned = await _today(session, tenant_id, queue, midnight)
        handled = answered + abandoned
        level = within / handled if handled else None
        engine_queue = state.queues.get(queue.id)
        available = 0
        if engine_queue is not None:
            available = sum(
                1 for a in engine_queue.reach
                if state.agents[a].presence == Presence.AVAILABLE
            )  # fmt: skip
        longest = oldest_wait(state, queue.id, now.timestamp())
        alerts = []
        if level is not None and handled >= 5 and level < queue.sla_target:
            alerts.append("service_level")
        if longest > queue.sla_seconds:
            alerts.append("long_wait")
        if waiting_count(state, queue.id) and not available:
            alerts.append("no_agents")
        views.append(QueueView(
            id=queue.id, key=queue.key, name=queue.name,
            waiting=waiting_count(state, queue.id), longest_wait_seconds=longest,
            answered_today=answered, abandoned_today=abandoned, service_level_today=level,
            sla_seconds=queue.sla_seconds, sla_target=queue.sla_target,
            agents_available=available, alerts=alerts,
        ))  # fmt: skip
    return views


async def _today(session: AsyncSession, tenant_id: str, queue: Queue,
                 since: datetime) -> tuple[int, int, int]:  # fmt: skip
    """(answered, answered within the SLA, abandoned) today, from the assignment log."""
    row = (await session.execute(
        select(func.count(), func.count().filter(
            RoutingAssignment.waited_seconds <= queue.sla_seconds))
        .where(RoutingAssignment.tenant_id == tenant_id, RoutingAssignment.queue_id == queue.id,
               RoutingAssignment.assigned_at >= since)
    )).one()  # fmt: skip
    abandoned = await session.scalar(
        select(func.count()).select_from(Interaction).where(
            Interaction.tenant_id == tenant_id, Interaction.queue_id == queue.id,
            Interaction.abandoned_at >= since, Interaction.answered_at.is_(None),
        )
    )  # fmt: skip
    return int(row[0]), int(row[1]), int(abandoned or 0)


async def waiting_position(session: AsyncSession, container: Container, tenant_id: str,
                           conversation_id: str) -> int | None:  # fmt: skip
    state = await container.routing.read(session, tenant_id)
    return position(state, conversation_id)


async def predictive_report(session: AsyncSession, tenant_id: str, since: datetime) -> Lift:
    """The A/B arms since ``since``: conversations resolved at the first wrap-up, per arm."""
    rows = await session.execute(
        select(RoutingAssignment.predictive, RoutingAssignment.disposition)
        .where(RoutingAssignment.tenant_id == tenant_id,
               RoutingAssignment.predictive.is_not(None),
               RoutingAssignment.assigned_at >= since,
               RoutingAssignment.disposition.is_not(None))
    )  # fmt: skip
    counts = {True: [0, 0], False: [0, 0]}
    for predictive, disposition in rows:
        counts[bool(predictive)][0] += 1
        counts[bool(predictive)][1] += int(disposition in SUCCESS_CODES)
    return lift(Arm(*counts[True]), Arm(*counts[False]))


@dataclass
class WaitingView:
    conversation_id: str
    queue_id: str
    channel: str
    status: str  # waiting | offered
    priority: float
    waited_seconds: float
    position: int | None
    callback: bool
    preferred_agent: str | None


async def waiting_view(session: AsyncSession, container: Container, tenant_id: str,
                       queue_id: str | None = None) -> list[WaitingView]:  # fmt: skip
    """What waits for a person, longest first: queued or being offered, not yet taken."""
    await runtime.ensure_synced(session, container, tenant_id)
    state = await container.routing.read(session, tenant_id)
    now = container.clock().timestamp()
    from centralita.routing.engine import effective_priority

    views = [
        WaitingView(
            conversation_id=item.id, queue_id=item.queue_id, channel=item.channel,
            status=item.status, priority=effective_priority(state, item, now),
            waited_seconds=max(0.0, now - item.enqueued_at),
            position=position(state, item.id), callback=item.callback,
            preferred_agent=item.preferred if item.preferred_until > now else None,
        )
        for item in state.items.values()
        if item.status in ("waiting", "offered") and queue_id in (None, item.queue_id)
    ]  # fmt: skip
    return sorted(views, key=lambda v: (-v.waited_seconds, v.conversation_id))
