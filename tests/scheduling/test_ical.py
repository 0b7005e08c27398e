"""The iCal feed: parsed back with icalendar; it never shows a caller's phone or email."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from centralita.bootstrap import Container
from centralita.contacts import service as contacts_service
from centralita.core.errors import NotFound
from centralita.demo import demo_tenant_text
from centralita.scheduling import service as scheduling_service
from centralita.scheduling.ical import CalendarEntry, render_calendar
from centralita.tenants.config.apply import apply_document
from centralita.tenants.config.loader import load_tenant_document
from centralita.tenants.models import Tenant

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 11, 16, 10, tzinfo=MADRID)
UTC_START = datetime(2026, 11, 17, 9, tzinfo=UTC)


def entry(**overrides: object) -> CalendarEntry:
    values: dict[str, object] = {
        "id": "apt_1",
        "kind": "appointment",
        "status": "booked",
        "start": UTC_START.astimezone(MADRID),
        "end": UTC_START + timedelta(minutes=45),
        "version": 3,
        "last_modified": datetime(2026, 11, 16, 9, 5, tzinfo=UTC),
        "service_name": "Limpieza dental",
        "caller_name": "María José Pérez",
    }
    values.update(overrides)
    return CalendarEntry(**values)  # type: ignore[arg-type]


def events(data: bytes) -> list[object]:
    return list(Calendar.from_ical(data).walk("VEVENT"))


def test_render_calendar_fields() -> None:
    data = render_calendar("Paula Sanz", [entry()], timezone="Europe/Madrid")
    calendar = Calendar.from_ical(data)
    assert str(calendar["prodid"]).startswith("-//Centralita")
    assert str(calendar["version"]) == "2.0"
    assert str(calendar["x-wr-calname"]) == "Paula Sanz"
    assert str(calendar["x-wr-timezone"]) == "Europe/Madrid"
    (event,) = calendar.walk("VEVENT")
    assert str(event["uid"]) == "apt_1@centralita"
    assert event.decoded("dtstart") == UTC_START
    assert event.decoded("dtend") == UTC_START + timedelta(minutes=45)
    assert event.decoded("dtstart").tzinfo is not None
    assert b"DTSTART:20261117T090000Z" in data  # written in UTC
    assert str(event["summary"]) == "Limpieza dental · María"
    assert str(event["status"]) == "TENTATIVE"
    assert int(event["sequence"]) == 3
    assert event.decoded("last-modified") == datetime(2026, 11, 16, 9, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "status", "summary"),
    [
        ({"confirmed": True}, "CONFIRMED", "Limpieza dental · María"),
        ({"status": "cancelled"}, "CANCELLED", "Limpieza dental · María"),
        ({"status": "completed"}, "CONFIRMED", "Limpieza dental · María"),
        ({"service_name": None, "caller_name": None}, "TENTATIVE", "Cita"),
        ({"kind": "callback", "service_name": None}, "TENTATIVE", "Devolver llamada · María"),
    ],
)
def test_status_and_summary(overrides: dict[str, object], status: str, summary: str) -> None:
    (event,) = Calendar.from_ical(
        render_calendar("x", [entry(**overrides)], timezone="Europe/Madrid")
    ).walk("VEVENT")
    assert (str(event["status"]), str(event["summary"])) == (status, summary)


def test_english_summary_and_order() -> None:
    later = entry(
        id="apt_2", start=UTC_START + timedelta(days=1), end=UTC_START + timedelta(days=1)
    )
    data = render_calendar(
        "x", [later, entry(service_name=None)], timezone="Europe/London", locale="en"
    )
    assert [str(e["uid"]) for e in events(data)] == ["apt_1@centralita", "apt_2@centralita"]  # type: ignore[index]
    assert str(events(data)[0]["summary"]) == "Appointment · María"  # type: ignore[index]


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        render_calendar("x", [entry(start=datetime(2026, 11, 17, 10))], timezone="UTC")


# ---- the feed behind a token -------------------------------------------------------------


@pytest.fixture
async def clinic(container: Container) -> Tenant:
    doc = load_tenant_document(demo_tenant_text("clinica-dental-sonrisa"))
    async with container.sessions() as session, session.begin():
        report = await apply_document(session, doc, actor="tests")
        tenant = await session.get(Tenant, report.tenant_id)
    assert tenant is not None
    return tenant


async def test_feed_for_a_staff_member(container: Container, clinic: Tenant) -> None:
    async with container.sessions() as session, session.begin():
        contact = await contacts_service.create_contact(
            session,
            tenant_id=clinic.id,
            name="María José Pérez",
            addresses=[("phone", "+34600123456"), ("email", "maria.jose@example.com")],
        )
        booked = await scheduling_service.book(
            session,
            tenant=clinic,
            start=datetime(2026, 11, 17, 10, tzinfo=MADRID),
            now=NOW,
            service_key="limpieza",
            contact_id=contact.id,
            phone="+34600123456",
            notes="Llamar al 600123456 o maria.jose@example.com",
        )
        cancelled = await scheduling_service.book(
            session,
            tenant=clinic,
            start=datetime(2026, 11, 18, 10, tzinfo=MADRID),
            now=NOW,
            service_key="limpieza",
        )
        await scheduling_service.cancel(
            session, tenant_id=clinic.id, appointment_id=cancelled.id, now=NOW
        )
        await scheduling_service.book(  # García's, not in Sanz's feed
            session,
            tenant=clinic,
            start=datetime(2026, 11, 17, 10, tzinfo=MADRID),
            now=NOW,
            staff_key="garcia",
        )
        feed, url = await scheduling_service.create_calendar_feed(
            session, clinic.id, "sanz", base_url="https://centralita.example/"
        )
    assert url.startswith("https://centralita.example/ical/") and url.endswith(".ics")
    token = url.rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) >= 40 and feed.token_hash != token
    async with container.sessions() as session:
        data = await scheduling_service.calendar_for_token(session, token, now=NOW)
    calendar = Calendar.from_ical(data)
    assert str(calendar["x-wr-calname"]) == "Paula Sanz Romero · Clínica Dental Sonrisa"
    found = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    assert set(found) == {f"{booked.id}@centralita", f"{cancelled.id}@centralita"}
    event = found[f"{booked.id}@centralita"]
    assert str(event["summary"]) == "Limpieza dental · María"
    assert event.decoded("dtstart") == datetime(2026, 11, 17, 9, tzinfo=UTC)
    assert str(found[f"{cancelled.id}@centralita"]["status"]) == "CANCELLED"
    assert int(found[f"{cancelled.id}@centralita"]["sequence"]) == 2
    text = data.decode()
    for secret in ("600123456", "maria.jose", "example.com", "Pérez", "Llamar"):
        assert secret not in text
    # A month later the cancelled appointment is gone from the feed.
    async with container.sessions() as session:
        later = await scheduling_service.calendar_for_token(
            session, token, now=NOW + timedelta(days=31)
        )
    assert [str(e["uid"]) for e in Calendar.from_ical(later).walk("VEVENT")] == [
        f"{booked.id}@centralita"
    ]


async def test_a_new_feed_revokes_the_old_one(container: Container, clinic: Tenant) -> None:
    async with container.sessions() as session, session.begin():
        _, first = await scheduling_service.create_calendar_feed(
            session, clinic.id, "garcia", base_url="http://testserver"
        )
    async with container.sessions() as session, session.begin():
        _, second = await scheduling_service.create_calendar_feed(
            session, clinic.id, "garcia", base_url="http://testserver"
        )

    def token(url: str) -> str:
        return url.rsplit("/", 1)[1].removesuffix(".ics")

    async with container.sessions() as session:
        assert await scheduling_service.calendar_for_token(session, token(second), now=NOW)
        for bad in (token(first), "nope", "", "x" * 500):
            with pytest.raises(NotFound):
                await scheduling_service.calendar_for_token(session, bad, now=NOW)


async def test_feeds_only_for_staff_of_the_tenant(container: Container, clinic: Tenant) -> None:
    async with container.sessions() as session:
        with pytest.raises(NotFound):
            await scheduling_service.create_calendar_feed(
                session, clinic.id, "nobody", base_url="http://testserver"
            )
