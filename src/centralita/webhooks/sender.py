"""The webhook sender: claims due deliveries, posts them signed, records each attempt.

A claim is a short transaction (``SKIP LOCKED`` on PostgreSQL, then a conditional update that
leases the row), so several workers never send one delivery at once and a crashed worker's
rows come back when their lease ends. Each delivery then runs in its own task with no
transaction open, under a total time limit: a receiver that hangs holds its slots for at
most ``webhook_timeout_seconds``, and one webhook gets at most a quarter of the
``webhook_concurrency`` slots, so deliveries to the others keep flowing. The outcome is
written in another short transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from centralita.config import Settings
from centralita.core.clock import utcnow
from centralita.core.ids import new_id
from centralita.events import outbox
from centralita.webhooks import backoff, signing
from centralita.webhooks import service as webhooks_service
from centralita.webhooks.events import WebhookDeliveryDied
from centralita.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from centralita.webhooks.pinned import post_pinned
from centralita.webhooks.resolve import Resolver, policy_from, resolve
from centralita.webhooks.ssrf import UnsafeUrl

if TYPE_CHECKING:
    from centralita.bootstrap import Container

log = logging.getLogger(__name__)

USER_AGENT = "Centralita-Webhooks/1"
EXCERPT_BYTES = 500
SHUTDOWN_GRACE = 5.0
_DUE = ("pending", "failed")


@dataclass(frozen=True)
class _Job:
    delivery_id: str
    tenant_id: str
    webhook_id: str
    url: str
    secrets: tuple[str, ...]
    body: bytes
    event_id: str
    event_name: str
    attempt: int


@dataclass(frozen=True)
class _Outcome:
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    excerpt: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


def encode_body(payload: dict[str, object]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class WebhookSender:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        resolver: Resolver = resolve,
        clock: Callable[[], datetime] = utcnow,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._sessions = sessions
        self._policy = policy_from(settings)
        self._timeout = settings.webhook_timeout_seconds
        self._concurrency = settings.webhook_concurrency
        self._tick = settings.webhook_tick_seconds
        # longer than any attempt can take, so a lease only ends early if its worker died
        self._lease = timedelta(seconds=self._timeout + 60)
        self._resolver = resolver
        self._clock = clock
        self._jitter = jitter
        self._inflight: set[asyncio.Task[bool]] = set()
        # A slow receiver gets a few slots at most, so that the others keep flowing.
        self._per_webhook = max(1, self._concurrency // 4)
        self._busy: Counter[str] = Counter()  # attempts in flight per webhook

    # ---- driving ---------------------------------------------------------------------------

    async def dispatch(self, now: datetime | None = None) -> list[asyncio.Task[bool]]:
        """Claim as many due deliveries as there are free slots and start sending them.

        ``now`` fixes the time of the claim and of the outcome (tests drive retries with it)."""
        free = self._concurrency - len(self._inflight)
        if free <= 0:
            return []
        jobs = await self._claim(now or self._clock(), free)
        tasks = []
        for job in jobs:
            task = asyncio.create_task(self._deliver(job, now), name=f"webhook:{job.delivery_id}")
            self._inflight.add(task)
            self._busy[job.webhook_id] += 1
            task.add_done_callback(functools.partial(self._done, job.webhook_id))
            tasks.append(task)
        return tasks

    def _done(self, webhook_id: str, task: asyncio.Task[bool]) -> None:
        self._inflight.discard(task)
        self._busy[webhook_id] -= 1
        if self._busy[webhook_id] <= 0:
            del self._busy[webhook_id]

    async def run_once(self, now: datetime | None = None) -> int:
        """Send what is due at ``now`` and wait for the outcomes; returns how many succeeded."""
        results = await asyncio.gather(*await self.dispatch(now))
        return sum(results)

    async def run(self, stop_event: asyncio.Event) -> None:
        last_error = ""
        try:
            while not stop_event.is_set():
                try:
                    await self.dispatch()
                    last_error = ""
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    if error != last_error:
                        log.exception("webhook sender round failed; retrying")
                    last_error = error
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop_event.wait(), timeout=self._tick)
        finally:
            await self._wind_down()

    async def _wind_down(self) -> None:
        """Let attempts in flight finish and be recorded (each is bounded by the time limit,
        and cancelling one while it writes its outcome would leave a transaction open), then
        cancel what is left: those are retried once their lease ends."""
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=min(self._timeout, SHUTDOWN_GRACE))
        for task in list(self._inflight):
            task.cancel()
        for task in list(self._inflight):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # ---- claim and finish: short transactions --------------------------------------------

    async def _claim(self, now: datetime, limit: int) -> list[_Job]:
        D, S = WebhookDelivery, WebhookSubscription
        async with self._sessions() as session, session.begin():
            stmt = (
                select(D.id, D.subscription_id)
                .join(S, S.id == D.subscription_id)
                .where(D.status.in_(_DUE), D.next_attempt_at <= now, S.enabled.is_(True))
                .order_by(D.next_attempt_at)
                .limit(limit * 4)  # room to skip webhooks that already have their share
            )
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True, of=D)
            taken = Counter(self._busy)
            jobs: list[_Job] = []
            for delivery_id, webhook_id in (await session.execute(stmt)).all():
                if len(jobs) >= limit:
                    break
                if taken[webhook_id] >= self._per_webhook:
                    continue
                job = await self._lease_one(session, delivery_id, now)
                if job is not None:
                    jobs.append(job)
                    taken[webhook_id] += 1
            return jobs

    async def _lease_one(
        self, session: AsyncSession, delivery_id: str, now: datetime
    ) -> _Job | None:
        D = WebhookDelivery
        result = await session.execute(
            update(D)
            .where(D.id == delivery_id, D.status.in_(_DUE), D.next_attempt_at <= now)
            .values(attempts=D.attempts + 1, next_attempt_at=now + self._lease, last_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return None  # another worker took it
        delivery = await session.get(D, delivery_id, populate_existing=True)
        subscription = (
            await session.get(WebhookSubscription, delivery.subscription_id) if delivery else None
        )
        if delivery is None or subscription is None:
            return None
        if now > delivery.deadline:
            # Due for so long (a disabled webhook, workers down) that retrying is pointless.
            self._give_up(session, delivery, "not sent: past the three-day retry window")
            return None
        return _Job(
            delivery_id=delivery.id,
            tenant_id=delivery.tenant_id,
            webhook_id=subscription.id,
            url=subscription.url,
            secrets=tuple(webhooks_service.signing_secrets(subscription, now)),
            body=encode_body(delivery.payload),
            event_id=delivery.event_id,
            event_name=delivery.event_name,
            attempt=delivery.attempts,
        )

    def _give_up(self, session: AsyncSession, delivery: WebhookDelivery, error: str | None) -> None:
        delivery.status = "dead"
        delivery.next_attempt_at = None
        if error is not None:
            delivery.last_error = error
        outbox.record(
            session,
            WebhookDeliveryDied(
                tenant_id=delivery.tenant_id,
                webhook_id=delivery.subscription_id,
                delivery_id=delivery.id,
                event_id=delivery.event_id,
                attempts=delivery.attempts,
                last_error=delivery.last_error,
            ),
        )

    async def _finish(self, job: _Job, outcome: _Outcome, now: datetime) -> None:
        async with self._sessions() as session, session.begin():
            delivery = await session.scalar(
                select(WebhookDelivery)
                .where(WebhookDelivery.id == job.delivery_id)
                .with_for_update()
            )
            if delivery is None:
                return  # the webhook was deleted meanwhile
            session.add(
                WebhookAttempt(
                    id=new_id("wha"),
                    tenant_id=job.tenant_id,
                    delivery_id=delivery.id,
                    started_at=outcome.started_at,
                    duration_ms=outcome.duration_ms,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    response_excerpt=outcome.excerpt,
                )
            )
            delivery.last_status_code = outcome.status_code
            if outcome.succeeded:
                delivery.status = "succeeded"
                delivery.succeeded_at = now
                delivery.next_attempt_at = None
                delivery.last_error = None
                return
            delivery.last_error = outcome.error or f"HTTP {outcome.status_code}"
            if delivery.status not in _DUE or delivery.attempts != job.attempt:
                return  # replayed while this attempt ran: the replay's schedule stands
            retry_at = backoff.next_attempt(
                delivery.attempts, now=now, deadline=delivery.deadline, jitter=self._jitter()
            )
            if retry_at is None:
                self._give_up(session, delivery, None)
            else:
                delivery.status = "failed"
                delivery.next_attempt_at = retry_at

    # ---- the HTTP attempt: no transaction open -------------------------------------------

    async def _deliver(self, job: _Job, now: datetime | None) -> bool:
        outcome = await self._attempt(job)
        if not outcome.succeeded:
            log.info("webhook %s to %s failed: %s", job.event_id, job.url, outcome.error)
        try:
            await self._finish(job, outcome, now or self._clock())
        except Exception:
            # The lease runs out and the delivery is tried again: at least once, never lost.
            log.exception("recording webhook delivery %s failed", job.delivery_id)
            return False
        return outcome.succeeded

    async def _attempt(self, job: _Job) -> _Outcome:
        started_at = utcnow()
        start = time.monotonic()
        status_code: int | None = None
        excerpt: str | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(self._timeout):
                status_code, excerpt = await self._post(job)
        except TimeoutError:
            error = f"no answer within {self._timeout:g}s"
        except UnsafeUrl as exc:
            error = f"refused: {exc}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except Exception as exc:  # OSError, httpx.InvalidURL...: the receiver's problem to log
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if error is None and status_code is not None and not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
        duration_ms = int((time.monotonic() - start) * 1000)
        return _Outcome(started_at, duration_ms, status_code, error, excerpt)

    async def _post(self, job: _Job) -> tuple[int, str]:
        """POST to the address the SSRF check approved, keeping the name for Host and TLS."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            signing.HEADER: signing.sign(job.secrets, int(time.time()), job.body),
            "Centralita-Event-Id": job.event_id,
            "Centralita-Event-Type": job.event_name,
            "Centralita-Delivery-Id": job.delivery_id,
            "Centralita-Delivery-Attempt": str(job.attempt),
        }
        return await post_pinned(
            job.url,
            job.body,
            headers,
            policy=self._policy,
            io_timeout=self._timeout,
            excerpt_bytes=EXCERPT_BYTES,
            resolver=self._resolver,
        )


async def run_webhook_sender(container: Container, stop_event: asyncio.Event) -> None:
    """The worker ``bootstrap`` starts: sends due deliveries until ``stop_event`` is set."""
    sender = WebhookSender(container.sessions, container.settings, clock=container.clock)
    await sender.run(stop_event)
