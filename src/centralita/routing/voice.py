"""Routed calls reach their agent: when the ACD assigns a voice conversation whose caller is
waiting in the provider's queue, the live call is moved to that agent.

``connect_assigned_call`` handles ``routing.assigned``:

- only a call still waiting in the queue is moved: the conversation's latest interaction is a
  voice call with the provider's call id, the receptionist put it in the queue (its
  ``enqueued`` call event, ``receptionist.voice``), and it has not ended, been abandoned or
  been settled otherwise (a callback, a voicemail). Anything else (a message channel, a call
  already over, a caller who chose to be called back, a call in a direct transfer) is the
  agent's to handle from the desktop.
- an agent with neither a SIP address nor a phone number cannot be dialled: nothing is moved
  (logged), and the desktop shows the caller's number to call back.
- otherwise the provider's adapter redirects the call (``redirect_call``) to
  ``{public_base_url}/hooks/{account}/connect?conversation=…&agent=…``; that signed hook
  answers with a ``<Dial>`` to the agent after the intake summary's whisper, like any
  transfer. The redirect is stored as a call event (``{CallSid}:connect:{event id}``), so a
  redelivered ``routing.assigned`` moves the call once.
- the provider refuses for good (a 4xx): the assignment stays with the agent, and a note in
  the conversation tells them why: the caller hung up before being connected (the call is
  gone: a 404, Twilio's 21220 "Call is not in-progress"), or the call could not be put
  through (any other refusal, e.g. wrong credentials). Stored once, never retried.
- a 5xx, a 429 or a network error (``TransientSendError``) propagates: the relay delivers the
  event again later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.channels import service as channels_service
from centralita.channels.base import AccountConfig, ChannelKind
from centralita.conversations import interactions
from centralita.conversations import outbound as conversations_outbound
from centralita.conversations.interactions import CallUpdate
from centralita.conversations.models import Interaction, Message
from centralita.core.errors import DomainError, NotFound
from centralita.tenants.models import StaffMember, Tenant

if TYPE_CHECKING:
    from centralita.bootstrap import Container
    from centralita.events.envelope import Envelope

log = logging.getLogger(__name__)

ENQUEUED = "enqueued"  # the receptionist's call event: the call waits in the provider's queue
CONNECT = "connect"  # ours: the call was moved to the agent
CONNECT_FAILED = "connect_failed"  # ours: the provider said the call was gone
_NOTES = {
    "gone": {
        "es": "La persona que llamaba colgó antes de que pudiéramos pasarle la llamada.",
        "en": "The caller hung up before being connected.",
    },
    "refused": {
        "es": "No se pudo pasarle la llamada automáticamente ({error}): devuelva la llamada.",
        "en": "The call could not be put through to you automatically ({error}): call back.",
    },
}


@dataclass(frozen=True)
class _Plan:
    """Everything the redirect needs, read before the provider is asked (no transaction is
    held while it answers)."""

    tenant_id: str
    conversation_id: str
    interaction_id: str
    agent_id: str
    queue_id: str | None
    call_id: str
    account: AccountConfig
    url: str
    marker: str  # the call event that records the attempt


async def connect_assigned_call(container: Container, envelope: Envelope) -> None:
    """``routing.assigned``: connect a caller waiting in the queue to the assigned agent."""
    payload: dict[str, Any] = dict(envelope.payload)
    conversation_id = str(payload.get("conversation_id") or "")
    agent_id = str(payload.get("agent_id") or "")
    if not conversation_id or not agent_id:
        return
    queue_id = str(payload.get("queue_id") or "") or None
    async with container.sessions() as session:
        plan = await _plan(
            session, container, envelope.tenant_id, conversation_id, agent_id, queue_id,
            envelope.event_id,
        )  # fmt: skip
    if plan is None:
        return
    adapter = container.adapters.get(plan.account.provider)
    redirect = getattr(adapter, "redirect_call", None)
    if redirect is None:
        log.info(
            "conversation %s: provider %s cannot move a live call; agent %s calls back",
            conversation_id, plan.account.provider, agent_id,
        )  # fmt: skip
        return
    try:
        await redirect(plan.account, plan.call_id, plan.url)
    except DomainError as exc:  # final: the call is over (or the account cannot do it)
        log.warning(
            "call %s of conversation %s was not connected to agent %s: %s",
            plan.call_id, conversation_id, agent_id, exc,
        )  # fmt: skip
        await _not_connected(container, plan, str(exc), gone=bool(getattr(exc, "gone", True)))
        return
    await _connected(container, plan)


async def _plan(
    session: AsyncSession,
    container: Container,
    tenant_id: str,
    conversation_id: str,
    agent_id: str,
    queue_id: str | None,
    event_id: str,
) -> _Plan | None:
    interaction = await session.scalar(
        select(Interaction)
        .where(Interaction.tenant_id == tenant_id, Interaction.conversation_id == conversation_id)
        .order_by(Interaction.arrived_at.desc(), Interaction.id.desc())
        .limit(1)
    )
    if interaction is None or not await _waiting(session, interaction):
        return None
    call_id = str(interaction.provider_session_id)
    marker = f"{call_id}:{CONNECT}:{event_id}"
    if await interactions.call_event(session, interaction=interaction, event_id=marker):
        return None  # a redelivered event: the call was moved (or found gone) already
    staff = await session.scalar(
        select(StaffMember).where(StaffMember.tenant_id == tenant_id, StaffMember.id == agent_id)
    )
    target = (staff.sip or staff.phone) if staff is not None else None
    if not target:
        log.info(
            "conversation %s: agent %s has no phone or SIP address; the caller stays in the "
            "queue and the agent calls back from the desktop", conversation_id, agent_id,
        )  # fmt: skip
        return None
    try:
        row = await channels_service.get_account(
            session, tenant_id=tenant_id, account_id=str(interaction.channel_account_id)
        )
    except NotFound:
        return None
    base = container.settings.public_base_url.rstrip("/")
    if not base:
        log.warning("public_base_url is not set: call %s cannot be connected", call_id)
        return None
    query = urlencode({"conversation": conversation_id, "agent": agent_id})
    return _Plan(
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        interaction_id=interaction.id,
        agent_id=agent_id,
        queue_id=queue_id,
        call_id=call_id,
        account=channels_service.to_config(row),
        url=f"{base}/hooks/{row.id}/connect?{query}",
        marker=marker,
    )


async def _waiting(session: AsyncSession, interaction: Interaction) -> bool:
    """A call the receptionist put in the provider's queue, and nothing has happened to it
    since: not ended, not abandoned, no disposition (a callback, a voicemail)."""
    call_id = interaction.provider_session_id
    if interaction.channel != ChannelKind.VOICE or not call_id:
        return False
    if not interaction.channel_account_id:
        return False
    if interaction.ended_at is not None or interaction.abandoned_at is not None:
        return False
    if interaction.disposition:
        return False
    enqueued = await session.scalar(
        select(Message.id)
        .where(
            Message.tenant_id == interaction.tenant_id,
            Message.interaction_id == interaction.id,
            Message.provider_message_id.startswith(f"{call_id}:{ENQUEUED}:", autoescape=True),
        )
        .limit(1)
    )
    return enqueued is not None


async def _connected(container: Container, plan: _Plan) -> None:
    """The provider moved the call: record it once, and stamp the interaction."""
    now = container.clock()
    async with container.sessions() as session, session.begin():
        interaction = await session.get(Interaction, plan.interaction_id)
        if interaction is None:
            return
        await interactions.record_call_event(
            session,
            interaction=interaction,
            event_id=plan.marker,
            event=CONNECT,
            meta={"call_sid": plan.call_id, "agent_id": plan.agent_id},
            now=now,
        )
        await interactions.update_call(
            session,
            interaction=interaction,
            update=CallUpdate(offered_at=now, queue_id=plan.queue_id),
        )
        interaction.agent_id = plan.agent_id


async def _not_connected(container: Container, plan: _Plan, error: str, *, gone: bool) -> None:
    """The call could not be moved (the caller hung up first, or the provider refused): the
    agent keeps the conversation, with a note saying so (once, however often the event is
    delivered)."""
    now = container.clock()
    async with container.sessions() as session, session.begin():
        interaction = await session.get(Interaction, plan.interaction_id)
        if interaction is None:
            return
        stored = await interactions.record_call_event(
            session,
            interaction=interaction,
            event_id=plan.marker,
            event=CONNECT_FAILED,
            meta={"call_sid": plan.call_id, "agent_id": plan.agent_id, "error": error[:500]},
            now=now,
        )
        if stored is None:
            return
        tenant = await session.get(Tenant, plan.tenant_id)
        language = "en" if tenant is not None and tenant.locale == "en" else "es"
        await conversations_outbound.add_message(
            session,
            tenant_id=plan.tenant_id,
            conversation_id=plan.conversation_id,
            body=_NOTES["gone" if gone else "refused"][language].format(error=error[:200]),
            kind="note",
            author_type="system",
            now=now,
            meta={"event": CONNECT_FAILED, "call_sid": plan.call_id, "agent_id": plan.agent_id},
        )
