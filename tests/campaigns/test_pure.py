"""Table tests of the pure cores: segments, templates, quiet hours, pacing, keywords."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from centralita.campaigns import keywords, schedule, templates
from centralita.campaigns.segments import ContactFacts, SegmentError, matches, parse_segment

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

ANA = ContactFacts(
    id="ct_ana",
    name="Ana López",
    language="es-ES",
    attributes={"plan": "gold", "city": "Bilbao", "visits": 3},
    tags=frozenset({"customer", "vip"}),
    consent={"sms": True, "marketing": True},
    last_contact_at=NOW - timedelta(days=10),
    address_kinds=frozenset({"phone"}),
)
NEW = ContactFacts(id="ct_new", language="en")


@pytest.mark.parametrize(
    ("segment", "ana", "new"),
    [
        ({}, True, True),
        ({"attributes": {"plan": "gold"}}, True, False),
        ({"attributes": {"plan": {"eq": "silver"}}}, False, False),
        ({"attributes": {"city": {"in": ["Madrid", "Bilbao"]}}}, True, False),
        ({"attributes": {"visits": {"eq": 3}}}, True, False),
        ({"attributes": {"plan": {"exists": True}}}, True, False),
        ({"attributes": {"plan": {"exists": False}}}, False, True),
        ({"tags": {"any": ["vip", "promo"]}}, True, False),
        ({"tags": {"all": ["vip", "promo"]}}, False, False),
        ({"tags": {"all": ["vip", "customer"]}}, True, False),
        ({"last_contact": {"within_days": 30}}, True, False),
        ({"last_contact": {"within_days": 5}}, False, False),
        ({"last_contact": {"not_within_days": 5}}, True, True),
        ({"last_contact": {"before": "2026-11-20T00:00:00Z"}}, True, True),
        ({"last_contact": {"after": "2026-11-20T00:00:00+00:00"}}, False, False),
        ({"consent": ["marketing"]}, True, False),
        ({"consent": "whatsapp"}, False, False),
        ({"language": "es"}, True, False),
        ({"language": ["en", "pt-br"]}, False, True),
        ({"has_address": "sms"}, True, False),
        ({"has_address": "email"}, False, False),
        ({"attributes": {"plan": "gold"}, "language": "en"}, False, False),
    ],
)
def test_segment_matching(segment: dict[str, Any], ana: bool, new: bool) -> None:
    parsed = parse_segment(segment)
    assert matches(parsed, ANA, now=NOW) is ana
    assert matches(parsed, NEW, now=NOW) is new


@pytest.mark.parametrize(
    ("segment", "path"),
    [
        ([], "segment"),
        ({"colour": "red"}, "colour"),
        ({"attributes": ["plan"]}, "attributes"),
        ({"attributes": {"plan": {"like": "g%"}}}, "attributes.plan"),
        ({"attributes": {"plan": {"in": []}}}, "attributes.plan.in"),
        ({"attributes": {"plan": {"exists": "yes"}}}, "attributes.plan.exists"),
        ({"tags": ["vip"]}, "tags"),
        ({"tags": {"any": []}}, "tags.any"),
        ({"last_contact": {"within_days": 0}}, "last_contact.within_days"),
        ({"last_contact": {"before": "yesterday"}}, "last_contact.before"),
        ({"last_contact": {"after": "2026-01-01T00:00:00"}}, "last_contact.after"),
        ({"language": [1]}, "language"),
        ({"has_address": "fax"}, "has_address"),
    ],
)
def test_malformed_segments_name_the_problem(segment: Any, path: str) -> None:
    with pytest.raises(SegmentError) as err:
        parse_segment(segment)
    assert path in [p for p, _ in err.value.problems], err.value.problems


@pytest.mark.parametrize(
    ("template", "values", "text", "missing"),
    [
        ("Hola {first_name}", {"first_name": "Ana"}, "Hola Ana", ()),
        ("Hola {name}", {"name": "Ana López"}, "Hola Ana López", ()),
        ("Tu plan: {attributes.plan}", {"attributes.plan": "gold"}, "Tu plan: gold", ()),
        ("Cita a las {appointment.time}", {"appointment.time": "10:30"}, "Cita a las 10:30", ()),
        ("Hola {first_name}", {"first_name": None}, None, ("first_name",)),
        ("Hola {first_name}", {"first_name": "  "}, None, ("first_name",)),
        ("{attributes.x} y {name}", {"name": "A"}, None, ("attributes.x",)),
        ("Llaves {{así}}", {}, "Llaves {así}", ()),
        ("Sin variables", {}, "Sin variables", ()),
    ],
)
def test_template_rendering(
    template: str, values: dict[str, str | None], text: str | None, missing: tuple[str, ...]
) -> None:
    rendered = templates.render(template, values)
    assert rendered.text == text
    assert rendered.missing == missing


@pytest.mark.parametrize("bad", ["Hola {nombre}", "Hola {first_name", "a } b", "{attributes.}"])
def test_bad_templates_are_refused(bad: str) -> None:
    with pytest.raises(templates.TemplateError):
        templates.variables(bad)


def test_first_name() -> None:
    assert templates.first_name("  Ana María López ") == "Ana"
    assert templates.first_name(None) is None and templates.first_name(" ") is None


MADRID = ZoneInfo("Europe/Madrid")
NIGHT = schedule.QuietHours.parse("21:00", "09:00")
NOON = schedule.QuietHours.parse("13:00", "15:00")
NONE = schedule.QuietHours.parse("09:00", "09:00")


@pytest.mark.parametrize(
    ("now", "tz", "quiet", "expected"),
    [
        # 10:00 in Madrid: allowed now
        (datetime(2026, 11, 23, 9, 0, tzinfo=UTC), MADRID, NIGHT, None),
        # 22:30 in Madrid: tomorrow 09:00 Madrid (08:00 UTC)
        (datetime(2026, 11, 23, 21, 30, tzinfo=UTC), MADRID, NIGHT,
         datetime(2026, 11, 24, 8, 0, tzinfo=UTC)),
        # 01:00 in Madrid, after midnight: the same day's 09:00
        (datetime(2026, 11, 24, 0, 0, tzinfo=UTC), MADRID, NIGHT,
         datetime(2026, 11, 24, 8, 0, tzinfo=UTC)),
        # exactly 21:00 is quiet; exactly 09:00 is not
        (datetime(2026, 11, 23, 20, 0, tzinfo=UTC), MADRID, NIGHT,
         datetime(2026, 11, 24, 8, 0, tzinfo=UTC)),
        (datetime(2026, 11, 24, 8, 0, tzinfo=UTC), MADRID, NIGHT, None),
        # the same instant is 06:00 in Mexico City: quiet until 09:00 there (15:00 UTC)
        (datetime(2026, 11, 23, 12, 0, tzinfo=UTC), ZoneInfo("America/Mexico_City"), NIGHT,
         datetime(2026, 11, 23, 15, 0, tzinfo=UTC)),
        # and 21:00 in Tokyo: quiet until 09:00 Tokyo next day (00:00 UTC)
        (datetime(2026, 11, 23, 12, 0, tzinfo=UTC), ZoneInfo("Asia/Tokyo"), NIGHT,
         datetime(2026, 11, 24, 0, 0, tzinfo=UTC)),
        # a daytime window not crossing midnight
        (datetime(2026, 11, 23, 13, 0, tzinfo=UTC), MADRID, NOON,
         datetime(2026, 11, 23, 14, 0, tzinfo=UTC)),
        # start == end: no quiet hours
        (datetime(2026, 11, 23, 2, 0, tzinfo=UTC), MADRID, NONE, None),
        # the night the clocks go back in Madrid (25 Oct 2026, 03:00 -> 02:00): 09:00 CET
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), MADRID, NIGHT,
         datetime(2026, 10, 25, 8, 0, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_quiet_hours_in_the_contacts_zone(
    now: datetime, tz: ZoneInfo, quiet: schedule.QuietHours, expected: datetime | None
) -> None:
    assert schedule.next_allowed(now, tz, quiet) == (expected or now)


def test_zone_falls_back_to_the_tenant_then_utc() -> None:
    assert schedule.zone("America/Bogota", "Europe/Madrid") == ZoneInfo("America/Bogota")
    assert schedule.zone("Mars/Olympus", "Europe/Madrid") == MADRID
    assert schedule.zone(None, "") == ZoneInfo("UTC")


@pytest.mark.parametrize(
    ("pace", "sent", "in_flight", "budget"),
    [(60, 0, 0, 60), (60, 50, 0, 10), (60, 60, 0, 0), (60, 0, 55, 5), (10, 3, 8, 2),
     (0, 0, 0, 0), (5, 9, 0, 0)],
)  # fmt: skip
def test_pacing_budget(pace: int, sent: int, in_flight: int, budget: int) -> None:
    got = schedule.send_budget(pace_per_minute=pace, sent_last_minute=sent, in_flight=in_flight)
    assert got == budget


def test_retry_backoff_grows_and_is_capped() -> None:
    assert schedule.retry_at(NOW, 1) == NOW + timedelta(minutes=5)
    assert schedule.retry_at(NOW, 3) == NOW + timedelta(minutes=20)
    assert schedule.retry_at(NOW, 30) == NOW + timedelta(hours=6)


@pytest.mark.parametrize(
    ("booked_hours_before", "now_hours_before", "due"),
    [(72, 24, True), (72, 25, False), (72, 1, True), (72, 0, False), (72, -1, False),
     (10, 5, False)],
)  # fmt: skip
def test_reminder_moment(booked_hours_before: int, now_hours_before: int, due: bool) -> None:
    start = NOW + timedelta(days=3)
    assert (
        schedule.reminder_due(
            start_at=start,
            booked_at=start - timedelta(hours=booked_hours_before),
            hours_before=24,
            now=start - timedelta(hours=now_hours_before),
        )
        is due
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", ("opt_out", "STOP")),
        ("stop.", ("opt_out", "STOP")),
        ("  Baja! ", ("opt_out", "BAJA")),
        ("BAJA", ("opt_out", "BAJA")),
        ("dar de baja", ("opt_out", "DAR DE BAJA")),
        ("Unsubscribe", ("opt_out", "UNSUBSCRIBE")),
        ("No más", ("opt_out", "NO MAS")),
        ("¡Alto!", ("opt_out", "ALTO")),
        ("Cancelar", ("opt_out", "CANCELAR")),
        ("start", ("opt_in", "START")),
        ("Alta", ("opt_in", "ALTA")),
        ("UNSTOP", ("opt_in", "UNSTOP")),
        ("BAJA por favor", None),
        ("no me deis de baja", None),
        ("Quiero cancelar mi cita", None),
        ("stopp", None),
        ("", None),
        ("!!!", None),
    ],
)
def test_whole_message_keywords(text: str, expected: tuple[str, str] | None) -> None:
    assert keywords.classify(text) == expected


def test_tenant_extra_keywords_and_confirmations() -> None:
    assert keywords.classify("Déjame en paz", extra_opt_out=["dejame en paz"]) == (
        "opt_out",
        "DEJAME EN PAZ",
    )
    assert keywords.classify("Déjame en paz") is None
    assert "ALTA" in keywords.confirmation("opt_out", "es")
    assert "START" in keywords.confirmation("opt_out", "en-GB")
    assert "BAJA" in keywords.confirmation("opt_in", None)
