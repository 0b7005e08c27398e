"""Web chat use cases behind the widget's endpoints: the widget, visitors, what a visitor may
see, and messages left while nobody is available.

The provider folder (``channels/webchat``) holds the wire format; this module holds what needs
the database, so the folder keeps importing only ``channels.base`` and ``core``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from centralita.channels import service as channels_service
from centralita.channels.base import AccountConfig, HttpInbound
from centralita.channels.models import ChannelAccount
from centralita.channels.webchat.adapter import (
    PROVIDER,
    TOKEN_HEADER,
    WebChatAdapter,
    issue_token,
    new_visitor_id,
    visitor_from_token,
    visitor_of,
)
from centralita.channels.webchat.config import WidgetSettings, widget_settings
from centralita.contacts import merge as contacts_merge
from centralita.contacts import service as contacts_service
from centralita.contacts.models import Contact, ContactAddress
from centralita.conversations import outbound as conversations_outbound
from centralita.conversations import service as conversations_service
from centralita.conversations.models import Message
from centralita.core.addresses import normalise_address
from centralita.core.clock import as_utc
from centralita.core.errors import Conflict, InvalidInput, NotFound
from centralita.staff_messages import service as staff_messages_service
from centralita.tenants.hours import is_open
from centralita.tenants.models import Tenant

ACTOR = "webchat"
HISTORY_LIMIT = 500  # the newest messages a widget shows (and a socket looks at per poll)
_SHOWN_STATUSES = frozenset({"sent", "delivered", "read"})
_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


@dataclass(frozen=True)
class Widget:
    """One widget account and what its endpoints need of its tenant, as plain data."""

    config: AccountConfig
    settings: WidgetSettings
    tenant_name: str
    country: str | None
    languages: tuple[str, ...]
    greeting: dict[str, str]
    online: bool
    reopen_window: timedelta

    def language(self, wanted: str | None) -> str:
        code = (wanted or "").split("-")[0].lower()
        return code if code in self.languages else self.languages[0]


@dataclass(frozen=True)
class Identity:
    """What a visitor told us about themselves (the pre-chat or leave-a-message form)."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None

    def given(self) -> bool:
        return bool(self.name or self.email or self.phone)


@dataclass(frozen=True)
class ChatLine:
    """One message as the visitor's widget shows it."""

    id: str
    author: str  # contact | bot | agent
    text: str
    at: datetime
    client_id: str | None
    delivery_status: str


# ---- the widget -------------------------------------------------------------------------------


async def open_widget(
    session: AsyncSession, *, account_id: str, now: datetime, ensure_secret: bool = False
) -> Widget:
    """The enabled web chat account ``account_id``; ``NotFound`` for anything else.

    ``ensure_secret`` gives an account without a secret a random one, once: the tenant file
    need not carry one, and applying it again keeps the stored secret.
    """
    from centralita.receptionist.runtime import tenant_view

    target = await channels_service.get_for_ingress(session, account_id=account_id)
    account = target.account
    if account.provider != PROVIDER:
        raise NotFound(f"channel account {account_id} is not a web chat widget")
    if ensure_secret and not account.secret:
        await _give_secret(session, account)
    tenant = await session.get_one(Tenant, account.tenant_id)
    doc = tenant_view(tenant).doc
    settings = widget_settings(account.settings or {})
    languages = tuple(lang for lang in doc.languages if lang in ("es", "en")) or ("es",)
    greeting = dict(settings.welcome)
    if doc.profile.greeting is not None:
        for lang in languages:
            greeting.setdefault(lang, doc.profile.greeting.text(lang))
    online = not settings.offline and (
        not settings.offline_when_closed
        or is_open(doc.opening_schedule(), doc.holiday_calendar(), doc.tenant.timezone, now)
    )
    return Widget(
        config=channels_service.to_config(account),
        settings=settings,
        tenant_name=tenant.name,
        country=tenant.country,
        languages=languages,
        greeting=greeting,
        online=online,
        reopen_window=timedelta(hours=target.reopen_window_hours),
    )


async def _give_secret(session: AsyncSession, account: ChannelAccount) -> None:
    """Only if it still has none: two first visitors at once must agree on one secret."""
    await session.execute(
        update(ChannelAccount)
        .where(ChannelAccount.id == account.id, ChannelAccount.secret == "")
        .values(secret=secrets.token_urlsafe(32))
        .execution_options(synchronize_session=False)
    )
    await session.refresh(account, attribute_names=["secret"])


def visitor_token(widget: Widget, token: str | None) -> tuple[str, str]:
    """(visitor id, token): the one ``token`` proves, or a new visitor when there is none.
    A token that is present but wrong raises ``SignatureError``."""
    if token:
        return visitor_from_token(token, widget.config), token
    visitor_id = new_visitor_id()
    return visitor_id, issue_token(widget.config, visitor_id)


# ---- identity ---------------------------------------------------------------------------------


async def identify(
    session: AsyncSession, *, widget: Widget, visitor_id: str, identity: Identity
) -> str | None:
    """Attach what the visitor told us to a contact and return its id.

    An email or phone that is already a contact's address in this tenant makes the visitor
    that contact: the visitor's ``web`` address moves there (merging the visitor's own
    contact, if it had one), so agents see one timeline. The widget still shows the visitor
    only this chat (``visible_lines``). A phone is also kept as the WhatsApp id, so that a
    later WhatsApp message from it lands on the same contact.
    """
    tenant_id = widget.config.tenant_id
    wanted = _addresses(identity, widget.country)
    if not wanted and not identity.name:
        return None
    web = await contacts_service.find_by_address(
        session, tenant_id=tenant_id, kind="web", value=visitor_id
    )
    known = None
    for kind, value in wanted:
        known = await contacts_service.find_by_address(
            session, tenant_id=tenant_id, kind=kind, value=value
        )
        if known is not None:
            break
    if known is not None and web is not None and known.id != web.id:
        await contacts_merge.merge_contacts(
            session, tenant_id=tenant_id, contact_id=known.id, other_id=web.id, actor=ACTOR
        )
    elif known is not None and web is None:
        await contacts_service.add_address(
            session, tenant_id=tenant_id, contact_id=known.id, kind="web", value=visitor_id,
            actor=ACTOR,
        )  # fmt: skip
    contact = known or web
    if contact is None:
        found = await contacts_service.find_or_create_by_address(
            session, tenant_id=tenant_id, kind="web", value=visitor_id, name=identity.name,
            source="webchat", actor=ACTOR,
        )  # fmt: skip
        contact = found.contact
    await _add_free_addresses(session, contact, wanted)
    if identity.name and not contact.name:
        await contacts_service.update_contact(
            session, tenant_id=tenant_id, contact_id=contact.id, actor=ACTOR, name=identity.name
        )
    return contact.id


def _addresses(identity: Identity, region: str | None) -> list[tuple[str, str]]:
    """Normalised (kind, value) pairs, the email first; ``InvalidInput`` names the field."""
    found: list[tuple[str, str]] = []
    if identity.email:
        found.append(normalise_address("email", identity.email, field="email"))
    if identity.phone:
        _, e164 = normalise_address("phone", identity.phone, default_region=region, field="phone")
        found += [("phone", e164), ("whatsapp", e164.lstrip("+"))]
    return [(str(kind), value) for kind, value in found]


async def _add_free_addresses(
    session: AsyncSession, contact: Contact, wanted: list[tuple[str, str]]
) -> None:
    """Give the contact each address nobody has yet; one another contact owns stays theirs."""
    await session.refresh(contact, attribute_names=["addresses"])
    have = {(a.kind, a.value) for a in contact.addresses}
    for kind, value in wanted:
        if (kind, value) in have:
            continue
        try:
            async with session.begin_nested():
                await contacts_service.add_address(
                    session, tenant_id=contact.tenant_id, contact_id=contact.id, kind=kind,
                    value=value, actor=ACTOR,
                )  # fmt: skip
        except (Conflict, InvalidInput, IntegrityError):
            continue


def email_in_text(text: str) -> str | None:
    """An email address a visitor typed into the chat, if any (it joins them like the form)."""
    found = _EMAIL_IN_TEXT.search(text)
    return found.group(0) if found else None


# ---- what the visitor sees --------------------------------------------------------------------


async def visible_lines(
    session: AsyncSession, *, widget: Widget, visitor_id: str, after: str | None = None
) -> list[ChatLine]:
    """The visitor's own messages on this widget and the replies addressed to them, oldest
    first, after message id ``after``.

    Never the contact's other channels, nor another visitor's chat with the same contact (a
    visitor who typed someone else's email joins that contact for the agents, but reads only
    what they wrote and what answered them). A reply is addressed to the visitor whose web
    chat message it follows in its conversation: that is where an agent's reply goes too
    (``conversations.outbound.add_message`` answers the last inbound message).
    """
    account = widget.config
    contact_id = await session.scalar(
        select(ContactAddress.contact_id).where(
            ContactAddress.tenant_id == account.tenant_id,
            ContactAddress.kind == "web",
            ContactAddress.value == visitor_id,
        )
    )
    if contact_id is None:
        return []
    rows = (
        await session.scalars(
            select(Message)
            .where(
                Message.tenant_id == account.tenant_id,
                Message.contact_id == contact_id,
                Message.channel == "webchat",
                Message.channel_account_id == account.id,
                Message.direction.in_(("inbound", "outbound")),
                Message.kind == "text",
            )
            .order_by(Message.id.desc())
            .limit(HISTORY_LIMIT)
        )
    ).all()
    lines = _addressed_to(visitor_id, list(reversed(rows)))
    return [line for line in lines if after is None or line.id > after]


def _addressed_to(visitor_id: str, rows: list[Message]) -> list[ChatLine]:
    """Walk each conversation in order, remembering whose message the next reply answers."""
    target: dict[str, str | None] = {}
    lines: list[ChatLine] = []
    for row in rows:
        if row.direction == "inbound":
            target[row.conversation_id] = visitor_of(row.provider_message_id)
            if target[row.conversation_id] == visitor_id:
                lines.append(_line(row, "contact"))
        elif (
            target.get(row.conversation_id) == visitor_id and row.delivery_status in _SHOWN_STATUSES
        ):
            lines.append(_line(row, "agent" if row.author_type == "agent" else "bot"))
    return lines


def _line(row: Message, author: str) -> ChatLine:
    meta: dict[str, Any] = row.meta or {}
    client_id = meta.get("client_id") if author == "contact" else None
    return ChatLine(
        id=row.id,
        author=author,
        text=row.body,
        at=as_utc(row.created_at),
        client_id=client_id if isinstance(client_id, str) else None,
        delivery_status=row.delivery_status,
    )


async def mark_pushed(session: AsyncSession, *, tenant_id: str, message_ids: list[str]) -> None:
    """The visitor's socket has shown these replies: ``sent`` becomes ``delivered``."""
    if not message_ids:
        return
    rows = (
        await session.scalars(
            select(Message)
            .where(Message.tenant_id == tenant_id, Message.id.in_(message_ids))
            .with_for_update()
        )
    ).all()
    for row in rows:
        if row.delivery_status == "sent":
            await conversations_outbound.set_delivery_status(
                session, message=row, status="delivered"
            )


# ---- nobody available: leave a message --------------------------------------------------------


@dataclass(frozen=True)
class LeftMessage:
    visitor_id: str
    token: str
    message_id: str
    staff_message_id: str


async def leave_message(
    sessions: async_sessionmaker[AsyncSession],
    *,
    account_id: str,
    token: str | None,
    identity: Identity,
    client_id: str,
    text: str,
    language: str | None,
    now: datetime,
) -> LeftMessage:
    """The leave-a-message form: a message taken for staff and the visitor's words on the
    contact's timeline, in one transaction (retried once if it loses a race on a unique
    constraint, like ``channels.ingress.ingest``)."""
    for attempt in (1, 2):
        try:
            async with sessions() as session, session.begin():
                return await _leave_once(
                    session, account_id=account_id, token=token, identity=identity,
                    client_id=client_id, text=text, language=language, now=now,
                )  # fmt: skip
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _leave_once(
    session: AsyncSession,
    *,
    account_id: str,
    token: str | None,
    identity: Identity,
    client_id: str,
    text: str,
    language: str | None,
    now: datetime,
) -> LeftMessage:
    import json

    widget = await open_widget(session, account_id=account_id, now=now, ensure_secret=True)
    visitor_id, token = visitor_token(widget, token)
    if not (identity.email or identity.phone):
        raise InvalidInput.for_field("email", "give an email or a phone number to be answered")
    contact_id = await identify(session, widget=widget, visitor_id=visitor_id, identity=identity)
    adapter = WebChatAdapter()
    frame = json.dumps({"type": "message", "id": client_id, "text": text}).encode()
    request = HttpInbound("POST", "", {TOKEN_HEADER: token}, frame)
    adapter.verify(request, widget.config)
    inbound = adapter.parse(request, widget.config).messages[0]
    inbound = replace(inbound, sender_name=identity.name, metadata={
        **inbound.metadata, "offline_form": True})  # fmt: skip
    lang = widget.language(language)
    result = await conversations_service.receive_inbound(
        session, account=widget.config, inbound=inbound, reopen_window=widget.reopen_window,
        default_language="en" if lang == "en" else "es",
    )  # fmt: skip
    if result.duplicate:  # the form was sent twice: the first one took the message
        taken = (result.message.meta or {}).get("staff_message_id", "")
        return LeftMessage(visitor_id, token, result.message.id, str(taken))
    tenant = await session.get_one(Tenant, widget.config.tenant_id)
    staff_message = await staff_messages_service.take_message(
        session, tenant=tenant, conversation_id=result.conversation.id,
        contact_id=contact_id or result.message.contact_id, recipient_key=None,
        caller_name=identity.name, caller_phone=identity.phone, caller_email=identity.email,
        reason="left on the web chat while nobody was available", intent=None,
        urgency="normal", summary=inbound.text, language=lang, now=now,
    )  # fmt: skip
    result.message.meta = {**(result.message.meta or {}), "staff_message_id": staff_message.id}
    return LeftMessage(visitor_id, token, result.message.id, staff_message.id)
