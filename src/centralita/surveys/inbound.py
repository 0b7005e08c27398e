"""Claiming an inbound message as a survey answer, before the receptionist sees it.

A message is taken as an answer when the contact has a survey waiting (sent, not expired when
the message arrived), on the survey's channel and conversation, and the latest message we sent
there is that survey's question (or its repetition): a "5" written after the receptionist asked
something else answers the receptionist, not the survey.

- a valid score: stored, the customer thanked in the message's language; claimed;
- a short reply that is not a score ("gracias", "xyz"): asked once more with the valid range;
  claimed. The next such reply is given up on: not claimed, the receptionist answers it;
- a question or a long text: a new request, not claimed (the survey stays waiting);
- a reply after the survey was answered: not claimed; the first answer is kept.

A valid answer is filed in the closed conversation without reopening it
(``conversations.service._survey_answer_target``). A reply that reopened the conversation and
is claimed anyway (a repeated question, an email reply) closes it again, so that no agent or
receptionist is left holding it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.conversations import service as conversations_service
from centralita.conversations.models import Conversation, Interaction, Message
from centralita.core.clock import as_utc
from centralita.surveys import answers
from centralita.surveys import service as surveys_service
from centralita.surveys.models import Survey
from centralita.tenants.models import Tenant


async def claim_answer(
    session: AsyncSession,
    *,
    tenant: Tenant,
    conversation: Conversation,
    message: Message,
    now: datetime,
) -> bool:
    """True when ``message`` answered a pending survey and was handled here."""
    if message.direction != "inbound" or message.kind != "text":
        return False
    # the message's own arrival decides expiry: threading decided by it too
    arrived = as_utc(message.created_at)
    survey = await surveys_service.pending_survey(
        session, tenant_id=tenant.id, contact_id=message.contact_id, now=arrived
    )
    if survey is None or survey.conversation_id != conversation.id:
        return False
    question_channel = "sms" if survey.channel == "voice" else survey.channel
    if message.channel != question_channel or not await _answers_question(
        session, survey=survey, message=message
    ):
        return False
    reply_id = (message.meta or {}).get("reply_id")
    score = answers.parse_answer(
        survey.kind,
        message.body,
        message.language,
        reply_id=reply_id if isinstance(reply_id, str) else None,
    )
    language = message.language or survey.language
    if score is not None:
        await surveys_service.record_answer(
            session, survey=survey, score=score, text=message.body, now=now
        )
        body = answers.thanks(language)
        await surveys_service.reply(session, survey=survey, message=message, body=body, now=now)
    elif answers.looks_like_attempt(message.body):
        if await surveys_service.record_invalid_reply(session, survey=survey) > 1:
            return False  # asked twice already: the receptionist takes it from here
        body = answers.reask(survey.kind, language)
        await surveys_service.reply(
            session, survey=survey, message=message, body=body, now=now, ask_again=True
        )
    else:
        return False
    await _close_again(session, conversation=conversation, message=message, survey=survey, now=now)
    return True


async def _answers_question(session: AsyncSession, *, survey: Survey, message: Message) -> bool:
    """The latest message we sent on the answer's channel is this survey's question."""
    last = await session.scalar(
        select(Message)
        .where(
            Message.tenant_id == message.tenant_id,
            Message.conversation_id == message.conversation_id,
            Message.channel == message.channel,
            Message.direction == "outbound",
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    )
    asked = (last.meta or {}).get("survey") if last is not None else None
    return isinstance(asked, dict) and asked.get("id") == survey.id


async def _close_again(
    session: AsyncSession,
    *,
    conversation: Conversation,
    message: Message,
    survey: Survey,
    now: datetime,
) -> None:
    """Undo the reopening this very message caused: it was the first message of a new
    interaction begun after the survey went out, on a conversation the bot now holds."""
    if conversation.status == "closed" or conversation.owner_type != "bot":
        return
    interaction = await session.get(Interaction, message.interaction_id or "")
    if interaction is None or as_utc(interaction.arrived_at) < as_utc(survey.sent_at):
        return
    others = await session.scalar(
        select(func.count())
        .select_from(Message)
        .where(
            Message.tenant_id == message.tenant_id,
            Message.interaction_id == interaction.id,
            Message.direction == "inbound",
            Message.id != message.id,
        )
    )
    if others:
        return
    await conversations_service.update_conversation(
        session,
        tenant_id=conversation.tenant_id,
        conversation_id=conversation.id,
        status="closed",
        now=now,
    )
