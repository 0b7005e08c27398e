"""The pure email threading rules: join by Message-ID, carefully by subject, never glue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from centralita.conversations.threading import (
    EmailThreadCandidate,
    pick_by_subject,
    pick_referenced,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def mail(
    pid: str, subject: str | None, days_ago: float, contact: str = "ct_1"
) -> EmailThreadCandidate:
    return EmailThreadCandidate(
        pid, f"cv_{pid}", f"ix_{pid}", contact, subject, NOW - timedelta(days=days_ago)
    )


def test_the_first_answered_message_wins_and_only_for_the_same_contact() -> None:
    found = [mail("a", "Cita", 3), mail("b", "Cita", 1), mail("c", "x", 1, contact="ct_2")]
    assert pick_referenced(["b", "a"], found, contact_id="ct_1") == found[1]
    assert pick_referenced(["zz", "a"], found, contact_id="ct_1") == found[0]
    assert pick_referenced(["c"], found, contact_id="ct_1") is None  # someone else's thread
    assert pick_referenced([], found, contact_id="ct_1") is None


@pytest.mark.parametrize(
    ("subject", "answers", "candidates", "expected"),
    [
        ("Re: Cita", False, [mail("a", "Cita", 5)], "a"),
        ("RE: cita", False, [mail("a", "Cita", 5), mail("b", "Cita", 2)], "b"),  # the latest
        ("Cita", True, [mail("a", "Cita", 5)], "a"),  # an In-Reply-To we do not know
        ("Cita", False, [mail("a", "Cita", 5)], None),  # not a reply: a new thread
        ("Re: Cita", False, [mail("a", "Cita", 31)], None),  # too old
        ("Re: Hola", False, [mail("a", "Hola", 1)], None),  # says nothing
        ("Re: Consulta", True, [mail("a", "Consulta", 1)], None),
        ("Re: Cita", False, [mail("a", "Presupuesto", 1)], None),  # another matter
        ("Re:", False, [mail("a", "", 1)], None),
    ],
)
def test_subject_fallback(
    subject: str, answers: bool, candidates: list[EmailThreadCandidate], expected: str | None
) -> None:
    chosen = pick_by_subject(candidates, subject=subject, answers_something=answers, now=NOW)
    assert (chosen.provider_message_id if chosen else None) == expected
