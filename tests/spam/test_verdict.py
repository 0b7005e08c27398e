"""The spam decision, table-driven: lists, then the caller's feedback, then the model."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from centralita.spam.verdict import KNOWN_CUSTOMER_MIN_SCORE, SpamDecision, decide_spam

ME = "+34900000999"
PEST = "+34911111111"
CALLER = "+34600111222"
ALLOW = frozenset({ME, "friend@example.com"})
BLOCK = frozenset({PEST, "pest@example.com"})
NONE: frozenset[str] = frozenset()
KNOWN_MIN = KNOWN_CUSTOMER_MIN_SCORE


@dataclass(frozen=True)
class Case:
    name: str
    address: str | None
    feedback: bool | None
    nlu_spam: bool
    score: float
    known: bool
    spam: bool
    source: str
    allow: frozenset[str] = ALLOW
    block: frozenset[str] = BLOCK


CASES = [
    # name, address, caller feedback, model says spam, score, known customer -> spam, source
    Case("allow beats the model", ME, None, True, 0.99, False, False, "list"),
    Case("allow beats spam feedback", ME, True, True, 0.99, False, False, "list"),
    Case("allow beats block", ME, None, True, 0.9, False, False, "list", block=BLOCK | {ME}),
    Case("block beats the model", PEST, None, False, 0.01, False, True, "list"),
    Case("block beats ham feedback", "pest@example.com", False, False, 0.0, True, True, "list"),
    Case("spam feedback on the caller", CALLER, True, False, 0.05, False, True, "caller"),
    Case("ham feedback: never again", CALLER, False, True, 0.99, False, False, "caller"),
    Case("spam feedback beats known", CALLER, True, False, 0.0, True, True, "caller"),
    Case("the model says spam", CALLER, None, True, 0.7, False, True, "model"),
    Case("the model says ham", CALLER, None, False, 0.2, False, False, "model"),
    Case("known customer, 0.8", CALLER, None, True, 0.8, True, False, "model"),
    Case("known customer, 0.9", CALLER, None, True, KNOWN_MIN, True, True, "model"),
    Case("known customer, model ham", CALLER, None, False, 0.95, True, False, "model"),
    Case("no address: no lists", None, None, True, 0.6, False, True, "model"),
    Case("no lists at all", CALLER, None, False, 0.1, False, False, "model", NONE, NONE),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_decide_spam(case: Case) -> None:
    decision = decide_spam(
        address=case.address,
        allow=case.allow,
        block=case.block,
        caller_feedback=case.feedback,
        nlu_spam=case.nlu_spam,
        nlu_score=case.score,
        is_known_customer=case.known,
    )
    assert (decision.is_spam, decision.source) == (case.spam, case.source)
    assert decision.reason


def test_decision_is_plain_frozen_data() -> None:
    decision = decide_spam(
        address=None,
        allow=(),
        block=(),
        caller_feedback=None,
        nlu_spam=False,
        nlu_score=0.0,
        is_known_customer=False,
    )
    assert isinstance(decision, SpamDecision)
    with pytest.raises(AttributeError):
        decision.is_spam = True  # type: ignore[misc]
