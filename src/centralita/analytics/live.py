"""Today's reports as wallboards read them: a snapshot per process, refreshed in the background.

A supervisor's dashboard asks for today's figures every few seconds, and every supervisor of
a tenant asks for the same ones. Computing them costs tens of milliseconds on a busy tenant
(each interaction of the day becomes a record); handing out a snapshot costs microseconds.
So each (tenant, grouping) keeps its latest report here:

* younger than ``refresh`` seconds: served as it is; once it is half that age, the request
  that notices starts one refresh in the background, its CPU work in a worker thread
  (``service.OFFLOAD``) so that requests on the event loop are not held behind it; a watched
  snapshot is thus replaced before it goes stale, and no request waits;
* older, while a refresh is under way: still served (never older than ``max_stale``);
* otherwise (the first request, a snapshot nobody watched for a while, another local day):
  the request waits for a computation, shared with any other request waiting for it.

While someone is watching, the figures are at most ``refresh`` seconds behind (the report's
``end`` says as of when), as peers' real-time dashboards are; a request after a quiet spell
gets exact figures. Snapshots nobody asked for in ``forget`` seconds are dropped. Everything
else (history, filters, drill-down, CSV) computes directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from centralita.analytics import service
from centralita.analytics.service import Report

if TYPE_CHECKING:
    from centralita.bootstrap import Container

log = logging.getLogger(__name__)
Key = tuple[str, str | None]  # (tenant id, group by)


@dataclass
class _Snapshot:
    report: Report
    computed_at: datetime
    asked_at: datetime
    refreshing: asyncio.Task[Report] | None = None


@dataclass
class LiveReports:
    sessions: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    refresh: timedelta = timedelta(seconds=5)
    max_stale: timedelta = timedelta(seconds=60)
    forget: timedelta = timedelta(minutes=10)
    computations: int = 0  # how many reports were computed (tests and the benchmark read it)
    _snapshots: dict[Key, _Snapshot] = field(default_factory=dict)
    _pending: dict[Key, asyncio.Task[Report]] = field(default_factory=dict)

    async def today(
        self, tenant_id: str, group_by: str | None = None, *, session: AsyncSession | None = None
    ) -> Report:
        """The snapshot, or a fresh computation. A caller inside a transaction passes its
        ``session``, which computes it then (SQLite allows one writer: a second session of the
        same request would wait for the first)."""
        key = (tenant_id, group_by)
        now = self.clock()
        self._forget_unwatched(now)
        snap = self._snapshots.get(key)
        if snap is not None and self._usable(snap, now):
            age = now - snap.computed_at
            if age < self.refresh or snap.refreshing is not None:
                snap.asked_at = now
                if age >= self.refresh / 2 and snap.refreshing is None:
                    snap.refreshing = asyncio.create_task(self._compute(key, offload=True))
                    snap.refreshing.add_done_callback(functools.partial(_cleared, snap))
                return snap.report
        if session is not None:
            return await self._compute(key, offload=False, session=session)
        task = self._pending.get(key)
        if task is None:
            task = asyncio.create_task(self._compute(key, offload=False))
            self._pending[key] = task
            task.add_done_callback(lambda _t: self._pending.pop(key, None))
        return await asyncio.shield(task)

    def _usable(self, snap: _Snapshot, now: datetime) -> bool:
        if now - snap.computed_at > self.max_stale:
            return False
        # a snapshot from before local midnight is yesterday's: its range starts a day early
        return now - snap.report.start < timedelta(days=1)

    async def _compute(
        self, key: Key, *, offload: bool, session: AsyncSession | None = None
    ) -> Report:
        tenant_id, group_by = key
        token = service.OFFLOAD.set(offload)
        try:
            now = self.clock()
            if session is not None:
                report = await service.today(
                    session, tenant_id=tenant_id, now=now, group_by=group_by
                )
            else:
                async with self.sessions() as own:
                    report = await service.today(
                        own, tenant_id=tenant_id, now=now, group_by=group_by
                    )
        except Exception:
            if offload:  # a failed background refresh keeps the old snapshot; say why
                log.exception("refreshing today's KPIs for %s failed", tenant_id)
            raise
        finally:
            service.OFFLOAD.reset(token)
        self.computations += 1
        previous = self._snapshots.get(key)
        asked = previous.asked_at if offload and previous is not None else now
        self._snapshots[key] = _Snapshot(report, now, asked)
        return report

    def _forget_unwatched(self, now: datetime) -> None:
        for key, snap in list(self._snapshots.items()):
            if now - snap.asked_at > self.forget and snap.refreshing is None:
                del self._snapshots[key]

    async def close(self) -> None:
        tasks = [*self._pending.values()]
        tasks += [s.refreshing for s in self._snapshots.values() if s.refreshing is not None]
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._snapshots.clear()


def for_container(container: Container) -> LiveReports:
    """The process's snapshots, made on first use (the clock is read through the container,
    which tests replace)."""
    if container.live_kpis is None:
        container.live_kpis = LiveReports(container.sessions, lambda: container.clock())
    live: LiveReports = container.live_kpis
    return live


def _cleared(snap: _Snapshot, _task: asyncio.Task[Report]) -> None:
    task, snap.refreshing = snap.refreshing, None
    if task is not None and not task.cancelled():
        task.exception()  # retrieved: a failure was logged in _compute
