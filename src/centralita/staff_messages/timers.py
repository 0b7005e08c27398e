"""The periodic work of staff messages: escalate overdue ones, retry failed deliveries."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from centralita.core.clock import utcnow
from centralita.staff_messages import delivery as staff_messages_delivery
from centralita.staff_messages import service as staff_messages_service

if TYPE_CHECKING:
    from centralita.bootstrap import Container

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 15.0


async def run_timers_once(container: Container) -> tuple[int, int]:
    """One round: (messages escalated, deliveries retried successfully)."""
    async with container.sessions() as session, session.begin():
        escalated = await staff_messages_service.escalate_due(session, now=utcnow())
    retried = await staff_messages_delivery.retry_failed(container, utcnow())
    return escalated, retried


async def run_timers(
    container: Container, stop_event: asyncio.Event, *, interval: float = INTERVAL_SECONDS
) -> None:
    """Every ``interval`` seconds until ``stop_event`` is set; a failed round is logged and
    the next one tries again."""
    last_error = ""
    while not stop_event.is_set():
        try:
            await run_timers_once(container)
            last_error = ""
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The same failure every round (the database down, say) is logged in full once.
            error = f"{type(exc).__name__}: {exc}"
            if error != last_error:
                log.exception("staff message timers failed; retrying every %ss", interval)
            last_error = error
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), timeout=interval)
