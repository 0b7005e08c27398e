"""Per-account sending pace: WhatsApp's 80 messages a second, measured where it matters, at the
Graph API stand-in's arrival times; one account's backlog never slows another; the wait holds
no database lock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from centralita.bootstrap import Container
from centralita.channels.base import AccountConfig, Address, Capabilities, OutboundMessage
from centralita.channels.meta.whatsapp import WhatsAppCloudAdapter
from centralita.channels.ratelimit import (
    LocalRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    rate_for,
)
from centralita.conversations.models import Message
from tests.channels.fake_graph import FakeGraph, fake_graph
from tests.channels.test_whatsapp_cloud import (
    CUSTOMER,
    NUMBER_ID,
    TOKEN,
    _clinic,
    _messages,
    _post,
    _text,
)
from tests.channels.test_whatsapp_outbound import _conversation, _reply

OTHER_NUMBER_ID = "109876543210002"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGraph]:
    monkeypatch.setenv("TEST_WA_TOKEN", TOKEN)
    with fake_graph(NUMBER_ID, TOKEN) as server:
        yield server


@pytest.fixture
def other_graph() -> Iterator[FakeGraph]:
    with fake_graph(OTHER_NUMBER_ID, TOKEN) as server:
        yield server


def test_the_bucket_allows_a_short_burst_then_spaces_messages() -> None:
    clock = [100.0]
    limiter = LocalRateLimiter(clock=lambda: clock[0])
    waits = [limiter.reserve("chn_a", 80) for _ in range(200)]
    assert waits[:8] == [0.0] * 8  # a tenth of a second's worth at once
    assert waits[8] == pytest.approx(1 / 80)
    assert waits[-1] == pytest.approx(192 / 80)  # 200 messages: 2.4 s
    assert limiter.reserve("chn_b", 80) == 0.0  # another account is not behind them
    clock[0] += 10  # idle time does not bank more than the burst
    assert [limiter.reserve("chn_a", 80) for _ in range(9)][-1] == pytest.approx(1 / 80)
    assert limiter.reserve("chn_slow", 0.5) == 0.0 and limiter.reserve("chn_slow", 0.5) == 2.0


def test_the_rate_comes_from_the_account_or_the_provider() -> None:
    whatsapp = WhatsAppCloudAdapter.capabilities
    assert rate_for({}, whatsapp) == 80.0
    assert rate_for({"rate_per_second": 20}, whatsapp) == 20.0
    assert rate_for({"rate_per_second": True}, whatsapp) == 80.0
    assert rate_for({}, Capabilities()) is None


def _account(graph: FakeGraph, account_id: str) -> AccountConfig:
    settings = {"access_token_env": "TEST_WA_TOKEN", "graph_api_url": graph.url}
    return AccountConfig(account_id, "ten_1", "whatsapp", "meta", graph.phone_number_id, "s",
                         settings)  # fmt: skip


async def _send(
    limiter: RateLimiter, adapter: WhatsAppCloudAdapter, account: AccountConfig, n: int
) -> list[float]:
    """Send ``n`` messages at once through the limiter; return the slots it granted."""
    meta = {"now": NOW, "last_inbound_at": NOW - timedelta(hours=1)}
    # a few connections at a time: the stand-in's listen queue is short (5)
    connections = asyncio.Semaphore(4)
    granted: list[float] = []

    async def one(i: int) -> None:
        granted.append(await limiter.acquire(account.id, 80))
        message = OutboundMessage(f"msg_{i}", Address("whatsapp", CUSTOMER), f"#{i}", meta)
        async with connections:
            assert (await adapter.send(message, account)).status == "sent"

    await asyncio.gather(*(one(i) for i in range(n)))
    return granted


def _busiest_second(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))


def _paced(granted: list[float], arrivals: list[float]) -> None:
    """200 messages at 80 a second: the limiter's slots hold 80 a second plus the short burst
    (8), and the stand-in saw them spread over more than two seconds. Arrival times are not
    held to the per-second bound: on a loaded machine a stalled loop wakes late senders
    together, and the spread can only grow."""
    assert len(granted) == len(arrivals) == 200
    assert _busiest_second(granted) <= 88
    assert max(granted) - min(granted) >= 2.2  # (200 - 8) / 80 = 2.4 s
    assert max(arrivals) - min(arrivals) >= 2.0


async def _two_accounts(limiter: RateLimiter, graph: FakeGraph, other: FakeGraph) -> None:
    adapter = WhatsAppCloudAdapter()
    busy, quiet = _account(graph, "chn_busy_" + NUMBER_ID), _account(other, "chn_quiet")
    busy_slots, quiet_slots = await asyncio.gather(
        _send(limiter, adapter, busy, 200), _send(limiter, adapter, quiet, 10)
    )
    _paced(busy_slots, [s["at"] for s in graph.sent])
    # the quiet account went out at once, not behind the busy one's backlog
    assert len(other.sent) == 10
    assert max(quiet_slots) - min(busy_slots) < 0.5


async def test_200_messages_at_80_per_second_and_a_second_account_unslowed(
    graph: FakeGraph, other_graph: FakeGraph
) -> None:
    await _two_accounts(LocalRateLimiter(), graph, other_graph)


@pytest.mark.redis
async def test_the_budget_is_shared_through_redis(
    redis_url: str, graph: FakeGraph, other_graph: FakeGraph
) -> None:
    # two limiters stand for two worker processes sharing one account's budget
    first, second = RedisRateLimiter(redis_url), RedisRateLimiter(redis_url)
    try:
        adapter = WhatsAppCloudAdapter()
        account = _account(graph, f"chn_shared_{id(first)}")
        slots = await asyncio.gather(
            _send(first, adapter, account, 100), _send(second, adapter, account, 100)
        )
        _paced(slots[0] + slots[1], [s["at"] for s in graph.sent])
        graph.sent.clear()
        await _two_accounts(first, graph, other_graph)
    finally:
        await first.close()
        await second.close()


async def test_deliveries_are_paced_per_account_end_to_end(
    container: Container, client: httpx.AsyncClient, graph: FakeGraph
) -> None:
    _, conversation_id, headers = await _conversation(container, client, graph, rate_per_second=10)
    for i in range(25):
        assert (await _reply(client, conversation_id, headers, body=f"#{i}")).status_code == 201
    await container.relay.drain()
    replies = graph.sent[1:]
    assert [s["text"]["body"] for s in replies] == [f"#{i}" for i in range(25)]
    arrivals = [s["at"] for s in replies]
    assert max(arrivals) - min(arrivals) >= 2.0  # 25 at 10/s, one at a time
    assert _busiest_second(arrivals) <= 11


class _Probe:
    """A limiter that, while a delivery waits on it, writes the very message being delivered:
    the write must not wait for the delivery's transaction."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.waited = 0

    async def acquire(self, key: str, rate: float) -> float:
        self.waited += 1
        async with self.container.sessions() as session, session.begin():
            row = await session.scalar(
                select(Message)
                .where(Message.direction == "outbound", Message.delivery_status == "queued")
                .with_for_update(nowait=True)
            )
            assert row is not None
            row.meta = {**(row.meta or {}), "probed": True}
        return 0.0

    async def close(self) -> None:
        return None


async def test_waiting_for_the_budget_holds_no_lock(
    container: Container, client: httpx.AsyncClient, graph: FakeGraph
) -> None:
    account_id = await _clinic(container, graph)
    probe = _Probe(container)
    container.rate_limits = probe
    assert (await _post(client, account_id, _text("wamid.P1", "Hola"))).status_code == 200
    await asyncio.wait_for(container.relay.drain(), timeout=30)
    [reply] = await _messages(container, direction="outbound")
    assert probe.waited == 1 and reply.meta["probed"] is True
    assert reply.delivery_status == "sent" and len(graph.sent) == 1
