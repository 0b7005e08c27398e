"""The ingress pipeline shared by every provider: verify, parse, store, then acknowledge.

The acknowledgement is built only after the transaction commits, so a provider never gets a
2xx for something that is not durably stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from centralita.channels import service as channels_service
from centralita.channels.base import (
    AccountConfig,
    HttpInbound,
    HttpOutbound,
    InboundMessage,
    ParsedRequest,
)
from centralita.channels.registry import AdapterRegistry
from centralita.conversations import outbound as conversations_outbound
from centralita.conversations import service as conversations_service
from centralita.conversations.service import ReceiveResult
from centralita.core.blobs import BlobStore
from centralita.core.errors import Conflict, InvalidInput, NotFound
from centralita.receptionist.nlu.language import Language


@dataclass(frozen=True)
class IngressOutcome:
    response: HttpOutbound
    results: tuple[ReceiveResult, ...]


# Answers a turn inside the webhook's transaction, for channels whose reply is the HTTP
# response itself (voice: TwiML). Given the stored results, returns what the adapter's
# ``acknowledge_spoken`` turns into that response.
Responder = Callable[[AsyncSession, Sequence[ReceiveResult]], Awaitable[Any]]


async def ingest(
    sessions: async_sessionmaker[AsyncSession],
    adapters: AdapterRegistry,
    *,
    account_id: str,
    request: HttpInbound,
    responder: Responder | None = None,
    blobs: BlobStore | None = None,
    clock: Callable[[], datetime] | None = None,
) -> IngressOutcome:
    """Raises ``NotFound``, ``SignatureError``, ``MalformedRequest`` or ``InvalidInput``.
    ``clock`` dates the stored messages that carry no provider time (pass the container's, so
    that one clock dates a whole turn: the caller's words and the answers).

    A transaction that loses a race on a unique constraint (a concurrent redelivery, or two
    first messages from one new address) is retried once; the retry finds the winner's rows.
    The race shows as an ``IntegrityError`` when both insert at once, or as a ``Conflict``
    when the winner committed between our lookup and our check that the address is free.
    """
    for attempt in (1, 2):
        try:
            return await _ingest_once(
                sessions,
                adapters,
                account_id=account_id,
                request=request,
                responder=responder,
                blobs=blobs,
                clock=clock,
            )
        except (IntegrityError, Conflict):
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _ingest_once(
    sessions: async_sessionmaker[AsyncSession],
    adapters: AdapterRegistry,
    *,
    account_id: str,
    request: HttpInbound,
    responder: Responder | None = None,
    blobs: BlobStore | None = None,
    clock: Callable[[], datetime] | None = None,
) -> IngressOutcome:
    spoken: Any = None
    async with sessions() as session, session.begin():
        target = await channels_service.get_for_ingress(session, account_id=account_id)
        account = target.account
        adapter = adapters.get(account.provider)
        if adapter is None:
            raise NotFound(f"no adapter for provider {account.provider}")
        config = channels_service.to_config(account)
        adapter.verify(request, config)
        parsed = adapter.parse(request, config)
        results = await store_parsed(
            session, target, config, parsed, blobs=blobs, now=clock() if clock else None
        )
        inline = bool(getattr(adapter, "answers_inline", lambda _: False)(config))
        if inline and responder is not None:
            # the answer commits with the message: a retried webhook finds it answered
            spoken = await responder(session, results)
    if inline:
        answer = adapter.acknowledge_spoken(parsed, config, spoken)  # type: ignore[attr-defined]
        return IngressOutcome(answer, tuple(results))
    return IngressOutcome(adapter.acknowledge(parsed, config), tuple(results))


async def store_parsed(
    session: AsyncSession,
    target: channels_service.IngressTarget,
    config: AccountConfig,
    parsed: ParsedRequest,
    *,
    blobs: BlobStore | None,
    now: datetime | None,
) -> list[ReceiveResult]:
    """Store one parsed request's messages and delivery statuses in ``session``'s
    transaction: the inline webhook and the inbox's workers (channels/inbox.py) share it."""
    window = timedelta(hours=target.reopen_window_hours)
    default_language: Language = "en" if target.locale == "en" else "es"
    results = []
    for inbound in parsed.messages:
        if inbound.attachments:
            inbound = store_attachments(inbound, tenant_id=config.tenant_id, blobs=blobs)
        results.append(
            await conversations_service.receive_inbound(
                session,
                account=config,
                inbound=inbound,
                reopen_window=window,
                default_language=default_language,
                now=now,
            )
        )
    for status in parsed.statuses:
        await conversations_outbound.record_delivery_status(session, account=config, status=status)
    return results


def store_attachments(
    inbound: InboundMessage, *, tenant_id: str, blobs: BlobStore | None
) -> InboundMessage:
    """Move the attachments' bytes into the file store; the message keeps their description.

    A file the store refuses (too large) is described with the reason instead: the customer's
    words are never lost because of what they attached.
    """
    described: list[dict[str, object]] = []
    for item in inbound.attachments:
        if blobs is None:
            described.append(
                {"filename": item.filename, "content_type": item.content_type,
                 "size": len(item.data), "error": "no file store configured"}
            )  # fmt: skip
            continue
        try:
            stored = blobs.put(
                tenant_id, item.data, content_type=item.content_type, filename=item.filename
            )
        except InvalidInput as exc:
            described.append(
                {"filename": item.filename, "content_type": item.content_type,
                 "size": len(item.data), "error": str(exc)}
            )  # fmt: skip
        else:
            described.append(stored.as_meta())
    metadata = {**inbound.metadata, "attachments": described}
    return replace(inbound, attachments=(), metadata=metadata)
