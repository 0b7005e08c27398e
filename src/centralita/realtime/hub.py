"""One hub per process: the bus's events fanned out to this process's sockets, per tenant.

The hub subscribes to the bus under a per-process group, so with Redis every process gets
every event (a broadcast), and each socket gets those its viewer may see. A socket that
cannot keep up (its queue of 1,000 events is full) is told to resync rather than silently
missing events; the desktop then reloads its state and resumes from the last sequence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from dataclasses import dataclass, field

from centralita.events.bus import EventBus
from centralita.events.envelope import Envelope
from centralita.realtime.filters import NAMES, Viewer

log = logging.getLogger(__name__)
QUEUE_SIZE = 1000
USER_UPDATED = "user.updated"
# A user whose access changed loses their open sockets with their sessions.
_REVOKING = frozenset({"disabled", "role", "password"})


@dataclass(eq=False)
class Connection:
    tenant_id: str
    viewer: Viewer
    queue: asyncio.Queue[Envelope] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    lagging: bool = False
    user_id: str | None = None
    revoked: bool = False  # the user was disabled or changed: the socket must close


class Hub:
    def __init__(self) -> None:
        self._tenants: dict[str, set[Connection]] = {}
        self.group = f"realtime:{os.getpid()}:{secrets.token_hex(3)}"

    def attach(self, bus: EventBus) -> None:
        bus.subscribe(self.group, NAMES | {USER_UPDATED}, self.handle)

    def connect(self, tenant_id: str, viewer: Viewer, user_id: str | None = None) -> Connection:
        connection = Connection(tenant_id, viewer, user_id=user_id)
        self._tenants.setdefault(tenant_id, set()).add(connection)
        return connection

    def disconnect(self, connection: Connection) -> None:
        group = self._tenants.get(connection.tenant_id)
        if group is not None:
            group.discard(connection)
            if not group:
                del self._tenants[connection.tenant_id]

    @property
    def connections(self) -> int:
        return sum(len(g) for g in self._tenants.values())

    async def handle(self, envelope: Envelope) -> None:
        """Never raises: a slow or broken socket must not make the relay retry the event."""
        if envelope.name == USER_UPDATED:
            self._revoke(envelope)
            return
        for connection in list(self._tenants.get(envelope.tenant_id, ())):
            try:
                connection.viewer.track(envelope.name, envelope.payload)
                if connection.viewer.sees(envelope.name, envelope.payload):
                    connection.queue.put_nowait(envelope)
            except asyncio.QueueFull:
                connection.lagging = True
            except Exception:  # pragma: no cover - defensive
                log.exception("realtime fan-out failed")

    def _revoke(self, envelope: Envelope) -> None:
        user_id = envelope.payload.get("user_id")
        fields = envelope.payload.get("fields") or []
        if not user_id or not _REVOKING & set(fields):
            return
        for connection in list(self._tenants.get(envelope.tenant_id, ())):
            if connection.user_id == user_id:
                connection.revoked = True
                with contextlib.suppress(asyncio.QueueFull):
                    connection.queue.put_nowait(envelope)  # wakes the socket's loop
