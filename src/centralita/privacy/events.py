"""Events emitted by the privacy domain. None of them names the person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from centralita.events.envelope import Event


@dataclass(frozen=True, kw_only=True)
class ContactErasureBlocked(Event):
    """A contact was taken out of the live data; its sealed copy goes at ``destroy_after``."""

    name: ClassVar[str] = "contact.erasure_blocked"
    erasure_id: str
    contact_id: str
    destroy_after: str


@dataclass(frozen=True, kw_only=True)
class ContactErasureDestroyed(Event):
    """The sealed copy of an erased contact was destroyed: nothing of it is left."""

    name: ClassVar[str] = "contact.erasure_destroyed"
    erasure_id: str
    contact_id: str


@dataclass(frozen=True, kw_only=True)
class RetentionApplied(Event):
    """The daily retention job scrubbed old transcripts and forgot old recordings."""

    name: ClassVar[str] = "privacy.retention_applied"
    transcripts: int
    recordings: int
