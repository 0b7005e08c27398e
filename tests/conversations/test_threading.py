"""Table tests for the pure threading rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from centralita.conversations.threading import (
    ConversationSummary,
    InteractionSummary,
    ThreadAction,
    pick_conversation,
    pick_interaction,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def conv(id_: str, status: str, last: timedelta, closed: timedelta | None = None):  # type: ignore[no-untyped-def]
    return ConversationSummary(id_, status, NOW - last, None if closed is None else NOW - closed)


@pytest.mark.parametrize(
    ("candidates", "window", "expected"),
    [
        ([], 72 * H, (ThreadAction.CREATE, None)),
        ([conv("a", "open", 1 * H)], 72 * H, (ThreadAction.CONTINUE, "a")),
        ([conv("a", "pending", 500 * H)], 72 * H, (ThreadAction.CONTINUE, "a")),
        (
            [conv("a", "open", 5 * H), conv("b", "open", 1 * H)],
            72 * H,
            (ThreadAction.CONTINUE, "b"),
        ),
        ([conv("a", "closed", 2 * H, closed=2 * H)], 72 * H, (ThreadAction.REOPEN, "a")),
        ([conv("a", "closed", 80 * H, closed=73 * H)], 72 * H, (ThreadAction.CREATE, None)),
        ([conv("a", "closed", 1 * H, closed=1 * H)], timedelta(0), (ThreadAction.CREATE, None)),
        (
            [conv("a", "closed", 1 * H, closed=1 * H), conv("b", "open", 9 * H)],
            72 * H,
            (ThreadAction.CONTINUE, "b"),
        ),
        (
            [conv("a", "closed", 30 * H, closed=30 * H), conv("b", "closed", 2 * H, closed=2 * H)],
            72 * H,
            (ThreadAction.REOPEN, "b"),
        ),
    ],
)
def test_pick_conversation(candidates, window, expected) -> None:  # type: ignore[no-untyped-def]
    decision = pick_conversation(candidates, now=NOW, reopen_window=window)
    assert (decision.action, decision.conversation_id) == expected


def test_pick_interaction_joins_the_live_session_on_the_same_channel() -> None:
    live = [
        InteractionSummary("ix1", "sms", None),
        InteractionSummary("ix2", "whatsapp", None),
        InteractionSummary("ix0", "whatsapp", NOW),
    ]
    assert pick_interaction(live, channel="whatsapp") == "ix2"
    assert pick_interaction(live, channel="email") is None
