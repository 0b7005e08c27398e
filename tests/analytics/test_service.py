"""The KPI shell on a real database (SQLite and PostgreSQL): loading, attaching, grouping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from centralita.analytics import service
from centralita.analytics.kpis import Options
from centralita.bootstrap import Container
from centralita.tenants.models import Tenant
from tests.analytics.world import DAY, NOW, T, World, seed
from tests.factories import make_tenant

pytestmark = pytest.mark.usefixtures("database")


async def _world(container: Container) -> World:
    world = await seed(container, await make_tenant(container))
    await seed(container, await make_tenant(container))  # a neighbour with the same data
    return world


async def test_today_totals_by_hand(container: Container) -> None:
    world = await _world(container)
    async with container.sessions() as session:
        report = await service.today(session, tenant_id=world.kit.tenant_id, now=NOW)
    k = report.total.kpis
    assert report.start == T.replace(hour=0) - timedelta(hours=1)  # midnight in Madrid
    assert report.total.count == k["contacts"] == 7  # i1-i6 and the one waiting now
    assert k["handled"] == 2
    assert k["aht"] == pytest.approx((330 + 100) / 2)
    assert k["asa"] == pytest.approx((10 + 40) / 2)
    assert k["abandonment_rate"] == pytest.approx(1 / 3)  # (2 - 1 short) / (2 + 2 - 1)
    assert k["service_level"] == pytest.approx(1 / 3)  # only i1 within 20 s
    assert k["occupancy"] == pytest.approx(430 / 4600)
    assert k["csat"] == pytest.approx(1 / 2)
    assert k["nps"] == pytest.approx(100.0)
    assert k["ces"] is None  # the CES survey was never answered
    assert k["clv"] == pytest.approx(75.0) and k["clv_total"] == pytest.approx(150.0)
    assert k["ai_containment"] == pytest.approx(1 / 6)  # i5 of i1-i5 + the waiting one
    assert k["spam_filtered"] == 1
    assert k["messages_taken"] == 1 and k["ack_seconds"] == pytest.approx(90.0)
    assert k["appointments_booked"] == 1
    assert k["fcr"] is None and k["fcr_pending"] == 4  # today's: 7 days not yet passed


async def test_records_carry_ids_and_attached_facts(container: Container) -> None:
    world = await _world(container)
    async with container.sessions() as session:
        found = await service.records(session, tenant_id=world.kit.tenant_id, start=T,
                                      end=NOW, now=NOW)  # fmt: skip
    by_id = {r.interaction_id: r for r in found}
    assert set(by_id) == {world.ix[n] for n in ("i1", "i2", "i3", "i4", "i5", "i6", "waiting")}
    i1, i5 = by_id[world.ix["i1"]], by_id[world.ix["i5"]]
    assert i1.conversation_id == world.cv["info"]
    assert (i1.csat, i1.nps, i1.appointments_booked, i1.intent) == (5, 9, 1, "info")
    assert (i5.messages_taken, i5.ack_seconds) == (1, (90.0,))
    assert by_id[world.ix["i6"]].spam and not i1.spam
    assert i1.handle_seconds == 330


async def test_first_contact_resolution_looks_past_the_window(container: Container) -> None:
    world = await _world(container)
    async with container.sessions() as session:
        report = await service.report(session, tenant_id=world.kit.tenant_id,
                                      start=T - 11 * DAY, end=T - 7 * DAY, now=NOW)  # fmt: skip
    # old1 (day -10) came back on day -8: no; old2 (day -8): next is i1 on day 0: yes
    assert report.total.count == 2
    assert report.total.kpis["fcr"] == pytest.approx(1 / 2)
    async with container.sessions() as session:
        narrow = await service.report(session, tenant_id=world.kit.tenant_id,
                                      start=T - 11 * DAY, end=T - 9 * DAY, now=NOW)  # fmt: skip
    assert narrow.total.kpis["fcr"] == 0.0  # the repeat is after the window: still seen


async def test_group_by_with_labels(container: Container) -> None:
    world = await _world(container)
    tenant = world.kit.tenant_id
    async with container.sessions() as session:
        queues = await service.today(session, tenant_id=tenant, now=NOW, group_by="queue")
        agents = await service.today(session, tenant_id=tenant, now=NOW, group_by="agent")
        intents = await service.today(session, tenant_id=tenant, now=NOW, group_by="intent")
        hours = await service.today(session, tenant_id=tenant, now=NOW, group_by="hour")
    assert {(r.key, r.label, r.count) for r in queues.rows} == {
        (world.queue, "Recepción", 5), ("-", "(no queue)", 2),
    }  # fmt: skip
    ana = next(r for r in agents.rows if r.key == world.agent)
    assert (ana.label, ana.count) == ("Ana", 2)
    assert ana.kpis["occupancy"] == pytest.approx(430 / 4600)
    assert next(r for r in agents.rows if r.key == "-").kpis["occupancy"] is None
    assert {r.key: r.count for r in intents.rows} == {"info": 5, "billing": 1, "-": 1}
    assert next(r for r in intents.rows if r.key == "info").label == "Pedir información"
    # 10:00-10:07 Madrid, and the one waiting at 12:58:30 Madrid
    assert {r.key: r.count for r in hours.rows} == {"10": 6, "12": 1}
    # Ana was staffed 1000 s of 10:00-11:00 Madrid (until T + 1000 s) and handled 430 s
    assert next(r for r in hours.rows if r.key == "10").kpis["occupancy"] == pytest.approx(0.43)
    assert sum(r.count for r in queues.rows) == queues.total.count


async def test_filters_narrow_the_set(container: Container) -> None:
    world = await _world(container)
    tenant = world.kit.tenant_id
    async with container.sessions() as session:
        web = await service.report(session, tenant_id=tenant, start=T, end=NOW,
                                   filters={"channel": "whatsapp"}, now=NOW)  # fmt: skip
        info = await service.report(session, tenant_id=tenant, start=T, end=NOW,
                                    filters={"intent": "info"}, now=NOW)  # fmt: skip
        none = await service.report(session, tenant_id=tenant, start=T, end=NOW,
                                    filters={"queue": "-"}, now=NOW)  # fmt: skip
        ana = await service.report(session, tenant_id=tenant, start=T, end=NOW,
                                   filters={"agent": world.agent}, now=NOW)  # fmt: skip
    assert web.total.count == 1 and web.total.kpis["asa"] == pytest.approx(40)
    assert info.total.count == 5
    assert info.total.kpis["occupancy"] is None  # staffed time is not per intent
    assert none.total.count == 2
    # staffed from T (the window's start) to T + 1000 s
    assert ana.total.count == 2 and ana.total.kpis["occupancy"] == pytest.approx(430 / 1000)
    with pytest.raises(Exception, match="unknown filter"):
        async with container.sessions() as session:
            await service.records(session, tenant_id=tenant, start=T, end=NOW,
                                  filters={"weather": "rain"})  # fmt: skip


async def test_tenant_options_and_overrides(container: Container) -> None:
    world = await _world(container)
    tenant = world.kit.tenant_id
    async with container.sessions() as session, session.begin():
        await session.execute(update(Tenant).where(Tenant.id == tenant).values(
            config={"kpis": {"service_level_seconds": 60,
                             "service_level_method": "abandoned_count_against"}}))  # fmt: skip
    async with container.sessions() as session:
        options = await service.options_for(session, tenant_id=tenant)
        mine = await service.report(session, tenant_id=tenant, start=T, end=NOW, now=NOW)
        excluded = Options(service_level_method="abandoned_excluded")
        given = await service.report(session, tenant_id=tenant, start=T, end=NOW, now=NOW,
                                     options=excluded)  # fmt: skip
    assert options == Options(service_level_seconds=60,
                              service_level_method="abandoned_count_against")  # fmt: skip
    assert mine.total.kpis["service_level"] == pytest.approx(2 / 4)  # i1, i2 of 2 + 2
    assert given.total.kpis["service_level"] == pytest.approx(1 / 2)  # i1 of i1, i2 at 20 s
    assert mine.options == options


async def test_bad_arguments(container: Container) -> None:
    world = await _world(container)
    async with container.sessions() as session:
        with pytest.raises(Exception, match="unknown dimension"):
            await service.report(session, tenant_id=world.kit.tenant_id, start=T, end=NOW,
                                 group_by="weather")  # fmt: skip
        with pytest.raises(Exception, match="after start"):
            await service.report(session, tenant_id=world.kit.tenant_id, start=NOW, end=T)
