"""API-key principals remembered per process for a few seconds: a read need not also be an
API-key query.

The revocation bound: a key revoked, or whose user or tenant is disabled, by another process
(another web process, the CLI, ``centralita tenant apply``) stops working here within
``TTL_SECONDS``. In this process it stops at once: the endpoints that revoke call
``forget_all`` after their transaction commits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from centralita.access.principal import Principal

TTL_SECONDS = 5.0
MAX_ENTRIES = 10_000


@dataclass
class PrincipalCache:
    """Keyed by the key's SHA-256 (what the database stores), never by the key itself."""

    ttl: float = TTL_SECONDS
    max_entries: int = MAX_ENTRIES
    clock: Callable[[], float] = time.monotonic  # tests move it
    # Bumped by ``forget_all``: a verification that began before it is not remembered.
    generation: int = 0
    _entries: dict[str, tuple[Principal, float]] = field(default_factory=dict)

    def get(self, digest: str, *, now: float) -> Principal | None:
        found = self._entries.get(digest)
        if found is None:
            return None
        principal, expires = found
        if now >= expires:
            del self._entries[digest]
            return None
        return principal

    def put(self, digest: str, principal: Principal, *, now: float, generation: int) -> None:
        """Remember a principal just verified against the database.

        ``generation`` is the one read before that query: when a ``forget_all`` came in
        between, the query may have seen the key before its revocation committed, so the
        answer is used once and not kept."""
        if self.ttl <= 0 or generation != self.generation:
            return
        if digest not in self._entries and len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]  # the oldest entry
        self._entries[digest] = (principal, now + self.ttl)

    def forget_all(self) -> None:
        """A key was revoked or a user disabled here: verify every key again."""
        self._entries.clear()
        self.generation += 1

    def __len__(self) -> int:
        return len(self._entries)
