"""The webhooks subscriber: every relayed event in the public catalog becomes deliveries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from centralita.events.envelope import Envelope
from centralita.webhooks import service as webhooks_service

if TYPE_CHECKING:
    from centralita.bootstrap import Container


async def enqueue_deliveries(container: Container, envelope: Envelope) -> None:
    """Write the deliveries in their own transaction; the sender picks them up."""
    async with container.sessions() as session, session.begin():
        await webhooks_service.enqueue(session, envelope, now=container.clock())
