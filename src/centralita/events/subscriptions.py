"""The one table of who reacts to which event.

Each row: (group, event names, factory). The factory receives the container and returns the
async handler. A group gets each event once across all processes (see ``events.bus``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from centralita.events.bus import Handler

if TYPE_CHECKING:
    from centralita.bootstrap import Container

HandlerFactory = Callable[["Container"], Handler]


def _delivery(container: Container) -> Handler:
    from centralita.conversations.handlers import deliver_outbound

    async def handle(envelope):  # type: ignore[no-untyped-def]
        await deliver_outbound(container, envelope)

    return handle


def _staff_messages(container: Container) -> Handler:
    from centralita.staff_messages.delivery import deliver_staff_message

    async def handle(envelope):  # type: ignore[no-untyped-def]
        await deliver_staff_message(container, envelope)

    return handle


def _receptionist(container: Container) -> Handler:
    from centralita.receptionist.runtime import handle_message_received

    async def handle(envelope):  # type: ignore[no-untyped-def]
        await handle_message_received(container, envelope)

    return handle


def _media(container: Container) -> Handler:
    from centralita.conversations.media import fetch_inbound_media

    async def handle(envelope):  # type: ignore[no-untyped-def]
        await fetch_inbound_media(container, envelope)

    return handle


def _routing(container: Container) -> Handler:
    from centralita.routing.runtime import handle_event

    async def handle(envelope):  # type: ignore[no-untyped-def]
        await handle_event(container, envelope)

    return handle


def _voice_connect(container: Container) -> Handler:
    from centralita.routing.voice import connect_assigned_call

    async def handle(envelope):  # type: ignore[no-untyped-def]
        await connect_assigned_call(container, envelope)

    return handle


def _surveys(container: Container) -> Handler:
    from centralita.surveys.service import handle_event

    async def handle(envelope):  # type: ignore[no-untyped-def]
        await handle_event(container, envelope)

    return handle


def _webhooks(container: Container) -> Handler:
    from centralita.webhooks.handlers import enqueue_deliveries

    async def handle(envelope):  # type: ignore[no-untyped-def]
        await enqueue_deliveries(container, envelope)

    return handle


def _public_sources() -> frozenset[str]:
    from centralita.events.catalog import SOURCE_NAMES

    return SOURCE_NAMES


SUBSCRIPTIONS: list[tuple[str, frozenset[str], HandlerFactory]] = [
    ("receptionist", frozenset({"message.received"}), _receptionist),
    # after the receptionist: in-process, a slow or failing download must not delay the answer
    ("media", frozenset({"message.received"}), _media),
    ("delivery", frozenset({"message.queued"}), _delivery),
    (
        "routing",
        frozenset(
            {
                "conversation.handoff_requested",
                "tenant.config_applied",
                "conversation.closed",
                "interaction.ended",
            }
        ),
        _routing,
    ),
    # a caller waiting in the provider's queue is connected to the agent the ACD assigned
    ("voice_connect", frozenset({"routing.assigned"}), _voice_connect),
    (
        "staff_messages",
        frozenset({"staff_message.created", "staff_message.escalated"}),
        _staff_messages,
    ),
    # a closed conversation or an ended call sends the tenant's satisfaction survey
    ("surveys", frozenset({"conversation.closed", "interaction.ended"}), _surveys),
    # every event of the public catalog becomes deliveries to the tenant's webhooks
    ("webhooks", _public_sources(), _webhooks),
]
