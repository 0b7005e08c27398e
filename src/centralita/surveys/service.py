"""Survey use cases: send one when an interaction closes, record its answer, expire it.

When a survey goes out (docs/surveys.md): the tenant's ``surveys`` settings are enabled, the
interaction that just closed passes the ``after`` rule and the channel filter, the
conversation is not spam, the contact has not opted out, and the contact has no other survey
waiting for an answer. One survey per interaction (a unique index): a redelivered event, or the
second of ``interaction.ended`` and ``conversation.closed`` for one call, sends nothing more.

Expiry is lazy: a survey past ``expires_at`` becomes ``expired`` when the contact next writes or
is next surveyed (``expire_due``); until then it reads ``sent`` with a past ``expires_at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.campaigns import service as campaigns_service
from centralita.contacts.models import Contact
from centralita.conversations import outbound as conversations_outbound
from centralita.conversations import service as conversations_service
from centralita.conversations.models import Conversation, Interaction, Message
from centralita.core.clock import as_utc
from centralita.core.errors import InvalidInput
from centralita.core.ids import new_id
from centralita.db.paging import Slice, paginate
from centralita.db.scoped import get_scoped
from centralita.events import outbox
from centralita.events.envelope import Envelope
from centralita.surveys import answers
from centralita.surveys.events import SurveyAnswered, SurveyExpired, SurveySent
from centralita.surveys.models import Survey
from centralita.tenants.config.schema import SurveyConfig
from centralita.tenants.models import Tenant

if TYPE_CHECKING:
    from centralita.bootstrap import Container


def survey_config(tenant: Tenant) -> SurveyConfig:
    raw = (tenant.config or {}).get("surveys")
    return SurveyConfig.model_validate(raw) if isinstance(raw, dict) else SurveyConfig()


async def handle_event(container: Container, envelope: Envelope) -> None:
    """``conversation.closed`` / ``interaction.ended``: send the tenant's survey, if any."""
    async with container.sessions() as session, session.begin():
        tenant = await session.get(Tenant, envelope.tenant_id)
        if tenant is None or tenant.disabled or not survey_config(tenant).enabled:
            return
        interaction = await _closed_interaction(session, envelope)
        if interaction is not None:
            await send_survey(
                session, tenant=tenant, interaction=interaction, now=container.clock()
            )


async def _closed_interaction(session: AsyncSession, envelope: Envelope) -> Interaction | None:
    """The interaction the event closed: the call's, or the conversation's latest ended one."""
    payload = envelope.payload
    if envelope.name == "interaction.ended":
        found = await session.get(Interaction, str(payload.get("interaction_id") or ""))
        return found if found is not None and found.tenant_id == envelope.tenant_id else None
    return await session.scalar(
        select(Interaction)
        .where(
            Interaction.tenant_id == envelope.tenant_id,
            Interaction.conversation_id == str(payload.get("conversation_id") or ""),
            Interaction.ended_at.is_not(None),
        )
        .order_by(Interaction.ended_at.desc(), Interaction.arrived_at.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class _Plan:
    """How the question goes out: on which channel, with what message metadata, or why not."""

    channel: str
    meta: dict[str, Any]
    skipped: str | None = None


async def send_survey(
    session: AsyncSession, *, tenant: Tenant, interaction: Interaction, now: datetime
) -> Survey | None:
    """Queue the survey of ``interaction`` (see the module docstring); None when none is due.

    A survey that is due but cannot go out (WhatsApp's window closed and no template set, a
    call without an SMS account) is stored as ``skipped`` with the reason."""
    config = survey_config(tenant)
    if not config.enabled or not _eligible(config, interaction, now):
        return None
    conversation = await session.get(Conversation, interaction.conversation_id)
    contact = await session.get(Contact, interaction.contact_id)
    if conversation is None or contact is None or await _is_spam(session, conversation):
        return None
    send_on = "sms" if interaction.channel == "voice" else interaction.channel
    if await opted_out(session, contact=contact, channel=send_on):
        return None
    await expire_due(session, tenant_id=tenant.id, now=now, contact_id=contact.id)
    if await _pending(session, tenant_id=tenant.id, contact_id=contact.id) is not None:
        return None  # one question at a time; also keeps a survey's own re-close quiet
    language = answers.language_of(contact.language or conversation.language or tenant.locale)
    survey = Survey(
        id=new_id("srv"),
        tenant_id=tenant.id,
        interaction_id=interaction.id,
        conversation_id=conversation.id,
        contact_id=contact.id,
        agent_id=interaction.agent_id,
        queue_id=interaction.queue_id,
        channel=interaction.channel,
        kind=config.kind,
        status="sent",
        sent_at=now,
        expires_at=now + timedelta(hours=config.expire_hours),
        language=language,
    )
    try:
        async with session.begin_nested():
            session.add(survey)
            await session.flush()
    except IntegrityError:
        return None  # this interaction was surveyed already (a redelivered or a twin event)
    plan = await _plan(session, config=config, survey=survey, contact=contact, now=now)
    if plan.skipped is None:
        try:
            message = await _queue_question(session, survey=survey, plan=plan, now=now)
        except InvalidInput as exc:  # nowhere to send it (no SMS account, no phone...)
            plan = _Plan(plan.channel, plan.meta, skipped=str(exc.detail)[:200])
        else:
            survey.message_id = message.id
    survey.channel = plan.channel
    if plan.skipped is not None:
        survey.status, survey.reason, survey.expires_at = "skipped", plan.skipped[:200], now
    outbox.record(
        session,
        SurveySent(
            tenant_id=tenant.id,
            survey_id=survey.id,
            interaction_id=survey.interaction_id,
            conversation_id=survey.conversation_id,
            contact_id=survey.contact_id,
            agent_id=survey.agent_id,
            channel=survey.channel,
            kind=survey.kind,
            status=survey.status,
            reason=survey.reason,
        ),
    )
    return survey


def _eligible(config: SurveyConfig, interaction: Interaction, now: datetime) -> bool:
    """The ``after`` rule, the channel filter, and not an interaction closed long ago."""
    if config.after == "agent" and interaction.agent_id is None and interaction.handled_by_bot:
        return False
    if interaction.channel not in config.channels or interaction.ended_at is None:
        return False
    return as_utc(interaction.ended_at) > now - timedelta(hours=config.expire_hours)


async def _is_spam(session: AsyncSession, conversation: Conversation) -> bool:
    from centralita.spam import service as spam_service

    verdict = await spam_service.get_verdict(
        session, tenant_id=conversation.tenant_id, conversation_id=conversation.id
    )
    return verdict is not None and verdict.verdict == "spam"


async def opted_out(session: AsyncSession, *, contact: Contact, channel: str) -> bool:
    """The contact opted out of ``channel`` (or of everything) in the campaigns' opt-out
    ledger, or said no to surveys (``consent.surveys`` is false). Marketing consent alone does
    not count: a survey about a service the customer asked for is not marketing."""
    if (contact.consent or {}).get("surveys") is False:
        return True
    return await campaigns_service.is_opted_out(
        session, tenant_id=contact.tenant_id, contact_id=contact.id, channel=channel
    )


async def _plan(
    session: AsyncSession, *, config: SurveyConfig, survey: Survey, contact: Contact, now: datetime
) -> _Plan:
    language = survey.language
    meta: dict[str, Any] = {
        "survey": {
            "id": survey.id,
            "kind": survey.kind,
            "interaction_id": survey.interaction_id,
            "expires_at": as_utc(survey.expires_at).isoformat(),
        }
    }
    options = answers.choices(survey.kind, language)
    if options:
        meta["choices"] = [{"id": c.id, "title": c.title} for c in options]
    if survey.channel == "voice":
        return _Plan("sms", {k: v for k, v in meta.items() if k != "choices"})
    if survey.channel == "whatsapp":
        window = await conversations_service.whatsapp_window(
            session, tenant_id=survey.tenant_id, conversation_id=survey.conversation_id, now=now
        )
        if not window.open:
            if not config.whatsapp_template:
                return _Plan("whatsapp", meta, skipped="outside WhatsApp's 24-hour window and "
                             "no surveys.whatsapp_template is set")  # fmt: skip
            meta.pop("choices", None)
            meta["template"] = {
                "name": config.whatsapp_template,
                "language": language,
                "parameters": [contact.name or "-"],
            }
    return _Plan(survey.channel, meta)


async def _queue_question(
    session: AsyncSession, *, survey: Survey, plan: _Plan, now: datetime
) -> Message:
    body = answers.question(survey.kind, survey.language)
    if survey.channel == "voice":  # a call's survey: a text message we start
        return await conversations_outbound.start_outbound(
            session,
            tenant_id=survey.tenant_id,
            contact_id=survey.contact_id,
            channel=plan.channel,
            body=body,
            conversation_id=survey.conversation_id,
            now=now,
            meta=plan.meta,
        )
    return await conversations_outbound.add_message(
        session,
        tenant_id=survey.tenant_id,
        conversation_id=survey.conversation_id,
        body=body,
        author_type="system",
        channel=plan.channel,
        now=now,
        meta=plan.meta,
    )


async def _pending(session: AsyncSession, *, tenant_id: str, contact_id: str) -> Survey | None:
    return await session.scalar(
        select(Survey)
        .where(
            Survey.tenant_id == tenant_id,
            Survey.contact_id == contact_id,
            Survey.status == "sent",
        )
        .order_by(Survey.sent_at.desc(), Survey.id.desc())
        .limit(1)
    )


async def pending_survey(
    session: AsyncSession, *, tenant_id: str, contact_id: str, now: datetime
) -> Survey | None:
    """The contact's survey waiting for an answer, after expiring the overdue ones."""
    await expire_due(session, tenant_id=tenant_id, now=now, contact_id=contact_id)
    return await _pending(session, tenant_id=tenant_id, contact_id=contact_id)


async def expire_due(
    session: AsyncSession, *, tenant_id: str, now: datetime, contact_id: str | None = None
) -> int:
    """Mark the surveys left unanswered past ``expires_at`` expired (one contact's, or all)."""
    stmt = select(Survey).where(
        Survey.tenant_id == tenant_id, Survey.status == "sent", Survey.expires_at <= now
    )
    if contact_id is not None:
        stmt = stmt.where(Survey.contact_id == contact_id)
    rows = (await session.scalars(stmt)).all()
    for survey in rows:
        survey.status = "expired"
        outbox.record(
            session,
            SurveyExpired(
                tenant_id=tenant_id,
                survey_id=survey.id,
                conversation_id=survey.conversation_id,
                kind=survey.kind,
            ),
        )
    return len(rows)


async def record_answer(
    session: AsyncSession, *, survey: Survey, score: int, text: str, now: datetime
) -> Survey:
    """Store the customer's score; a survey is answered once (a later answer changes nothing)."""
    if survey.status != "sent":
        return survey
    survey.status, survey.score, survey.answered_at = "answered", score, now
    survey.answer_text = text[:1000]
    outbox.record(
        session,
        SurveyAnswered(
            tenant_id=survey.tenant_id,
            survey_id=survey.id,
            interaction_id=survey.interaction_id,
            conversation_id=survey.conversation_id,
            agent_id=survey.agent_id,
            kind=survey.kind,
            score=score,
        ),
    )
    return survey


async def record_invalid_reply(session: AsyncSession, *, survey: Survey) -> int:
    """Count a reply that was not a valid score; returns how many there have been."""
    survey.invalid_replies += 1
    await session.flush()
    return survey.invalid_replies


async def reply(
    session: AsyncSession,
    *,
    survey: Survey,
    message: Message,
    body: str,
    now: datetime,
    ask_again: bool = False,
) -> Message:
    """Thank the customer or ask again, on the channel the answer came from. A repeated
    question carries the survey's metadata, so that its answer is threaded like the first's."""
    meta: dict[str, Any] = {"survey_id": survey.id}
    if ask_again:
        meta = {
            "survey": {
                "id": survey.id,
                "kind": survey.kind,
                "interaction_id": survey.interaction_id,
                "expires_at": as_utc(survey.expires_at).isoformat(),
            }
        }
    return await conversations_outbound.add_message(
        session,
        tenant_id=survey.tenant_id,
        conversation_id=message.conversation_id,
        body=body,
        author_type="system",
        channel=message.channel,
        now=now,
        meta=meta,
    )


async def get_survey(session: AsyncSession, *, tenant_id: str, survey_id: str) -> Survey:
    return await get_scoped(session, Survey, tenant_id=tenant_id, id=survey_id, label="survey")


async def list_surveys(
    session: AsyncSession,
    *,
    tenant_id: str,
    limit: int,
    cursor: str | None,
    status: str | None = None,
    kind: str | None = None,
    agent_id: str | None = None,
    since: datetime | None = None,
) -> Slice[Survey]:
    stmt = select(Survey).where(Survey.tenant_id == tenant_id)
    if status:
        stmt = stmt.where(Survey.status == status)
    if kind:
        stmt = stmt.where(Survey.kind == kind)
    if agent_id:
        stmt = stmt.where(Survey.agent_id == agent_id)
    if since is not None:
        stmt = stmt.where(Survey.sent_at >= since)
    return await paginate(session, stmt, Survey.id, limit=limit, cursor=cursor)
