"""The one place where settings, storage, buses, adapters and workers are wired."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from centralita.channels.base import ChannelAdapter
from centralita.channels.email.adapter import SmtpServer
from centralita.channels.ratelimit import LocalRateLimiter, RateLimiter, build_rate_limiter
from centralita.channels.registry import AdapterRegistry, default_adapters
from centralita.config import Settings
from centralita.core import log_redaction
from centralita.core.blobs import BlobStore
from centralita.core.clock import utcnow
from centralita.db.engine import make_engine, make_sessionmaker
from centralita.events.bus import EventBus, InProcessBus, RedisStreamBus
from centralita.events.outbox import session_class_with_wakeup
from centralita.events.relay import OutboxRelay
from centralita.events.subscriptions import SUBSCRIPTIONS
from centralita.realtime.hub import Hub
from centralita.routing.store import SqlRoutingStore

log = logging.getLogger(__name__)


@dataclass
class Container:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bus: EventBus
    relay: OutboxRelay
    adapters: AdapterRegistry
    blobs: BlobStore
    run_workers: bool = True
    clock: Callable[[], datetime] = utcnow  # tests fix it; everything time-based asks it
    # per-account sending pace (channels.ratelimit); shared through Redis when configured
    rate_limits: RateLimiter = field(default_factory=LocalRateLimiter)
    # the ACD's state, event-sourced per tenant in SQL (routing.store)
    routing: SqlRoutingStore = field(default_factory=SqlRoutingStore)
    # this process's live fan-out to desktops and wallboards (realtime.hub)
    hub: Hub = field(default_factory=Hub)
    # today's KPI snapshots, refreshed in the background while watched (analytics.live)
    live_kpis: Any = None
    # `centralita serve` turns it on: the built-in SMTP receiver (when its port is set)
    serve_smtp: bool = False
    _smtp_receiver: Any = None
    _nlu: Any = None
    # accepted webhooks waiting to be stored (channels/inbox.py); built by build_container
    inbox: Any = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        await self.bus.start()
        if self.run_workers:
            from centralita.staff_messages.timers import run_timers

            # Ready means able to answer: load the models and train the small classifiers
            # before the server accepts its first request (it holds the GIL for a while).
            await self._warm_nlu()

            self._stopping.clear()
            self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
            if self.inbox is not None:
                # also in inline mode, slowly: rows an earlier inbox-mode run left behind
                if self.settings.ingest_mode != "inbox":
                    self.inbox.poll_seconds = 30.0
                self._tasks.append(
                    asyncio.create_task(self.inbox.run(self._stopping), name="inbox")
                )
            self._tasks.append(
                asyncio.create_task(run_timers(self, self._stopping), name="staff-message-timers")
            )
            from centralita.channels.mail_inbound import run_imap_poller
            from centralita.routing.runtime import run_routing_timers

            self._tasks.append(
                asyncio.create_task(run_routing_timers(self, self._stopping), name="routing-timers")
            )

            self._tasks.append(
                asyncio.create_task(run_imap_poller(self, self._stopping), name="imap-poller")
            )
            from centralita.campaigns.runner import run_campaign_runner

            self._tasks.append(
                asyncio.create_task(
                    run_campaign_runner(self, self._stopping), name="campaign-runner"
                )
            )
            from centralita.privacy.jobs import run_privacy_jobs

            self._tasks.append(
                asyncio.create_task(run_privacy_jobs(self, self._stopping), name="privacy-daily")
            )
            from centralita.webhooks.sender import run_webhook_sender

            self._tasks.append(
                asyncio.create_task(run_webhook_sender(self, self._stopping), name="webhook-sender")
            )
            from centralita.idempotency.cleanup import run_idempotency_purge

            self._tasks.append(
                asyncio.create_task(
                    run_idempotency_purge(self, self._stopping), name="idempotency-purge"
                )
            )
        if self.serve_smtp and self.settings.smtp_receiver_port:
            from centralita.channels.mail_inbound import SmtpReceiver

            self._smtp_receiver = SmtpReceiver(self)
            await self._smtp_receiver.start(
                self.settings.smtp_receiver_host, self.settings.smtp_receiver_port
            )

    def nlu(self) -> Any:
        """The NLU engine (``receptionist.nlu.result.NluEngine``), built on first use."""
        if self._nlu is None:
            from centralita.receptionist.nlu.engines import build_engine

            self._nlu = build_engine(self.settings)
        return self._nlu

    async def _warm_nlu(self) -> None:
        """Load models and train the small classifiers in a thread before the first caller."""
        try:
            await asyncio.to_thread(_warm, self.nlu())
        except Exception:  # the first real turn will try again and report it
            log.exception("NLU warm-up failed")

    async def stop(self) -> None:
        if self._smtp_receiver is not None:
            await self._smtp_receiver.stop()
            self._smtp_receiver = None
        self._stopping.set()
        if self.live_kpis is not None:
            await self.live_kpis.close()
        self.relay.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.bus.stop()
        await self.rate_limits.close()
        await self.engine.dispose()


def _warm(engine: Any) -> None:
    from centralita.receptionist.nlu.result import NluContext

    engine.analyse("Hola, quería pedir cita para mañana", NluContext(now=utcnow()))


def build_container(
    settings: Settings,
    *,
    bus: EventBus | None = None,
    adapters: dict[str, ChannelAdapter] | None = None,
    run_workers: bool = True,
    subscribe: bool = True,
) -> Container:
    log_redaction.install(
        s.get_secret_value()
        for s in (settings.secret_key, settings.smtp_password, settings.llm_api_key,
                  settings.metrics_token)
    )  # fmt: skip
    engine = make_engine(settings.database_url)
    relay_holder: list[OutboxRelay] = []

    def wake() -> None:
        if relay_holder:
            relay_holder[0].wake()

    sessions = make_sessionmaker(engine, sync_session_class=session_class_with_wakeup(wake))
    if bus is None:
        bus = (
            RedisStreamBus(settings.redis_url, require_aof=settings.redis_require_aof)
            if settings.redis_url
            else InProcessBus()
        )
    relay = OutboxRelay(sessions, bus, interval=settings.relay_interval_seconds)
    relay_holder.append(relay)
    container = Container(
        settings=settings,
        engine=engine,
        sessions=sessions,
        bus=bus,
        relay=relay,
        adapters=AdapterRegistry(
            adapters
            or default_adapters(
                public_base_url=settings.public_base_url, smtp=_smtp_server(settings)
            )
        ),
        blobs=BlobStore(settings.data_dir / "files"),
        run_workers=run_workers,
        rate_limits=build_rate_limiter(settings.redis_url),
    )
    from centralita.channels.inbox import InboxProcessor

    container.inbox = InboxProcessor(
        sessions,
        container.adapters,
        blobs=container.blobs,
        clock=lambda: container.clock(),
        poll_seconds=settings.inbox_poll_seconds,
        account_cache_seconds=settings.inbox_account_cache_seconds,
    )
    if subscribe:
        # A web process on the Redis bus (`serve --no-workers`) leaves the worker groups to
        # the `centralita worker` processes and only fans events out to its own sockets; with
        # the in-process bus, whoever drains the relay handles them (tests, one process).
        if run_workers or not isinstance(bus, RedisStreamBus):
            for group, names, factory in SUBSCRIPTIONS:
                bus.subscribe(group, names, factory(container))
        container.hub.attach(bus)
    return container


def _smtp_server(settings: Settings) -> SmtpServer:
    """The process-wide outgoing mail server, for email accounts that name none."""
    return SmtpServer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value(),
        starttls=settings.smtp_starttls,
    )
