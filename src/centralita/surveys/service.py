"""Surveys' service (filled in by this package's work)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from centralita.events.envelope import Envelope

if TYPE_CHECKING:
    from centralita.bootstrap import Container


async def handle_event(container: Container, envelope: Envelope) -> None:
    """``conversation.closed`` / ``interaction.ended``: send the tenant's survey, if any."""
