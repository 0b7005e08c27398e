"""The Prometheus ``/metrics`` endpoint: live queue and agent gauges for every tenant.

Live state comes from routing's projection tables (conversations owned by a queue or an
agent, open offers, agent presence), today's service level and abandonment from
``analytics.service.today``. Protected by ``Settings.metrics_token`` (a bearer token); with
no token configured the endpoint does not exist (404).
"""

from __future__ import annotations

import hmac
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.analytics import service
from centralita.api.deps import ContainerDep
from centralita.channels.models import InboxRequest
from centralita.conversations.models import Conversation, Interaction
from centralita.core.errors import NotFound, Unauthenticated
from centralita.routing.models import AgentPresence, RoutingOffer
from centralita.tenants.models import Queue, StaffMember, Tenant

router = APIRouter(include_in_schema=False)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

HELP = {
    "centralita_queue_waiting": "Conversations waiting in the queue for a person.",
    "centralita_queue_longest_wait_seconds": "How long the oldest waiting conversation has waited.",
    "centralita_queue_agents_available": "Agents who reach the queue and are free to take work.",
    "centralita_queue_agents_busy": "Agents who reach the queue and are handling or wrapping up.",
    "centralita_queue_service_level_today": "Today's service level (tenant's method); NaN: none.",
    "centralita_queue_abandonment_rate_today": "Today's abandonment rate; NaN: nothing queued.",
    "centralita_agent_presence": "1 for the agent's current activity (available, busy, ...).",
    "centralita_agent_active_conversations": "Open conversations the agent owns.",
    "centralita_agent_offers": "Open offers waiting for the agent's answer.",
    "centralita_inbox_requests": "Accepted webhooks not yet stored (pending) or given up (dead).",
}


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "NaN"
    return repr(float(value))


@dataclass
class Exposition:
    samples: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in HELP})

    def add(self, name: str, labels: dict[str, str], value: float | None) -> None:
        text = ",".join(f'{k}="{escape(v)}"' for k, v in labels.items())
        self.samples[name].append(f"{name}{{{text}}} {_number(value)}")

    def render(self) -> str:
        lines = []
        for name, samples in self.samples.items():
            lines += [f"# HELP {name} {HELP[name]}", f"# TYPE {name} gauge", *samples]
        return "\n".join(lines) + "\n"


def reaches(skills: dict[str, Any], queue_skills: Iterable[str], min_proficiency: int) -> bool:
    """The queue's first stage: every skill it asks for at the minimum proficiency."""
    return all(int(skills.get(s, 0)) >= min_proficiency for s in queue_skills)


def activity(presence: str, active: int) -> str:
    """As the wallboard shows it: busy while handling something, else the presence."""
    return "busy" if active and presence in ("available", "busy") else presence


async def _live(session: AsyncSession) -> dict[str, Any]:
    waiting = await session.execute(
        select(Conversation.tenant_id, Conversation.owner_id,
               func.count(func.distinct(Conversation.id)), func.min(Interaction.queued_at))
        .select_from(Conversation)
        .outerjoin(Interaction, and_(Interaction.conversation_id == Conversation.id,
                                     Interaction.queued_at.is_not(None),
                                     Interaction.answered_at.is_(None),
                                     Interaction.abandoned_at.is_(None)))
        .where(Conversation.owner_type == "queue", Conversation.status != "closed")
        .group_by(Conversation.tenant_id, Conversation.owner_id)
    )  # fmt: skip
    owned = await session.execute(
        select(Conversation.tenant_id, Conversation.owner_id, func.count())
        .where(Conversation.owner_type == "agent", Conversation.status != "closed")
        .group_by(Conversation.tenant_id, Conversation.owner_id)
    )  # fmt: skip
    offers = await session.execute(
        select(RoutingOffer.tenant_id, RoutingOffer.agent_id, func.count()).group_by(
            RoutingOffer.tenant_id, RoutingOffer.agent_id
        )
    )
    presence = await session.execute(
        select(AgentPresence.tenant_id, AgentPresence.agent_id, AgentPresence.presence)
    )
    return {
        "waiting": {(t, q): (int(n), oldest) for t, q, n, oldest in waiting},
        "owned": {(t, a): int(n) for t, a, n in owned},
        "offers": {(t, a): int(n) for t, a, n in offers},
        "presence": {(t, a): p for t, a, p in presence},
    }


async def exposition(session: AsyncSession, now: datetime) -> str:
    """Every tenant's gauges, in the Prometheus text format (version 0.0.4)."""
    out = Exposition()
    live = await _live(session)
    tenants = (await session.execute(select(Tenant.id, Tenant.slug).order_by(Tenant.slug))).all()
    queues = (await session.execute(
        select(Queue.tenant_id, Queue.id, Queue.name, Queue.skills, Queue.min_proficiency)
        .order_by(Queue.position)
    )).all()  # fmt: skip
    staff = (await session.execute(
        select(StaffMember.tenant_id, StaffMember.id, StaffMember.key, StaffMember.skills)
        .where(StaffMember.user_id.is_not(None)).order_by(StaffMember.position)
    )).all()  # fmt: skip
    inbox = await session.execute(
        select(InboxRequest.tenant_id, InboxRequest.state, func.count()).group_by(
            InboxRequest.tenant_id, InboxRequest.state
        )
    )
    waiting_rows = {(t, state): int(n) for t, state, n in inbox}
    for tenant_id, slug in tenants:
        for state in ("pending", "dead"):
            out.add("centralita_inbox_requests", {"tenant": slug, "state": state},
                    waiting_rows.get((tenant_id, state), 0))  # fmt: skip
        agents = {}
        for t, agent_id, key, skills in staff:
            if t != tenant_id:
                continue
            active = live["owned"].get((t, agent_id), 0)
            state = activity(live["presence"].get((t, agent_id), "offline"), active)
            agents[agent_id] = (skills or {}, state)
            labels = {"tenant": slug, "agent": key}
            out.add("centralita_agent_presence", {**labels, "presence": state}, 1)
            out.add("centralita_agent_active_conversations", labels, active)
            out.add("centralita_agent_offers", labels, live["offers"].get((t, agent_id), 0))
        mine = [q for q in queues if q.tenant_id == tenant_id]
        if not mine:
            continue
        today = await service.today(session, tenant_id=tenant_id, now=now, group_by="queue")
        by_queue = {row.key: row.kpis for row in today.rows}
        for q in mine:
            labels = {"tenant": slug, "queue": q.name}
            count, oldest = live["waiting"].get((tenant_id, q.id), (0, None))
            wait = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
            states = [state for skills, state in agents.values()
                      if reaches(skills, q.skills or (), q.min_proficiency)]  # fmt: skip
            kpis = by_queue.get(q.id, {})
            out.add("centralita_queue_waiting", labels, count)
            out.add("centralita_queue_longest_wait_seconds", labels, wait)
            out.add("centralita_queue_agents_available", labels, states.count("available"))
            out.add("centralita_queue_agents_busy", labels,
                    sum(1 for s in states if s in ("busy", "wrapup")))  # fmt: skip
            out.add("centralita_queue_service_level_today", labels, kpis.get("service_level"))
            out.add("centralita_queue_abandonment_rate_today", labels,
                    kpis.get("abandonment_rate"))  # fmt: skip
    return out.render()


def _check_token(request: Request, expected: str) -> None:
    if not expected:
        raise NotFound("metrics are disabled: set CENTRALITA_METRICS_TOKEN")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    given = token.strip().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given, expected.encode()):
        raise Unauthenticated("use Authorization: Bearer <metrics token>")


@router.get("/metrics")
async def metrics(request: Request, container: ContainerDep) -> PlainTextResponse:
    _check_token(request, container.settings.metrics_token.get_secret_value())
    async with container.sessions() as session:
        body = await exposition(session, container.clock())
    return PlainTextResponse(body, media_type=CONTENT_TYPE)
