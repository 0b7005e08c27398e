"""Conversation use cases; ``receive_inbound`` is written once for every channel."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.channels.base import AccountConfig, ChannelKind, InboundMessage
from centralita.contacts import service as contacts_service
from centralita.conversations import scoping
from centralita.conversations.events import (
    ConversationClosed,
    ConversationReopened,
    ConversationStarted,
    ConversationUpdated,
    InteractionStarted,
    InteractionUpdated,
    MessageReceived,
)
from centralita.conversations.models import Conversation, Interaction, Message
from centralita.conversations.threading import (
    EMAIL_SUBJECT_WINDOW,
    ConversationSummary,
    EmailThreadCandidate,
    InteractionSummary,
    ThreadAction,
    pick_by_subject,
    pick_conversation,
    pick_interaction,
    pick_referenced,
)
from centralita.conversations.visibility import AgentScope
from centralita.core.clock import as_utc, utcnow
from centralita.core.ids import new_id
from centralita.db.paging import Slice, paginate
from centralita.db.scoped import get_scoped
from centralita.events import outbox
from centralita.receptionist.nlu.language import Language, detect_language
from centralita.receptionist.nlu.redaction import redact_cards
from centralita.surveys.answers import parse_answer


@dataclass(frozen=True)
class ReceiveResult:
    message: Message
    conversation: Conversation
    interaction: Interaction
    contact_created: bool
    conversation_created: bool
    duplicate: bool


async def _existing_message(
    session: AsyncSession, *, account: AccountConfig, provider_message_id: str
) -> Message | None:
    return await session.scalar(
        select(Message).where(
            Message.tenant_id == account.tenant_id,
            Message.channel_account_id == account.id,
            Message.provider_message_id == provider_message_id,
        )
    )


async def _result_for_duplicate(session: AsyncSession, message: Message) -> ReceiveResult:
    conversation = await session.get_one(Conversation, message.conversation_id)
    interaction = await session.get_one(Interaction, message.interaction_id)
    return ReceiveResult(message, conversation, interaction, False, False, True)


async def receive_inbound(
    session: AsyncSession,
    *,
    account: AccountConfig,
    inbound: InboundMessage,
    reopen_window: timedelta,
    default_language: Language = "es",
    now: datetime | None = None,
) -> ReceiveResult:
    """Store one inbound message: contact, conversation, interaction, message, event.

    The message's language is the provider's if it gave one, else detected (Spanish or
    English), with the conversation's language breaking ties on short replies.

    Idempotent on (channel account, provider message id): a redelivery returns the stored
    message with ``duplicate=True`` and emits nothing. Two *concurrent* first deliveries (of
    one message, or from one new address) meet a unique constraint: the loser's transaction
    raises ``IntegrityError`` and must be retried whole, which then finds the winner's rows.
    """
    now = now or utcnow()
    tenant_id = account.tenant_id
    inbound = _redacted(_without_nul(inbound))
    dup = await _existing_message(
        session, account=account, provider_message_id=inbound.provider_message_id
    )
    if dup is not None:
        return await _result_for_duplicate(session, dup)

    found = await contacts_service.find_or_create_by_address(
        session,
        tenant_id=tenant_id,
        kind=inbound.sender.kind,
        value=inbound.sender.value,
        name=inbound.sender_name,
        last_contact_at=now,
        savepoint=False,
    )
    contact = found.contact
    if contact.name is None and inbound.sender_name:
        contact.name = inbound.sender_name
    if not found.created:
        contact.last_contact_at = now

    if inbound.channel is ChannelKind.EMAIL:
        conversation, interaction, created = await _email_thread(
            session, account=account, contact_id=contact.id, inbound=inbound,
            reopen_window=reopen_window, now=now,
        )  # fmt: skip
    elif (
        filed := await _survey_answer_target(
            session, tenant_id=tenant_id, contact_id=contact.id, inbound=inbound, now=now
        )
    ) is not None:
        (conversation, interaction), created = filed, False
    else:
        conversation, created = await _thread(
            session,
            tenant_id=tenant_id,
            contact_id=contact.id,
            channel=inbound.channel.value,
            reopen_window=reopen_window,
            now=now,
        )
        interaction = await _interaction(
            session,
            conversation=conversation,
            account=account,
            channel=inbound.channel.value,
            now=now,
            provider_session_id=inbound.thread_key,
        )
    language = inbound.language or (
        detect_language(
            inbound.text,
            history=[conversation.language] if conversation.language else [],
            default=_as_language(contact.language) or default_language,
        ).language
    )
    message = Message(
        id=new_id("msg"),
        tenant_id=tenant_id,
        conversation_id=conversation.id,
        interaction_id=interaction.id,
        contact_id=contact.id,
        channel=inbound.channel.value,
        channel_account_id=account.id,
        direction="inbound",
        kind=inbound.kind,
        author_type="contact",
        author_id=contact.id,
        body=inbound.text,
        language=language,
        provider_message_id=inbound.provider_message_id,
        delivery_status="received",
        meta=dict(inbound.metadata),
        created_at=inbound.received_at or now,
    )
    session.add(message)
    await session.flush()  # a concurrent redelivery fails here: the caller retries (ingest)
    conversation.last_message_at = message.created_at
    conversation.last_channel = inbound.channel.value
    conversation.language = language
    if contact.language is None:
        contact.language = language
    outbox.record(
        session,
        MessageReceived(
            tenant_id=tenant_id,
            message_id=message.id,
            conversation_id=conversation.id,
            interaction_id=interaction.id,
            contact_id=contact.id,
            channel=inbound.channel.value,
            channel_account_id=account.id,
            body=inbound.text,
        ),
    )
    return ReceiveResult(message, conversation, interaction, found.created, created, False)


def _as_language(value: str | None) -> Language | None:
    return "es" if value == "es" else "en" if value == "en" else None


def _without_nul(inbound: InboundMessage) -> InboundMessage:
    """NUL cannot be stored in PostgreSQL text; a customer's stray NUL must not lose the message."""
    if "\x00" not in inbound.text and "\x00" not in (inbound.sender_name or ""):
        return inbound
    return replace(
        inbound,
        text=inbound.text.replace("\x00", ""),
        sender_name=(inbound.sender_name or "").replace("\x00", "") or None,
    )


def _redacted(inbound: InboundMessage) -> InboundMessage:
    """Card numbers and the codes after them never reach storage (PCI DSS)."""
    text, count = redact_cards(inbound.text)
    if not count:
        return inbound
    return replace(inbound, text=text, metadata={**inbound.metadata, "redactions": count})


async def _thread(
    session: AsyncSession,
    *,
    tenant_id: str,
    contact_id: str,
    channel: str,
    reopen_window: timedelta,
    now: datetime,
) -> tuple[Conversation, bool]:
    rows = (
        await session.scalars(
            select(Conversation)
            .where(Conversation.tenant_id == tenant_id, Conversation.contact_id == contact_id)
            .order_by(Conversation.last_message_at.desc())
            .limit(20)
        )
    ).all()
    decision = pick_conversation(
        [ConversationSummary(c.id, c.status, c.last_message_at, c.closed_at) for c in rows],
        now=now,
        reopen_window=reopen_window,
    )
    by_id = {c.id: c for c in rows}
    if decision.action is ThreadAction.CONTINUE:
        return by_id[decision.conversation_id or ""], False
    if decision.action is ThreadAction.REOPEN:
        conv = by_id[decision.conversation_id or ""]
        _reopen(session, conv, channel=channel)
        return conv, False
    conv = Conversation(
        id=new_id("cv"),
        tenant_id=tenant_id,
        contact_id=contact_id,
        status="open",
        owner_type="bot",
        last_channel=channel,
        last_message_at=now,
        intake={},
        tags=[],
    )
    session.add(conv)
    await session.flush()
    outbox.record(
        session,
        ConversationStarted(
            tenant_id=tenant_id, conversation_id=conv.id, contact_id=contact_id, channel=channel
        ),
    )
    return conv, True


async def _survey_answer_target(
    session: AsyncSession,
    *,
    tenant_id: str,
    contact_id: str,
    inbound: InboundMessage,
    now: datetime,
) -> tuple[Conversation, Interaction] | None:
    """Where a satisfaction survey's answer is filed without reopening anything, or None.

    Reopening a closed conversation for a "5" would hand it back to the receptionist and count
    a new interaction for a one-digit reply. So when the contact has no live conversation, the
    latest message we sent on this channel in their latest conversation is a survey question
    still open (``meta.survey``, written by ``surveys.service``), and the reply reads as an
    answer to it, the reply joins that closed conversation, under the interaction the survey
    rates, and the conversation stays closed (``surveys.inbound`` then records the score).
    Anything else threads by the usual rules."""
    rows = (
        await session.scalars(
            select(Conversation)
            .where(Conversation.tenant_id == tenant_id, Conversation.contact_id == contact_id)
            .order_by(Conversation.last_message_at.desc())
            .limit(20)
        )
    ).all()
    if not rows or any(c.status != "closed" for c in rows):
        return None
    conv = rows[0]
    question = await session.scalar(
        select(Message)
        .where(
            Message.tenant_id == tenant_id,
            Message.conversation_id == conv.id,
            Message.channel == inbound.channel.value,
            Message.direction == "outbound",
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    )
    asked = (question.meta or {}).get("survey") if question is not None else None
    if question is None or not isinstance(asked, dict):
        return None
    try:
        open_until = datetime.fromisoformat(str(asked.get("expires_at")))
    except ValueError:
        return None
    reply_id = inbound.metadata.get("reply_id")
    score = parse_answer(
        str(asked.get("kind")),
        inbound.text,
        reply_id=reply_id if isinstance(reply_id, str) else None,
    )
    if score is None or as_utc(inbound.received_at or now) >= as_utc(open_until):
        return None
    interaction = await session.get(
        Interaction, str(asked.get("interaction_id") or question.interaction_id or "")
    )
    if interaction is None or interaction.conversation_id != conv.id:
        return None
    return conv, interaction


def _reopen(session: AsyncSession, conv: Conversation, *, channel: str) -> None:
    conv.status = "open"
    conv.closed_at = None
    conv.owner_type, conv.owner_id = "bot", None
    outbox.record(
        session,
        ConversationReopened(
            tenant_id=conv.tenant_id,
            conversation_id=conv.id,
            contact_id=conv.contact_id,
            channel=channel,
        ),
    )


async def _interaction(
    session: AsyncSession,
    *,
    conversation: Conversation,
    account: AccountConfig,
    channel: str,
    now: datetime,
    provider_session_id: str | None,
    fresh: bool = False,
) -> Interaction:
    """The conversation's live session on ``channel``, or a new one (always when ``fresh``)."""
    if not fresh:
        rows = (
            await session.scalars(
                select(Interaction).where(
                    Interaction.tenant_id == conversation.tenant_id,
                    Interaction.conversation_id == conversation.id,
                    Interaction.ended_at.is_(None),
                )
            )
        ).all()
        chosen = pick_interaction(
            [InteractionSummary(i.id, i.channel, i.ended_at) for i in rows], channel=channel
        )
        if chosen is not None:
            return next(i for i in rows if i.id == chosen)
    interaction = Interaction(
        id=new_id("ix"),
        tenant_id=conversation.tenant_id,
        conversation_id=conversation.id,
        contact_id=conversation.contact_id,
        channel=channel,
        channel_account_id=account.id,
        direction="inbound",
        arrived_at=now,
        provider_session_id=provider_session_id,
    )
    session.add(interaction)
    await session.flush()
    outbox.record(
        session,
        InteractionStarted(
            tenant_id=conversation.tenant_id,
            interaction_id=interaction.id,
            conversation_id=conversation.id,
            channel=channel,
        ),
    )
    return interaction


async def _email_thread(
    session: AsyncSession,
    *,
    account: AccountConfig,
    contact_id: str,
    inbound: InboundMessage,
    reopen_window: timedelta,
    now: datetime,
) -> tuple[Conversation, Interaction, bool]:
    """An email thread is one interaction: a reply joins its thread (found by the Message-IDs
    it answers, else carefully by subject), reopening the conversation if it was closed;
    any other mail starts a new thread, in the conversation the per-contact rule picks."""
    channel = inbound.channel.value
    target = await _email_target(
        session, account=account, contact_id=contact_id, inbound=inbound, now=now
    )
    if target is not None:
        conv = await session.get_one(Conversation, target.conversation_id)
        ix = await session.get(Interaction, target.interaction_id)
        usable = ix is not None and ix.conversation_id == conv.id
        if inbound.kind == "event" and usable and ix is not None:
            return conv, ix, False  # an out-of-office answer reopens nothing: it is filed
        if conv.status == "closed":
            _reopen(session, conv, channel=channel)
        if usable and ix is not None and ix.ended_at is None:
            return conv, ix, False
        fresh = await _interaction(
            session, conversation=conv, account=account, channel=channel, now=now,
            provider_session_id=inbound.thread_key, fresh=True,
        )  # fmt: skip
        return conv, fresh, False
    conv, created = await _thread(
        session, tenant_id=account.tenant_id, contact_id=contact_id, channel=channel,
        reopen_window=reopen_window, now=now,
    )  # fmt: skip
    if created and conv.subject is None and inbound.subject:
        conv.subject = inbound.subject[:300]
    interaction = await _interaction(
        session, conversation=conv, account=account, channel=channel, now=now,
        provider_session_id=inbound.thread_key, fresh=True,
    )  # fmt: skip
    return conv, interaction, created


async def _email_target(
    session: AsyncSession,
    *,
    account: AccountConfig,
    contact_id: str,
    inbound: InboundMessage,
    now: datetime,
) -> EmailThreadCandidate | None:
    """The stored mail of this account that the new one continues, if any."""
    scope = (
        Message.tenant_id == account.tenant_id,
        Message.channel_account_id == account.id,
        Message.channel == inbound.channel.value,
        Message.interaction_id.is_not(None),
    )
    columns = (
        Message.provider_message_id,
        Message.conversation_id,
        Message.interaction_id,
        Message.contact_id,
        Message.created_at,
    )
    refs = list(inbound.references[:50])
    if refs:
        rows = await session.execute(
            select(*columns).where(*scope, Message.provider_message_id.in_(refs))
        )
        found = [
            EmailThreadCandidate(r[0] or "", r[1], r[2] or "", r[3], None, as_utc(r[4]))
            for r in rows.all()
        ]
        chosen = pick_referenced(refs, found, contact_id=contact_id)
        if chosen is not None:
            return chosen
    subject = Message.meta["subject"].as_string().label("subject")
    rows = await session.execute(
        select(*columns, subject)
        .where(
            *scope,
            Message.contact_id == contact_id,
            Message.direction == "inbound",
            Message.created_at >= now - EMAIL_SUBJECT_WINDOW,
        )
        .order_by(Message.created_at.desc())
        .limit(50)
    )
    candidates = [
        EmailThreadCandidate(
            r.provider_message_id or "", r.conversation_id, r.interaction_id or "",
            r.contact_id, r.subject, as_utc(r.created_at),
        )
        for r in rows.all()
    ]  # fmt: skip
    return pick_by_subject(
        candidates, subject=inbound.subject, answers_something=bool(refs), now=now
    )


async def get_conversation(
    session: AsyncSession, *, tenant_id: str, conversation_id: str
) -> Conversation:
    return await get_scoped(
        session, Conversation, tenant_id=tenant_id, id=conversation_id, label="conversation"
    )


# WhatsApp's customer-service window: free text may be sent until this long after the
# customer's last message; after it only an approved template (the adapter enforces it).
WHATSAPP_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class WindowState:
    channel_account_id: str | None
    last_inbound_at: datetime | None
    closes_at: datetime | None
    open: bool


async def whatsapp_window(
    session: AsyncSession, *, tenant_id: str, conversation_id: str, now: datetime
) -> WindowState:
    """Whether an agent may answer this conversation on WhatsApp with free text now."""
    conversation = await get_conversation(
        session, tenant_id=tenant_id, conversation_id=conversation_id
    )
    found = await last_inbound(
        session, tenant_id=tenant_id, contact_id=conversation.contact_id, channel="whatsapp"
    )
    if found is None:
        return WindowState(None, None, None, False)
    account_id, last = found
    closes = last + WHATSAPP_WINDOW
    return WindowState(account_id, last, closes, as_utc(now) < closes)


async def last_inbound(
    session: AsyncSession,
    *,
    tenant_id: str,
    contact_id: str,
    channel: str,
    channel_account_id: str | None = None,
) -> tuple[str | None, datetime] | None:
    """The channel account and time of the contact's latest message to us on ``channel``
    (on one account when given), or None."""
    stmt = select(Message.channel_account_id, Message.created_at).where(
        Message.tenant_id == tenant_id,
        Message.contact_id == contact_id,
        Message.channel == channel,
        Message.direction == "inbound",
    )
    if channel_account_id is not None:
        stmt = stmt.where(Message.channel_account_id == channel_account_id)
    row = (
        await session.execute(stmt.order_by(Message.created_at.desc(), Message.id.desc()).limit(1))
    ).first()
    return (row[0], as_utc(row[1])) if row is not None else None


async def list_conversations(
    session: AsyncSession,
    *,
    tenant_id: str,
    limit: int,
    cursor: str | None,
    status: str | None = None,
    contact_id: str | None = None,
    scope: AgentScope | None = None,
) -> Slice[Conversation]:
    stmt = scoping.restrict(select(Conversation).where(Conversation.tenant_id == tenant_id), scope)
    if status:
        stmt = stmt.where(Conversation.status == status)
    if contact_id:
        stmt = stmt.where(Conversation.contact_id == contact_id)
    return await paginate(session, stmt, Conversation.id, limit=limit, cursor=cursor)


async def update_conversation(
    session: AsyncSession,
    *,
    tenant_id: str,
    conversation_id: str,
    status: str | None = None,
    tags: list[str] | None = None,
    subject: str | None = None,
    now: datetime | None = None,
) -> Conversation:
    conv = await get_conversation(session, tenant_id=tenant_id, conversation_id=conversation_id)
    now = now or utcnow()
    changes: dict[str, object] = {}
    if subject is not None and subject != conv.subject:
        conv.subject = subject
        changes["subject"] = subject
    if tags is not None and tags != conv.tags:
        conv.tags = list(dict.fromkeys(tags))
        changes["tags"] = conv.tags
    if status is not None and status != conv.status:
        conv.status = status
        changes["status"] = status
        if status == "closed":
            conv.closed_at = now
            await _end_open_interactions(session, conversation=conv, now=now)
        else:
            conv.closed_at = None
    if changes:
        outbox.record(
            session,
            ConversationUpdated(tenant_id=tenant_id, conversation_id=conv.id, changes=changes),
        )
        if changes.get("status") == "closed":
            outbox.record(session, ConversationClosed(tenant_id=tenant_id, conversation_id=conv.id))
    return conv


async def _end_open_interactions(
    session: AsyncSession, *, conversation: Conversation, now: datetime
) -> None:
    rows = (
        await session.scalars(
            select(Interaction).where(
                Interaction.tenant_id == conversation.tenant_id,
                Interaction.conversation_id == conversation.id,
                Interaction.ended_at.is_(None),
            )
        )
    ).all()
    for interaction in rows:
        interaction.ended_at = now
        outbox.record(
            session,
            InteractionUpdated(
                tenant_id=conversation.tenant_id,
                interaction_id=interaction.id,
                changes={"ended_at": now.isoformat()},
            ),
        )


async def list_messages(
    session: AsyncSession,
    *,
    tenant_id: str,
    conversation_id: str,
    limit: int,
    cursor: str | None,
) -> Slice[Message]:
    await get_conversation(session, tenant_id=tenant_id, conversation_id=conversation_id)
    stmt = select(Message).where(
        Message.tenant_id == tenant_id, Message.conversation_id == conversation_id
    )
    return await paginate(session, stmt, Message.id, limit=limit, cursor=cursor)


async def get_message(session: AsyncSession, *, tenant_id: str, message_id: str) -> Message:
    return await get_scoped(session, Message, tenant_id=tenant_id, id=message_id, label="message")


async def list_interactions(
    session: AsyncSession,
    *,
    tenant_id: str,
    limit: int,
    cursor: str | None,
    conversation_id: str | None = None,
) -> Slice[Interaction]:
    stmt = select(Interaction).where(Interaction.tenant_id == tenant_id)
    if conversation_id:
        await get_conversation(session, tenant_id=tenant_id, conversation_id=conversation_id)
        stmt = stmt.where(Interaction.conversation_id == conversation_id)
    return await paginate(session, stmt, Interaction.id, limit=limit, cursor=cursor)


async def get_interaction(
    session: AsyncSession, *, tenant_id: str, interaction_id: str
) -> Interaction:
    return await get_scoped(
        session, Interaction, tenant_id=tenant_id, id=interaction_id, label="interaction"
    )


async def email_reply_headers(session: AsyncSession, *, message: Message) -> dict[str, object]:
    """What an outbound email needs to thread under the customer's latest mail of its
    interaction: ``in_reply_to``, ``references``, ``subject``, ``reply_to`` (the address that
    mail came from) and ``auto_submitted`` for the receptionist's own answers."""
    scope = Message.interaction_id == message.interaction_id
    if message.interaction_id is None:
        scope = Message.conversation_id == message.conversation_id
    last = await session.scalar(
        select(Message)
        .where(
            Message.tenant_id == message.tenant_id,
            scope,
            Message.channel == message.channel,
            Message.channel_account_id == message.channel_account_id,
            Message.direction == "inbound",
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(1)
    )
    headers: dict[str, object] = {"auto_submitted": message.author_type == "bot"}
    if last is None:
        return headers
    meta = last.meta or {}
    references = [str(r) for r in meta.get("references") or [] if isinstance(r, str)]
    headers.update(
        in_reply_to=meta.get("message_id"),
        references=references,
        subject=meta.get("subject"),
        reply_to=meta.get("from"),
    )
    return headers
