"""The ingress pipeline shared by every provider: verify, parse, store, then acknowledge.

The acknowledgement is built only after the transaction commits, so a provider never gets a
2xx for something that is not durably stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from centralita.channels import service as channels_service
from centralita.channels.base import HttpInbound, HttpOutbound
from centralita.channels.registry import AdapterRegistry
from centralita.conversations import outbound as conversations_outbound
from centralita.conversations import service as conversations_service
from centralita.conversations.service import ReceiveResult
from centralita.core.errors import NotFound
from centralita.receptionist.nlu.language import Language


@dataclass(frozen=True)
class IngressOutcome:
    response: HttpOutbound
    results: tuple[ReceiveResult, ...]


async def ingest(
    sessions: async_sessionmaker[AsyncSession],
    adapters: AdapterRegistry,
    *,
    account_id: str,
    request: HttpInbound,
) -> IngressOutcome:
    """Raises ``NotFound``, ``SignatureError``, ``MalformedRequest`` or ``InvalidInput``.

    A transaction that loses a race on a unique constraint (a concurrent redelivery, or two
    first messages from one new address) is retried once; the retry finds the winner's rows.
    """
    for attempt in (1, 2):
        try:
            return await _ingest_once(sessions, adapters, account_id=account_id, request=request)
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _ingest_once(
    sessions: async_sessionmaker[AsyncSession],
    adapters: AdapterRegistry,
    *,
    account_id: str,
    request: HttpInbound,
) -> IngressOutcome:
    async with sessions() as session, session.begin():
        target = await channels_service.get_for_ingress(session, account_id=account_id)
        account = target.account
        adapter = adapters.get(account.provider)
        if adapter is None:
            raise NotFound(f"no adapter for provider {account.provider}")
        config = channels_service.to_config(account)
        adapter.verify(request, config)
        parsed = adapter.parse(request, config)
        window = timedelta(hours=target.reopen_window_hours)
        default_language: Language = "en" if target.locale == "en" else "es"
        results = []
        for inbound in parsed.messages:
            results.append(
                await conversations_service.receive_inbound(
                    session,
                    account=config,
                    inbound=inbound,
                    reopen_window=window,
                    default_language=default_language,
                )
            )
        for status in parsed.statuses:
            await conversations_outbound.record_delivery_status(
                session, account=config, status=status
            )
    return IngressOutcome(adapter.acknowledge(parsed, config), tuple(results))
