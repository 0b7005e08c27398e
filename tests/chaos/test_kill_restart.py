"""SIGKILL the real server around ingress: nothing acknowledged with a 2xx may be lost.

Acceptance: "Killing the server (SIGKILL) right after a 2xx on ingress loses nothing: after
restart the message is stored and its events are relayed."
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from centralita.conversations.models import Message
from centralita.events.models import OutboxEvent
from tests.conftest import BACKENDS, PG_HOST, need_service
from tests.simulator_client import simulator_request
from tests.support.live_server import (
    ServerProcess,
    SimulatorTenant,
    create_database,
    drop_database,
    seed_tenant,
)

pytestmark = pytest.mark.slow

KILLS = 3  # per backend
BURST = 40


@dataclass(frozen=True)
class Live:
    url: str
    data_dir: Path
    tenant: SimulatorTenant

    def server(self, **kwargs: object) -> ServerProcess:
        return ServerProcess(self.url, self.data_dir, **kwargs).wait_ready()  # type: ignore[arg-type]


@pytest.fixture(params=BACKENDS)
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    if request.param == "postgresql":
        need_service("PostgreSQL", PG_HOST, 5432)
    url = create_database(request.param, tmp_path)
    try:
        yield Live(url, tmp_path, seed_tenant(url, tmp_path))
    finally:
        drop_database(url)


async def post(
    client: httpx.AsyncClient, server: ServerProcess, tenant: SimulatorTenant, msg_id: str, n: int
) -> bool:
    """One signed simulator message; True when the server acknowledged it with a 2xx."""
    # Mostly distinct customers, and a few who write again and again.
    value = f"3460{n % 3:07d}" if n % 4 == 0 else f"3461{n:07d}"
    body, headers = simulator_request(tenant.secret, text=f"hola {n}", value=value, msg_id=msg_id)
    try:
        r = await client.post(
            f"{server.base_url}/hooks/{tenant.account_id}", content=body, headers=headers
        )
    except httpx.HTTPError:
        return False
    assert r.status_code < 300 or r.status_code >= 500, r.text  # never a 4xx for a good post
    return r.is_success


async def stored(url: str) -> tuple[Counter[str], list[OutboxEvent]]:
    """Customers' messages by provider id (the receptionist's replies aside), and every
    outbox row."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(Message.provider_message_id, func.count())
                .where(Message.direction == "inbound")
                .group_by(Message.provider_message_id)
            )
            messages = Counter({pid: n for pid, n in rows})
        async with engine.connect() as conn:
            events = list((await conn.execute(select(OutboxEvent))).all())
    finally:
        await engine.dispose()
    return messages, events  # type: ignore[return-value]


async def wait_until_relayed(url: str, patience: float = 20) -> list[OutboxEvent]:
    deadline = time.monotonic() + patience
    while True:
        _, events = await stored(url)
        if all(e.published_at is not None for e in events):
            return events
        assert time.monotonic() < deadline, [e.name for e in events if e.published_at is None]
        await asyncio.sleep(0.1)


def received_for(events: list[OutboxEvent]) -> Counter[str]:
    """How many ``message.received`` events each message id has."""
    return Counter(e.payload["message_id"] for e in events if e.name == "message.received")


async def test_sigkill_right_after_the_2xx_loses_nothing(live: Live) -> None:
    # No workers: the relay cannot have run before the kill, so every event is left behind.
    server = live.server(workers=False)
    try:
        async with httpx.AsyncClient() as client:
            assert await post(client, server, live.tenant, "kill-1", 1)
    finally:
        server.kill()

    messages, events = await stored(live.url)
    assert messages == {"kill-1": 1}
    pending = {e.name for e in events if e.published_at is None}
    assert {"message.received", "conversation.started", "interaction.started"} <= pending

    server = live.server(relay_interval=3600)  # only the start-up round can relay them
    try:
        events = await wait_until_relayed(live.url)
    finally:
        server.stop()
    messages, _ = await stored(live.url)
    assert messages == {"kill-1": 1}
    assert len(received_for(events)) == 1


async def test_kills_at_random_points_of_a_burst_lose_no_acknowledged_message(
    live: Live,
) -> None:
    seed = int(os.environ.get("CHAOS_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    acked: set[str] = set()
    unacked: list[tuple[str, int]] = []
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        for kill in range(KILLS):
            server = live.server(relay_interval=0.2)
            # Kill right after the k-th 2xx of the burst, sometimes a few milliseconds later
            # (mid-transaction, mid-relay round): wherever it lands, 2xx means stored.
            kill_after, extra_delay = rng.randrange(1, BURST // 2), rng.choice([0, 0.005, 0.02])
            enough = asyncio.Event()
            oks = 0

            async def one(
                msg_id: str,
                n: int,
                server: ServerProcess = server,
                kill_after: int = kill_after,
                enough: asyncio.Event = enough,
            ) -> bool:
                nonlocal oks
                ok = await post(client, server, live.tenant, msg_id, n)
                oks += ok
                if oks >= kill_after:
                    enough.set()
                return ok

            ids = [(f"burst-{kill}-{i}", kill * BURST + i) for i in range(BURST)]
            tasks = [asyncio.create_task(one(m, n)) for m, n in ids]
            await asyncio.wait_for(enough.wait(), timeout=30)
            if extra_delay:
                await asyncio.sleep(extra_delay)
            server.kill()
            results = await asyncio.gather(*tasks)
            acked |= {m for (m, _), ok in zip(ids, results, strict=True) if ok}
            unacked += [i for i, ok in zip(ids, results, strict=True) if not ok]
            # Every message that got a 2xx is already durable, before any restart.
            messages, _ = await stored(live.url)
            assert acked <= set(messages), f"seed {seed}: lost {acked - set(messages)}"

        server = live.server(relay_interval=0.2)
        try:
            # The provider retries what it got no 2xx for; redeliveries must not duplicate.
            retried = await asyncio.gather(
                *(post(client, server, live.tenant, m, n) for m, n in unacked)
            )
            assert all(retried)
            events = await wait_until_relayed(live.url)
        finally:
            server.stop()

    assert unacked, f"seed {seed}: the kills should land mid-burst"
    messages, _ = await stored(live.url)
    assert len(messages) == KILLS * BURST
    assert set(messages) == acked | {m for m, _ in unacked}, f"seed {seed}"
    assert set(messages.values()) == {1}, f"seed {seed}: a message was stored twice"
    # One message.received per message, and all of them relayed after the restarts.
    assert received_for(events) == Counter({m: 1 for m in received_for(events)})
    assert len(received_for(events)) == KILLS * BURST
