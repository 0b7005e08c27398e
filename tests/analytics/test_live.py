"""Today's KPI snapshots (analytics.live): served while fresh, refreshed ahead, exact after a
quiet spell, one computation for many requests."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from centralita.analytics import live
from centralita.bootstrap import Container
from centralita.conversations.models import Conversation, Interaction
from centralita.core.ids import new_id
from tests.analytics.world import NOW, World, seed
from tests.factories import make_tenant

pytestmark = pytest.mark.usefixtures("database")


async def _world(container: Container) -> World:
    container.clock = lambda: NOW
    return await seed(container, await make_tenant(container))


async def _one_more(container: Container, world: World) -> None:
    """A chat that arrived a minute before NOW: today's count goes up by one."""
    async with container.sessions() as session, session.begin():
        conversation = await session.get(Conversation, world.cv["bot"])
        assert conversation is not None
        session.add(
            Interaction(
                id=new_id("ix"),
                tenant_id=world.kit.tenant_id,
                conversation_id=world.cv["bot"],
                contact_id=conversation.contact_id,
                channel="webchat",
                arrived_at=NOW - timedelta(minutes=1),
            )
        )


def _at(container: Container, seconds: float) -> None:
    container.clock = lambda: NOW + timedelta(seconds=seconds)


async def test_a_fresh_snapshot_is_served_without_computing_again(container: Container) -> None:
    world = await _world(container)
    reports = live.for_container(container)
    first = await reports.today(world.kit.tenant_id)
    await _one_more(container, world)
    _at(container, 1)
    again = await reports.today(world.kit.tenant_id)
    assert again is first and reports.computations == 1
    assert again.total.count == first.total.count  # the new chat waits for the next refresh


async def test_a_watched_snapshot_is_refreshed_in_the_background_before_it_goes_stale(
    container: Container,
) -> None:
    world = await _world(container)
    reports = live.for_container(container)
    first = await reports.today(world.kit.tenant_id)
    await _one_more(container, world)
    _at(container, 3)  # past half the refresh interval: served, and a refresh starts
    served = await reports.today(world.kit.tenant_id)
    assert served is first
    snapshot = reports._snapshots[(world.kit.tenant_id, None)]
    assert snapshot.refreshing is not None
    await snapshot.refreshing
    _at(container, 4)
    fresh = await reports.today(world.kit.tenant_id)
    assert reports.computations == 2
    assert fresh.total.count == first.total.count + 1


async def test_after_a_quiet_spell_the_figures_are_exact(container: Container) -> None:
    world = await _world(container)
    reports = live.for_container(container)
    first = await reports.today(world.kit.tenant_id, "queue")
    await _one_more(container, world)
    _at(container, 120)  # nobody looked for two minutes: the snapshot is too old to serve
    exact = await reports.today(world.kit.tenant_id, "queue")
    assert exact.total.count == first.total.count + 1 and reports.computations == 2


async def test_many_requests_for_a_missing_snapshot_share_one_computation(
    container: Container,
) -> None:
    world = await _world(container)
    reports = live.for_container(container)
    got = await asyncio.gather(*(reports.today(world.kit.tenant_id, "agent") for _ in range(8)))
    assert reports.computations == 1 and all(r is got[0] for r in got)
    # each grouping and each tenant is its own snapshot
    other = await make_tenant(container)
    await reports.today(world.kit.tenant_id, "channel")
    empty = await reports.today(other.tenant_id, "agent")
    assert reports.computations == 3 and empty.total.count == 0


async def test_yesterdays_snapshot_is_not_served_after_midnight(container: Container) -> None:
    world = await _world(container)
    reports = live.for_container(container)
    before = await reports.today(world.kit.tenant_id)
    # Madrid's midnight, two seconds later by the clock: a new day, a new range
    midnight = (NOW.replace(hour=23, minute=0, second=0)) - NOW
    _at(container, midnight.total_seconds() + 1)
    reports._snapshots[(world.kit.tenant_id, None)].computed_at = container.clock()
    after = await reports.today(world.kit.tenant_id)
    assert after.start > before.start and reports.computations == 2
