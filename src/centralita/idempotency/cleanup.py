"""The periodic purge of idempotency keys past their retention (wired in bootstrap)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from centralita.idempotency import service

if TYPE_CHECKING:
    from centralita.bootstrap import Container

log = logging.getLogger(__name__)
BATCH = 1000


async def purge_once(container: Container) -> int:
    """Delete every expired key, a batch per transaction; returns how many went."""
    total = 0
    while True:
        async with container.sessions() as session, session.begin():
            gone = await service.purge_expired(session, now=container.clock(), batch=BATCH)
        total += gone
        if gone < BATCH:
            return total


async def run_idempotency_purge(container: Container, stopping: asyncio.Event) -> None:
    interval = container.settings.idempotency_purge_seconds
    while not stopping.is_set():
        try:
            gone = await purge_once(container)
            if gone:
                log.info("purged %d expired idempotency keys", gone)
        except Exception:  # a database hiccup: try again next round
            log.exception("idempotency purge failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), interval)
