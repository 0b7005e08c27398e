"""The daily privacy job: destroy erasures whose blocking period is over, apply retention.

``Container.start`` runs it with the other periodic workers. Several worker processes may run
it at once: both steps are idempotent (a destroyed erasure and a scrubbed row are left alone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from centralita.privacy import service
from centralita.privacy.seal import SealedStore
from centralita.tenants import service as tenants_service

if TYPE_CHECKING:
    from centralita.bootstrap import Container

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DailyRun:
    destroyed: int
    transcripts: int
    recordings: int


async def run_daily(
    sessions: async_sessionmaker[AsyncSession], *, sealed: SealedStore, now: datetime
) -> DailyRun:
    """One pass; each tenant's retention commits on its own, so one bad tenant file does
    not stop the others."""
    async with sessions() as session, session.begin():
        destroyed = await service.destroy_due(session, sealed=sealed, now=now)
    async with sessions() as session:
        tenant_ids = [t.id for t in await tenants_service.list_tenants(session)]
    transcripts = recordings = 0
    for tenant_id in tenant_ids:
        try:
            async with sessions() as session, session.begin():
                result = await service.run_retention(session, tenant_id=tenant_id, now=now)
        except Exception:
            log.exception("retention failed for tenant %s", tenant_id)
            continue
        transcripts += result.transcripts
        recordings += result.recordings
    return DailyRun(destroyed, transcripts, recordings)


async def run_privacy_jobs(container: Container, stopping: asyncio.Event) -> None:
    """The background loop: once at start, then every ``privacy_job_hours``."""
    sealed = service.sealed_store(
        container.settings.data_dir, container.settings.secret_key.get_secret_value()
    )
    interval = container.settings.privacy_job_hours * 3600
    while not stopping.is_set():
        try:
            await run_daily(container.sessions, sealed=sealed, now=container.clock())
        except Exception:  # a database hiccup: try again next round
            log.exception("privacy job failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), interval)
