"""The KPI formulas against hand-computed values, every SL method, FCR, grouping, presence."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centralita.analytics import kpis
from centralita.analytics.kpis import Options, Record

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
MADRID = ZoneInfo("Europe/Madrid")


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def rec(n: int, **kw: object) -> Record:
    values: dict[str, object] = {
        "interaction_id": f"ix{n}",
        "conversation_id": f"cv{n}",
        "contact_id": f"ct{n}",
        "channel": "voice",
        "arrived_at": T0,
    }
    values.update(kw)
    return Record(**values)  # type: ignore[arg-type]


# Eight interactions; the expected values below are worked out by hand in the comments.
SET = [
    # answered after 10 s; 300 s connected incl. 30 s hold; 30 s wrap-up -> handle 330
    rec(1, contact_id="c1", agent_id="a1", queue_id="q1", intent="info", queued_at=T0,
        answered_at=s(10), ended_at=s(310), hold_seconds=30.0, wrapup_started_at=s(310),
        wrapup_ended_at=s(340), handled_by_bot=False, csat=5, nps=10, ces=2,
        contact_value=Decimal("100"), appointments_booked=1),
    # answered after 30 s (late); 100 s talk, no wrap-up -> handle 100
    rec(2, contact_id="c2", agent_id="a2", queue_id="q1", channel="whatsapp", queued_at=T0,
        answered_at=s(30), ended_at=s(130), handled_by_bot=False, csat=3, nps=5, ces=6,
        contact_value=Decimal("50")),
    rec(3, queue_id="q1", queued_at=T0, abandoned_at=s(3)),  # short abandon (< 5 s)
    rec(4, queue_id="q2", queued_at=T0, abandoned_at=s(60)),  # abandon
    # the receptionist alone: two messages taken, acknowledged after 60 s and 120 s
    rec(5, contact_id="c1", intent="info", nps=8, contact_value=Decimal("100"),
        messages_taken=2, ack_seconds=(60.0, 120.0), appointments_booked=1),
    rec(6, spam=True),
    # answered at exactly 20 s (within); wrap-up still going -> no handle time yet
    rec(7, agent_id="a1", queue_id="q2", queued_at=T0, answered_at=s(20), ended_at=s(220),
        wrapup_started_at=s(220), handled_by_bot=False, nps=2),
    rec(8, direction="outbound"),
]  # fmt: skip

EXPECTED: dict[str, float | None] = {
    "contacts": 8,
    "handled": 3,
    "aht": (330 + 100) / 2,
    "asa": (10 + 30 + 20) / 3,
    "abandonment_rate": (2 - 1) / (3 + 2 - 1),
    "service_level": 2 / (3 + 2 - 1),  # short_abandons_excluded, the default
    "occupancy": (330 + 100) / 2000,
    "fcr": None,  # nothing marked
    "fcr_pending": 4,  # eligible (1, 2, 5, 7) but never marked: unknown
    "csat": 1 / 2,
    "nps": (1 - 2) / 4 * 100,  # 10 | 5, 8 | 2: one promoter, two detractors of four
    "ces": (2 + 6) / 2,
    "clv": 75.0,  # distinct contacts c1 (100) and c2 (50)
    "clv_total": 150.0,
    "ai_containment": 1 / 6,  # inbound non-spam: 1,2,3,4,5,7; contained: 5
    "messages_taken": 2,
    "ack_seconds": 90.0,
    "spam_filtered": 1,
    "appointments_booked": 2,
}


def test_every_kpi_by_hand() -> None:
    got = kpis.compute(SET, Options(), agent_seconds={"a1": 1000.0, "a2": 1000.0})
    assert set(got) == set(kpis.DEFINITIONS)
    for name, value in EXPECTED.items():
        assert got[name] == pytest.approx(value) if value is not None else got[name] is None, name


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("abandoned_count_against", 2 / 5),  # within / (answered + abandoned)
        ("abandoned_excluded", 2 / 3),  # within / answered
        ("short_abandons_excluded", 2 / 4),  # within / (answered + abandoned - short)
    ],
)
def test_service_level_methods(method: str, expected: float) -> None:
    options = Options(service_level_method=method)  # type: ignore[arg-type]
    assert kpis.service_level(SET, options) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (Options(service_level_seconds=10), 1 / 4),  # only the 10 s answer
        (Options(service_level_seconds=30), 3 / 4),
        (kpis.SPAIN_95_180, 3 / 4),  # 180 s: every answer in time
        (Options(short_abandon_seconds=0), 2 / 5),  # nobody is a short abandon
        (Options(short_abandon_seconds=61), 2 / 3),  # both abandons are short
    ],
)
def test_service_level_thresholds(options: Options, expected: float) -> None:
    assert kpis.service_level(SET, options) == pytest.approx(expected)


def test_spain_preset() -> None:
    assert (kpis.SPAIN_95_180.service_level_seconds, kpis.SPAIN_95_180.service_level_target) == (
        180,
        0.95,
    )


def test_no_denominator_is_none_not_zero() -> None:
    got = kpis.compute([], Options())
    assert got["contacts"] == 0 and got["spam_filtered"] == 0
    for name in ("aht", "asa", "abandonment_rate", "service_level", "occupancy", "fcr", "csat",
                 "nps", "ces", "clv", "ai_containment", "ack_seconds"):  # fmt: skip
        assert got[name] is None, name
    # only short abandons: nothing left to rate
    only_short = [rec(1, queued_at=T0, abandoned_at=s(2))]
    assert kpis.compute(only_short, Options())["abandonment_rate"] is None
    assert kpis.compute(only_short, Options())["service_level"] is None
    assert kpis.compute(SET, Options(), agent_seconds={})["occupancy"] is None


def test_occupancy_counts_only_the_given_agents_and_caps_at_one() -> None:
    assert kpis.occupancy(SET, {"a1": 660.0}) == pytest.approx(0.5)  # r1's 330 of 660
    assert kpis.occupancy(SET, {"a2": 50.0}) == 1.0  # 100 s handled in 50 s staffed: capped


def test_derived_times() -> None:
    r1, r7 = SET[0], SET[6]
    assert (r1.wait_seconds, r1.talk_seconds, r1.wrap_seconds, r1.handle_seconds) == (
        10, 270, 30, 330
    )  # fmt: skip
    assert r7.wrap_seconds is None and r7.handle_seconds is None
    assert rec(9, queued_at=T0).wait_seconds is None  # still waiting


# ---- first contact resolution -------------------------------------------------------------------


def test_first_contact_resolution() -> None:
    day = timedelta(days=1)
    records = [
        rec(1, contact_id="c1", intent="info"),  # comes back in 3 days: not resolved
        rec(2, contact_id="c1", intent="info", arrived_at=T0 + 3 * day),
        rec(3, contact_id="c2", intent="info"),  # comes back about something else: resolved
        rec(4, contact_id="c2", intent="billing", arrived_at=T0 + day),
        rec(5, contact_id="c3", intent="info"),  # back after 8 days: resolved
        rec(6, contact_id="c4", intent=None),  # back at exactly 7 days: not resolved
        rec(7, contact_id="c5", intent="info", queued_at=T0, abandoned_at=s(40)),  # ineligible
        rec(8, contact_id="c6", spam=True),  # ineligible
        rec(9, contact_id="c7", intent="info", arrived_at=T0 + 15 * day),  # too recent: unknown
        rec(10, contact_id="c8", intent="info", direction="outbound"),  # ineligible
    ]
    later = [
        rec(11, contact_id="c3", intent="info", arrived_at=T0 + 8 * day),
        rec(12, contact_id="c4", intent=None, arrived_at=T0 + 7 * day),
    ]
    marked = kpis.mark_first_contact(records, later=later, fcr_days=7, as_of=T0 + 20 * day)
    assert [r.fcr for r in marked] == [False, True, True, True, True, False, None, None, None,
                                       None]  # fmt: skip
    got = kpis.compute(marked, Options())
    assert got["fcr"] == pytest.approx(4 / 6)
    assert got["fcr_pending"] == 1
    # on day 7 only the day-0 records are decided; on day 5 none, not even record 1 whose
    # repeat is known already (deciding failures early would bias towards failure)
    early = kpis.mark_first_contact(records, later=later, fcr_days=7, as_of=T0 + 7 * day)
    assert [r.fcr for r in early][:6] == [False, None, True, None, True, False]
    earlier = kpis.mark_first_contact(records, later=later, fcr_days=7, as_of=T0 + 5 * day)
    assert [r.fcr for r in earlier] == [None] * 10


# ---- grouping -----------------------------------------------------------------------------------


def test_group_by_every_dimension() -> None:
    late = rec(9, arrived_at=datetime(2026, 12, 7, 23, 30, tzinfo=UTC))  # 00:30 on the 8th
    records = [*SET, late]
    assert list(kpis.group(records, "queue", MADRID)) == ["-", "q1", "q2"]
    assert {k: len(v) for k, v in kpis.group(records, "agent", MADRID).items()} == {
        "-": 6, "a1": 2, "a2": 1,
    }  # fmt: skip
    assert list(kpis.group(records, "channel", MADRID)) == ["voice", "whatsapp"]
    assert list(kpis.group(records, "intent", MADRID)) == ["-", "info"]
    assert {k: len(v) for k, v in kpis.group(records, "hour", MADRID).items()} == {
        "00": 1, "11": 8,
    }  # fmt: skip
    assert list(kpis.group(records, "day", MADRID)) == ["2026-12-07", "2026-12-08"]
    with pytest.raises(ValueError, match="unknown dimension"):
        kpis.group(records, "weather", MADRID)


# ---- presence -----------------------------------------------------------------------------------


def test_staffed_seconds_from_presence_changes() -> None:
    changes = [
        ("a1", "available", s(-3600)),  # before the window: opens it available
        ("a1", "away", s(600)),
        ("a1", "wrapup", s(900)),
        ("a1", "offline", s(1000)),
        ("a2", "busy", s(0)),  # busy (aux) is not staffed
        ("a2", "available", s(1800)),
    ]
    spans = kpis.presence_spans(changes, start=T0, end=s(3600))
    got = kpis.staffed_seconds(spans, start=T0, end=s(3600))
    assert got == {"a1": 600 + 100, "a2": 1800}
    assert kpis.staffed_seconds(spans, start=s(500), end=s(950)) == {"a1": 100 + 50}


# ---- properties ---------------------------------------------------------------------------------

_offsets = st.integers(min_value=0, max_value=600)


@st.composite
def records(draw: st.DrawFn) -> Record:
    n = draw(st.integers(0, 10**6))
    arrived = T0 + timedelta(minutes=draw(st.integers(0, 60 * 24 * 3)))
    queued = draw(st.booleans())
    outcome = draw(st.sampled_from(["answered", "abandoned", "waiting"])) if queued else "bot"
    wait = timedelta(seconds=draw(_offsets))
    kw: dict[str, object] = {
        "arrived_at": arrived,
        "contact_id": draw(st.sampled_from(["c1", "c2", "c3"])),
        "intent": draw(st.sampled_from([None, "info", "billing"])),
        "channel": draw(st.sampled_from(["voice", "whatsapp"])),
        "spam": draw(st.booleans()),
        "direction": draw(st.sampled_from(["inbound", "inbound", "outbound"])),
        "csat": draw(st.none() | st.integers(1, 5)),
        "nps": draw(st.none() | st.integers(0, 10)),
    }
    if queued:
        kw.update(queued_at=arrived, queue_id=draw(st.sampled_from(["q1", "q2"])))
    if outcome == "answered":
        kw.update(answered_at=arrived + wait, ended_at=arrived + 2 * wait, agent_id="a1",
                  handled_by_bot=False)  # fmt: skip
    elif outcome == "abandoned":
        kw.update(abandoned_at=arrived + wait)
    return rec(n, **kw)


RATES = ("abandonment_rate", "service_level", "occupancy", "fcr", "csat", "ai_containment")


@settings(max_examples=150, deadline=None)
@given(st.lists(records(), max_size=40), st.sampled_from(kpis.SL_METHODS))
def test_rates_are_shares(found: list[Record], method: kpis.SlMethod) -> None:
    marked = kpis.mark_first_contact(found, fcr_days=2, as_of=T0 + timedelta(days=10))
    got = kpis.compute(marked, Options(service_level_method=method), agent_seconds={"a1": 3600})
    for name in RATES:
        value = got[name]
        assert value is None or 0.0 <= value <= 1.0, (name, value)
    assert got["nps"] is None or -100.0 <= got["nps"] <= 100.0
    levels = [kpis.service_level(found, Options(service_level_method=m)) for m in kpis.SL_METHODS]
    against, excluded, short_excluded = levels
    if against is not None and excluded is not None and short_excluded is not None:
        assert against <= short_excluded <= excluded


@settings(max_examples=150, deadline=None)
@given(st.lists(records(), max_size=40), st.sampled_from(kpis.DIMENSIONS))
def test_grouping_partitions_the_set(found: list[Record], dimension: str) -> None:
    unique = [replace(r, interaction_id=f"ix{i}") for i, r in enumerate(found)]
    groups = kpis.group(unique, dimension, MADRID)
    members = [r.interaction_id for rs in groups.values() for r in rs]
    assert sorted(members) == sorted(r.interaction_id for r in unique)
    counts = [kpis.compute(rs, Options())["contacts"] for rs in groups.values()]
    assert sum(c or 0 for c in counts) == len(unique)
