"""The desktop's and the wallboard's API: presence, offers, taking, transferring, resolving.

Agents act on themselves (``/agent/...``); supervisors (and API keys with that role) see
every queue and agent and can change an agent's presence or hand a conversation to someone.
Everything is tenant-scoped: ids from another tenant are 404.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from centralita.access.models import Role
from centralita.access.principal import Principal
from centralita.api.deps import ContainerDep, CurrentPrincipal, DbSession, require
from centralita.conversations import service as conversations_service
from centralita.core.ids import ID_PATTERN
from centralita.routing import desk

router = APIRouter(tags=["routing"])
SupervisorPrincipal = Annotated[Principal, require(Role.SUPERVISOR)]
ConversationId = Annotated[str, Field(max_length=40)]


class PresenceUpdate(BaseModel):
    presence: Literal["available", "busy", "away", "offline"]


class OfferRead(BaseModel):
    conversation_id: str
    queue_id: str | None
    channel: str
    callback: bool
    offered_at: datetime
    expires_at: datetime


class AgentRead(BaseModel):
    id: str
    name: str
    presence: str
    activity: str
    since: datetime | None
    capacity: dict[str, int]
    load: dict[str, int]
    occupancy: float
    offers: list[OfferRead]
    conversations: list[str]


class QueueRead(BaseModel):
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
    alerts: list[str]


class TransferRequest(BaseModel):
    agent_id: str | None = Field(default=None, max_length=40, pattern=ID_PATTERN)
    queue_id: str | None = Field(default=None, max_length=40, pattern=ID_PATTERN)


class ResolveRequest(BaseModel):
    wrapup_code: str = Field(default="resolved", max_length=40)
    note: str | None = Field(default=None, max_length=10_000)


class AssignRequest(BaseModel):
    agent_id: str = Field(max_length=40, pattern=ID_PATTERN)


class Done(BaseModel):
    ok: bool = True
    conversation_id: str | None = None


def _agent_read(view: desk.AgentView) -> AgentRead:
    data: dict[str, Any] = dict(view.__dict__)
    data["activity"] = view.activity
    return AgentRead.model_validate(data)


async def _known(db: DbSession, principal: Principal, conversation_id: str) -> None:
    """A foreign or unknown conversation is 404 before anything else is checked."""
    await conversations_service.get_conversation(
        db, tenant_id=principal.tenant_id, conversation_id=conversation_id
    )


async def _acting_agent(db: DbSession, principal: Principal, conversation_id: str) -> str | None:
    """None for a supervisor (who may act on any conversation), else the agent's staff id."""
    await _known(db, principal, conversation_id)
    if principal.at_least(Role.SUPERVISOR):
        return None
    return (await desk.agent_of(db, principal)).id


class ColleagueRead(BaseModel):
    id: str
    name: str
    presence: str
    activity: str


class QueueRef(BaseModel):
    id: str
    key: str
    name: str


class Directory(BaseModel):
    agents: list[ColleagueRead]
    queues: list[QueueRef]
    wrapup_codes: list[str]


# ---- the agent ----------------------------------------------------------------------------


@router.get("/agent/me", summary="The signed-in agent: presence, capacity, offers, conversations")
async def me(db: DbSession, principal: CurrentPrincipal, container: ContainerDep) -> AgentRead:
    staff = await desk.agent_of(db, principal)
    (view,) = await desk.agents_view(db, container, principal.tenant_id, only=staff.id)
    return _agent_read(view)


@router.get("/agent/directory", summary="Colleagues and queues to transfer to; wrap-up codes")
async def directory(
    db: DbSession, principal: CurrentPrincipal, container: ContainerDep
) -> Directory:
    if not principal.at_least(Role.SUPERVISOR):
        await desk.agent_of(db, principal)
    views = await desk.agents_view(db, container, principal.tenant_id)
    queues = await desk.queue_refs(db, principal.tenant_id)
    return Directory(
        agents=[
            ColleagueRead(id=v.id, name=v.name, presence=v.presence, activity=v.activity)
            for v in views
        ],
        queues=[QueueRef(id=q.id, key=q.key, name=q.name) for q in queues],
        wrapup_codes=list(desk.WRAPUP_CODES),
    )


@router.put("/agent/me/presence", responses={403: {}, 422: {}})
async def my_presence(
    body: PresenceUpdate, db: DbSession, principal: CurrentPrincipal, container: ContainerDep
) -> AgentRead:
    staff = await desk.agent_of(db, principal)
    await desk.set_presence(
        db, container, principal.tenant_id, staff.id, desk.parse_presence(body.presence)
    )
    (view,) = await desk.agents_view(db, container, principal.tenant_id, only=staff.id)
    return _agent_read(view)


@router.post("/agent/me/wrapup-done", responses={403: {}})
async def wrapup_done(db: DbSession, principal: CurrentPrincipal, container: ContainerDep) -> Done:
    staff = await desk.agent_of(db, principal)
    await desk.end_wrapup(db, container, principal.tenant_id, staff.id)
    return Done()


@router.post("/agent/offers/{conversation_id}/accept", responses={403: {}, 404: {}, 409: {}})
async def accept_offer(
    conversation_id: ConversationId,
    db: DbSession,
    principal: CurrentPrincipal,
    container: ContainerDep,
) -> Done:
    await _known(db, principal, conversation_id)
    staff = await desk.agent_of(db, principal)
    await desk.accept(db, container, principal.tenant_id, staff.id, conversation_id)
    return Done(conversation_id=conversation_id)


@router.post("/agent/offers/{conversation_id}/decline", responses={403: {}, 404: {}, 409: {}})
async def decline_offer(
    conversation_id: ConversationId,
    db: DbSession,
    principal: CurrentPrincipal,
    container: ContainerDep,
) -> Done:
    await _known(db, principal, conversation_id)
    staff = await desk.agent_of(db, principal)
    await desk.decline(db, container, principal.tenant_id, staff.id, conversation_id)
    return Done(conversation_id=conversation_id)


@router.post(
    "/conversations/{conversation_id}/pick",
    responses={403: {}, 404: {}, 409: {}},
    summary="Take a waiting conversation from its queue",
)
async def pick(
    conversation_id: ConversationId,
    db: DbSession,
    principal: CurrentPrincipal,
    container: ContainerDep,
) -> Done:
    await _known(db, principal, conversation_id)
    staff = await desk.agent_of(db, principal)
    await desk.pick(db, container, principal.tenant_id, staff.id, conversation_id)
    return Done(conversation_id=conversation_id)


@router.post(
    "/conversations/{conversation_id}/transfer", responses={403: {}, 404: {}, 409: {}, 422: {}}
)
async def transfer(
    conversation_id: ConversationId,
    body: TransferRequest,
    db: DbSession,
    principal: CurrentPrincipal,
    container: ContainerDep,
) -> Done:
    by_agent = await _acting_agent(db, principal, conversation_id)
    await desk.transfer(
        db,
        container,
        principal.tenant_id,
        conversation_id,
        agent_id=body.agent_id,
        queue_id=body.queue_id,
        by_agent=by_agent,
    )
    return Done(conversation_id=conversation_id)


@router.post("/conversations/{conversation_id}/resolve", responses={403: {}, 404: {}, 422: {}})
async def resolve(
    conversation_id: ConversationId,
    body: ResolveRequest,
    db: DbSession,
    principal: CurrentPrincipal,
    container: ContainerDep,
) -> Done:
    by_agent = await _acting_agent(db, principal, conversation_id)
    await desk.resolve(
        db,
        container,
        principal.tenant_id,
        conversation_id,
        by_agent=by_agent,
        code=body.wrapup_code,
        note=body.note,
    )
    return Done(conversation_id=conversation_id)


# ---- the supervisor -------------------------------------------------------------------------


@router.get("/routing/queues", summary="Live queues: waiting, longest wait, service level")
async def live_queues(
    db: DbSession, principal: SupervisorPrincipal, container: ContainerDep
) -> list[QueueRead]:
    views = await desk.queues_view(db, container, principal.tenant_id)
    return [QueueRead.model_validate(dict(v.__dict__)) for v in views]


@router.get("/routing/agents", summary="Agents: presence, load, occupancy, offers")
async def live_agents(
    db: DbSession, principal: SupervisorPrincipal, container: ContainerDep
) -> list[AgentRead]:
    return [_agent_read(v) for v in await desk.agents_view(db, container, principal.tenant_id)]


@router.put("/routing/agents/{agent_id}/presence", responses={404: {}, 422: {}})
async def agent_presence(
    agent_id: ConversationId,
    body: PresenceUpdate,
    db: DbSession,
    principal: SupervisorPrincipal,
    container: ContainerDep,
) -> AgentRead:
    staff = await desk.staff_member(db, principal.tenant_id, agent_id)
    await desk.set_presence(
        db,
        container,
        principal.tenant_id,
        staff.id,
        desk.parse_presence(body.presence),
        by=principal.actor,
    )
    (view,) = await desk.agents_view(db, container, principal.tenant_id, only=staff.id)
    return _agent_read(view)


@router.post(
    "/conversations/{conversation_id}/assign",
    responses={404: {}, 409: {}},
    summary="Give a conversation to an agent (a supervisor moves it)",
)
async def assign(
    conversation_id: ConversationId,
    body: AssignRequest,
    db: DbSession,
    principal: SupervisorPrincipal,
    container: ContainerDep,
) -> Done:
    await _known(db, principal, conversation_id)
    staff = await desk.staff_member(db, principal.tenant_id, body.agent_id)
    state = await container.routing.read(db, principal.tenant_id)
    item = state.items.get(conversation_id)
    if item is not None and item.status == "assigned" and item.agent != staff.id:
        await desk.transfer(
            db,
            container,
            principal.tenant_id,
            conversation_id,
            agent_id=staff.id,
            queue_id=None,
            by_agent=None,
        )
    else:
        await desk.pick(
            db,
            container,
            principal.tenant_id,
            staff.id,
            conversation_id,
            force=True,
            by=principal.actor,
        )
    return Done(conversation_id=conversation_id)


class PredictiveReport(BaseModel):
    enabled: bool
    days: int
    treatment_conversations: int
    treatment_rate: float | None
    control_conversations: int
    control_rate: float | None
    lift: float | None
    low: float | None
    high: float | None
    significant: bool


@router.get("/routing/predictive", summary="Predictive routing's A/B lift in resolution")
async def predictive_report(
    db: DbSession,
    principal: SupervisorPrincipal,
    container: ContainerDep,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> PredictiveReport:
    since = container.clock() - timedelta(days=days)
    found = await desk.predictive_report(db, principal.tenant_id, since)
    state = await container.routing.read(db, principal.tenant_id)
    return PredictiveReport(enabled=state.settings.predictive, days=days, **found.as_dict())


class WaitingRead(BaseModel):
    conversation_id: str
    queue_id: str
    channel: str
    status: str
    priority: float
    waited_seconds: float
    position: int | None
    callback: bool
    preferred_agent: str | None


@router.get("/routing/waiting", summary="Conversations waiting for a person, longest first")
async def waiting(
    db: DbSession,
    principal: SupervisorPrincipal,
    container: ContainerDep,
    queue_id: Annotated[str | None, Query(max_length=40, pattern=ID_PATTERN)] = None,
) -> list[WaitingRead]:
    views = await desk.waiting_view(db, container, principal.tenant_id, queue_id)
    return [WaitingRead.model_validate(dict(v.__dict__)) for v in views]
