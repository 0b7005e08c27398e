"""Finding and booking slots in the demo dental clinic, on SQLite and PostgreSQL.

Times are wall-clock Madrid times with a fixed ``now`` (Monday 16 November 2026, 10:00 CET).
The clinic opens Mon-Thu 9-14 and 16-20:30, Fri 9-15, Sat 10-14; bookings need 60 minutes'
notice, open 21 days ahead and lie on a 15-minute grid. Dra. García (garcia) works Mon-Fri,
Dr. Ruiz (ruiz) only Tue and Thu, the hygienist Paula Sanz (sanz) Mon-Fri.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from centralita.bootstrap import Container
from centralita.contacts import service as contacts_service
from centralita.core.errors import Conflict, InvalidInput, NotFound
from centralita.demo import demo_tenant_text
from centralita.events.models import OutboxEvent
from centralita.scheduling import service as scheduling_service
from centralita.scheduling.models import Appointment
from centralita.scheduling.service import PageSpec, Slot
from centralita.tenants.config.apply import apply_document
from centralita.tenants.config.loader import load_tenant_document
from centralita.tenants.models import Tenant
from tests.factories import make_tenant

MADRID = ZoneInfo("Europe/Madrid")


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MADRID)


NOW = at(11, 16, 10)  # Monday


def local(slots: list[Slot]) -> list[tuple[str, str | None]]:
    return [(s.start.astimezone(MADRID).strftime("%a %d %H:%M"), s.staff_key) for s in slots]


@pytest.fixture
async def clinic(container: Container) -> Tenant:
    doc = load_tenant_document(demo_tenant_text("clinica-dental-sonrisa"))
    async with container.sessions() as session, session.begin():
        report = await apply_document(session, doc, actor="tests")
        tenant = await session.get(Tenant, report.tenant_id)
    assert tenant is not None
    return tenant


async def book(container: Container, tenant: Tenant, start: datetime, **kwargs: object):  # type: ignore[no-untyped-def]
    async with container.sessions() as session, session.begin():
        return await scheduling_service.book(
            session, tenant=tenant, start=start, now=kwargs.pop("now", NOW), **kwargs
        )


async def find(container: Container, tenant: Tenant, **kwargs: object) -> list[Slot]:
    async with container.sessions() as session:
        return await scheduling_service.find_slots(
            session, tenant, now=kwargs.pop("now", NOW), **kwargs
        )


# ---- finding slots -----------------------------------------------------------------------


async def test_default_service_offers_spread_slots_after_the_notice(
    container: Container, clinic: Tenant
) -> None:
    slots = await find(container, clinic)
    # primera-visita by default: García, Ruiz or Navarro; García first when several are free.
    assert local(slots) == [
        ("Mon 16 11:00", "garcia"),
        ("Mon 16 16:00", "garcia"),
        ("Mon 16 20:00", "garcia"),
    ]
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)


async def test_a_preferred_time_gets_the_nearest_times_a_duration_apart(
    container: Container, clinic: Tenant
) -> None:
    slots = await find(container, clinic, service_key="limpieza", preferred=at(11, 17, 17))
    assert local(slots) == [
        ("Tue 17 16:15", "sanz"),
        ("Tue 17 17:00", "sanz"),
        ("Tue 17 17:45", "sanz"),
    ]


async def test_a_preferred_day_fills_that_day_first(container: Container, clinic: Tenant) -> None:
    slots = await find(
        container, clinic, service_key="ortodoncia-invisible", preferred=at(11, 18, 0)
    )
    assert local(slots) == [
        ("Wed 18 16:00", "navarro"),
        ("Wed 18 16:45", "navarro"),
        ("Wed 18 17:30", "navarro"),
    ]


async def test_a_window_is_searched_first(container: Container, clinic: Tenant) -> None:
    slots = await find(
        container,
        clinic,
        service_key="implante",
        preferred=at(11, 19, 16),
        window_end=at(11, 19, 20, 30),
    )
    assert local(slots) == [
        ("Thu 19 16:00", "ruiz"),
        ("Thu 19 17:30", "ruiz"),
        ("Thu 19 19:00", "ruiz"),
    ]


async def test_a_full_preferred_day_falls_back_to_the_nearest_days(
    container: Container, clinic: Tenant
) -> None:
    # Ruiz works Tuesdays and Thursdays only: asking for Wednesday offers Thursday first.
    slots = await find(container, clinic, staff_key="ruiz", preferred=at(11, 18, 0), count=2)
    assert local(slots) == [("Thu 19 09:00", "ruiz"), ("Thu 19 16:00", "ruiz")]


@pytest.mark.parametrize(
    ("part", "check"),
    [
        ("morning", lambda h: h < 14),
        ("afternoon", lambda h: 14 <= h < 20),
        ("evening", lambda h: h >= 18),
    ],
)
async def test_part_of_day_filters(
    container: Container, clinic: Tenant, part: str, check: object
) -> None:
    slots = await find(container, clinic, part_of_day=part, count=5)
    assert len(slots) == 5
    assert all(check(s.start.astimezone(MADRID).hour) for s in slots)  # type: ignore[operator]


async def test_part_of_day_with_no_match_still_offers_something(
    container: Container, clinic: Tenant
) -> None:
    # Sanz never works after 20:30: "evening" cannot be met, other times are offered instead.
    slots = await find(container, clinic, staff_key="sanz", part_of_day="evening", count=2)
    assert len(slots) == 2


async def test_unknown_service_or_staff_is_invalid(container: Container, clinic: Tenant) -> None:
    with pytest.raises(InvalidInput, match="service_key"):
        await find(container, clinic, service_key="nope")
    with pytest.raises(InvalidInput, match="staff_key"):
        await find(container, clinic, staff_key="nobody")
    with pytest.raises(InvalidInput, match="does not provide"):
        await find(container, clinic, service_key="implante", staff_key="sanz")


async def test_a_tenant_without_a_document_has_no_slots(container: Container) -> None:
    kit = await make_tenant(container)
    async with container.sessions() as session:
        tenant = await session.get(Tenant, kit.tenant_id)
        assert tenant is not None
        assert await scheduling_service.find_slots(session, tenant, now=NOW) == []


# ---- booking -----------------------------------------------------------------------------


async def test_book_stores_the_slot_and_records_the_event(
    container: Container, clinic: Tenant
) -> None:
    appointment = await book(
        container, clinic, at(11, 16, 11), staff_key="garcia", notes="  dolor de muela  "
    )
    assert appointment.id.startswith("apt_")
    assert (appointment.kind, appointment.status, appointment.version) == (
        "appointment",
        "booked",
        1,
    )
    assert appointment.service_key == "primera-visita"  # the tenant's default service
    assert appointment.end_at - appointment.start_at == timedelta(minutes=30)
    assert appointment.notes == "dolor de muela"
    async with container.sessions() as session:
        event = await session.scalar(
            select(OutboxEvent).where(OutboxEvent.name == "appointment.booked")
        )
    assert event is not None
    assert event.payload["appointment_id"] == appointment.id
    assert event.payload["staff_key"] == "garcia"
    assert event.payload["start"] == "2026-11-16T10:00:00+00:00"
    # The slot is gone from García's offers.
    slots = await find(container, clinic, staff_key="garcia", preferred=at(11, 16, 11))
    assert at(11, 16, 11) not in [s.start for s in slots]


async def test_with_no_staff_named_the_first_free_one_is_booked(
    container: Container, clinic: Tenant
) -> None:
    first = await book(container, clinic, at(11, 17, 9))
    second = await book(container, clinic, at(11, 17, 9))
    assert (first.staff_key, second.staff_key) == ("garcia", "ruiz")
    with pytest.raises(Conflict, match="that slot was just taken"):
        await book(container, clinic, at(11, 17, 9))  # Navarro does not work Tuesdays


async def test_overlapping_the_same_staff_is_a_conflict(
    container: Container, clinic: Tenant
) -> None:
    await book(container, clinic, at(11, 17, 9), service_key="endodoncia")  # 9:00-10:00
    with pytest.raises(Conflict, match="that slot was just taken"):
        await book(container, clinic, at(11, 17, 9, 30), service_key="empaste", staff_key="garcia")
    # Another staff member at the same time is fine.
    other = await book(container, clinic, at(11, 17, 9, 30), service_key="limpieza")
    assert other.staff_key == "sanz"


async def test_concurrent_bookings_of_one_slot_let_exactly_one_win(
    container: Container, clinic: Tenant
) -> None:
    start = at(11, 18, 10)

    async def attempt() -> str:
        # Separate sessions and transactions, as two callers on two phone lines.
        try:
            await book(container, clinic, start, staff_key="garcia", service_key="empaste")
        except Conflict:
            return "conflict"
        return "booked"

    results = await asyncio.gather(*(attempt() for _ in range(4)))
    assert sorted(results) == ["booked", "conflict", "conflict", "conflict"]
    async with container.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(Appointment).where(Appointment.staff_key == "garcia")
        )
    assert count == 1


async def test_concurrent_bookings_without_staff_spread_over_the_staff(
    container: Container, clinic: Tenant
) -> None:
    start = at(11, 19, 9)  # Thursday: Ruiz in the morning; García only in the afternoon

    async def attempt() -> str | None:
        try:
            appointment = await book(container, clinic, start, service_key="extraccion")
        except Conflict:
            return None
        return appointment.staff_key

    results = await asyncio.gather(*(attempt() for _ in range(3)))
    assert sorted(r or "-" for r in results) == ["-", "-", "ruiz"]


@pytest.mark.parametrize(
    ("start", "message"),
    [
        (at(11, 16, 9), "already passed"),
        (at(11, 16, 10, 30), "at least 60 minutes"),
        (at(12, 20, 10), "21 days ahead"),
        (at(11, 22, 10), "outside opening hours"),  # Sunday
        (at(11, 16, 14, 30), "outside opening hours"),  # lunch
        (at(11, 16, 20, 15), "outside opening hours"),  # would end after 20:30
        (at(11, 16, 11, 10), "15-minute grid"),
    ],
)
async def test_times_that_are_no_slot_are_invalid(
    container: Container, clinic: Tenant, start: datetime, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await book(container, clinic, start)


async def test_holidays_are_closed(container: Container, clinic: Tenant) -> None:
    now = at(11, 30, 10)
    with pytest.raises(InvalidInput, match="closed on 2026-12-08"):
        await book(container, clinic, at(12, 8, 10), now=now)
    with pytest.raises(InvalidInput, match="closed on 2026-12-07"):
        await book(container, clinic, at(12, 7, 10), now=now)  # Constitution Day, moved
    slots = await find(container, clinic, now=now, preferred=at(12, 7, 0), count=10)
    assert {s.start.astimezone(MADRID).day for s in slots}.isdisjoint({7, 8})


async def test_staff_not_working_that_day(container: Container, clinic: Tenant) -> None:
    with pytest.raises(InvalidInput, match="Ruiz Ortega does not work at that time"):
        await book(container, clinic, at(11, 18, 10), staff_key="ruiz")


async def test_naive_times_are_refused(container: Container, clinic: Tenant) -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        await book(container, clinic, datetime(2026, 11, 17, 10))


async def test_foreign_contacts_are_not_found(container: Container, clinic: Tenant) -> None:
    other = await make_tenant(container)
    async with container.sessions() as session, session.begin():
        contact = await contacts_service.create_contact(
            session, tenant_id=other.tenant_id, name="Ajeno"
        )
    with pytest.raises(NotFound):
        await book(container, clinic, at(11, 17, 10), contact_id=contact.id)
    async with container.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Appointment)) == 0


# ---- changes -----------------------------------------------------------------------------


async def test_reschedule_moves_and_checks_like_book(container: Container, clinic: Tenant) -> None:
    appointment = await book(container, clinic, at(11, 17, 10), staff_key="garcia")
    blocker = await book(container, clinic, at(11, 17, 12), staff_key="garcia")
    async with container.sessions() as session, session.begin():
        moved = await scheduling_service.reschedule(
            session, tenant=clinic, appointment_id=appointment.id, start=at(11, 17, 10, 15), now=NOW
        )  # overlapping its own old time is fine
    assert moved.start_at == at(11, 17, 10, 15)
    assert moved.end_at == at(11, 17, 10, 45)
    assert moved.rescheduled_from == at(11, 17, 10)
    assert moved.version == 2
    for start, error in (
        (blocker.start_at, Conflict),  # García's other appointment
        (at(11, 18, 14, 30), InvalidInput),  # lunchtime
        (at(11, 16, 10, 30), InvalidInput),  # too soon
    ):
        async with container.sessions() as session, session.begin():
            with pytest.raises(error):
                await scheduling_service.reschedule(
                    session, tenant=clinic, appointment_id=appointment.id, start=start, now=NOW
                )
    async with container.sessions() as session:
        names = (
            await session.scalars(
                select(OutboxEvent.name).where(OutboxEvent.name.like("appointment.%"))
            )
        ).all()
    assert sorted(names) == ["appointment.booked", "appointment.booked", "appointment.rescheduled"]


async def test_cancel_frees_the_slot(container: Container, clinic: Tenant) -> None:
    appointment = await book(container, clinic, at(11, 17, 10), staff_key="garcia")
    async with container.sessions() as session, session.begin():
        cancelled = await scheduling_service.cancel(
            session,
            tenant_id=clinic.id,
            appointment_id=appointment.id,
            now=NOW,
            reason="no puede venir",
        )
        again = await scheduling_service.cancel(
            session, tenant_id=clinic.id, appointment_id=appointment.id, now=NOW
        )
    assert (cancelled.status, cancelled.cancel_reason, cancelled.version) == (
        "cancelled",
        "no puede venir",
        2,
    )
    assert again.version == 2  # idempotent
    rebooked = await book(container, clinic, at(11, 17, 10), staff_key="garcia")
    assert rebooked.id != appointment.id
    async with container.sessions() as session, session.begin():
        with pytest.raises(Conflict, match="cancelled"):
            await scheduling_service.reschedule(
                session, tenant=clinic, appointment_id=appointment.id, start=at(11, 17, 11), now=NOW
            )
        with pytest.raises(Conflict):
            await scheduling_service.confirm(
                session, tenant_id=clinic.id, appointment_id=appointment.id, now=NOW
            )


async def test_confirm_once_and_reschedule_needs_it_again(
    container: Container, clinic: Tenant
) -> None:
    appointment = await book(container, clinic, at(11, 17, 10), staff_key="garcia")
    async with container.sessions() as session, session.begin():
        confirmed = await scheduling_service.confirm(
            session, tenant_id=clinic.id, appointment_id=appointment.id, now=NOW
        )
        twice = await scheduling_service.confirm(
            session, tenant_id=clinic.id, appointment_id=appointment.id, now=NOW
        )
        assert confirmed.confirmed_at == NOW and twice.version == 2
        moved = await scheduling_service.reschedule(
            session, tenant=clinic, appointment_id=appointment.id, start=at(11, 17, 11), now=NOW
        )
    assert moved.confirmed_at is None and moved.version == 3


async def test_other_tenants_cannot_touch_an_appointment(
    container: Container, clinic: Tenant
) -> None:
    appointment = await book(container, clinic, at(11, 17, 10), staff_key="garcia")
    other = await make_tenant(container)
    async with container.sessions() as session, session.begin():
        with pytest.raises(NotFound):
            await scheduling_service.get_appointment(session, other.tenant_id, appointment.id)
        with pytest.raises(NotFound):
            await scheduling_service.cancel(
                session, tenant_id=other.tenant_id, appointment_id=appointment.id, now=NOW
            )


# ---- time zones and callbacks ------------------------------------------------------------


async def test_slots_keep_wall_clock_hours_across_the_october_dst_change(
    container: Container, clinic: Tenant
) -> None:
    friday = at(10, 23, 10)  # CEST, UTC+2; clocks go back on Sunday 25 October
    slots = await find(
        container, clinic, now=friday, staff_key="garcia", preferred=at(10, 26, 0), count=1
    )
    assert local(slots) == [("Mon 26 09:00", "garcia")]
    assert slots[0].start == datetime.fromisoformat("2026-10-26T08:00:00+00:00")  # CET
    before = await book(container, clinic, at(10, 23, 12), now=friday, staff_key="garcia")
    after = await book(container, clinic, at(10, 26, 9), now=friday, staff_key="garcia")
    assert before.start_at == datetime.fromisoformat("2026-10-23T10:00:00+00:00")
    assert after.start_at == datetime.fromisoformat("2026-10-26T08:00:00+00:00")
    assert after.end_at - after.start_at == timedelta(minutes=30)
    slots = await find(
        container, clinic, now=friday, staff_key="garcia", preferred=at(10, 26, 0), count=1
    )
    assert local(slots) == [("Mon 26 09:30", "garcia")]


async def test_callbacks_use_business_hours_and_no_staff(
    container: Container, clinic: Tenant
) -> None:
    slots = await find(container, clinic, kind="callback", count=2)
    assert [s.staff_key for s in slots] == [None, None]
    callback = await book(container, clinic, at(11, 17, 10), kind="callback", phone="600 111 222")
    assert (callback.kind, callback.staff_key, callback.service_key) == ("callback", None, None)
    assert callback.phone == "+34600111222"
    assert callback.end_at - callback.start_at == timedelta(minutes=30)
    with pytest.raises(Conflict):  # one callback lane
        await book(container, clinic, at(11, 17, 10), kind="callback", phone="600 111 333")
    # Staff appointments are another lane.
    assert (await book(container, clinic, at(11, 17, 10), staff_key="garcia")).staff_key
    with pytest.raises(InvalidInput, match="phone"):
        await book(container, clinic, at(11, 17, 11), kind="callback")
    with pytest.raises(InvalidInput, match="staff"):
        await book(container, clinic, at(11, 17, 11), kind="callback", staff_key="garcia")


async def test_a_callback_takes_the_contacts_phone(container: Container, clinic: Tenant) -> None:
    async with container.sessions() as session, session.begin():
        contact = await contacts_service.create_contact(
            session, tenant_id=clinic.id, name="Ana", addresses=[("phone", "+34600222333")]
        )
    callback = await book(container, clinic, at(11, 17, 11), kind="callback", contact_id=contact.id)
    assert callback.phone == "+34600222333"


# ---- listing -----------------------------------------------------------------------------


async def test_upcoming_and_listing(container: Container, clinic: Tenant) -> None:
    async with container.sessions() as session, session.begin():
        contact = await contacts_service.create_contact(session, tenant_id=clinic.id, name="Ana")
    later = await book(container, clinic, at(11, 19, 17), contact_id=contact.id)
    sooner = await book(container, clinic, at(11, 17, 10), contact_id=contact.id)
    cancelled = await book(container, clinic, at(11, 18, 10), contact_id=contact.id)
    other = await book(container, clinic, at(11, 18, 11), staff_key="sanz")
    async with container.sessions() as session, session.begin():
        await scheduling_service.cancel(
            session, tenant_id=clinic.id, appointment_id=cancelled.id, now=NOW
        )
    async with container.sessions() as session:
        upcoming = await scheduling_service.upcoming_for_contact(
            session, clinic.id, contact.id, NOW
        )
        assert [a.id for a in upcoming] == [sooner.id, later.id]
        assert (
            await scheduling_service.upcoming_for_contact(
                session, clinic.id, contact.id, at(11, 20, 0)
            )
            == []
        )

        async def ids(**filters: object) -> list[str]:
            page = await scheduling_service.list_appointments(
                session, clinic.id, paging=PageSpec(limit=50), **filters
            )
            return [a.id for a in page.items]

        assert await ids() == [other.id, cancelled.id, sooner.id, later.id]  # newest first
        assert await ids(contact_id=contact.id, status="booked") == [sooner.id, later.id]
        assert await ids(staff_key="sanz") == [other.id]
        assert await ids(start_from=at(11, 18, 0), start_to=at(11, 19, 0)) == [
            other.id,
            cancelled.id,
        ]
        first = await scheduling_service.list_appointments(
            session, clinic.id, paging=PageSpec(limit=3)
        )
        assert first.next_cursor == sooner.id
        rest = await scheduling_service.list_appointments(
            session, clinic.id, paging=PageSpec(limit=3, cursor=first.next_cursor)
        )
        assert [a.id for a in rest.items] == [later.id] and rest.next_cursor is None
        with pytest.raises(InvalidInput):
            await ids(status="lost")
