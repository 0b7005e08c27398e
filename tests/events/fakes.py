"""Buses for relay tests: record, fail on cue, or die mid-batch like a killed process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from centralita.events.envelope import Envelope


class RecordingBus:
    def __init__(self) -> None:
        self.published: list[Envelope] = []

    @property
    def ids(self) -> list[str]:
        return [e.event_id for e in self.published]

    def subscribe(self, group: str, names: object, handler: object) -> None:
        raise NotImplementedError

    async def publish(self, envelope: Envelope) -> None:
        await asyncio.sleep(0)  # let concurrent relays interleave
        self.published.append(envelope)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class FlakyBus(RecordingBus):
    """Raises ``ConnectionError`` whenever ``fails(envelope)`` says so."""

    def __init__(self, fails: Callable[[Envelope], bool]) -> None:
        super().__init__()
        self.fails = fails
        self.failures = 0

    async def publish(self, envelope: Envelope) -> None:
        if self.fails(envelope):
            self.failures += 1
            raise ConnectionError("bus unreachable")
        await super().publish(envelope)


class ProcessKilled(BaseException):
    """Not an ``Exception``: nothing in the relay may catch it, as with SIGKILL."""


class DyingBus(RecordingBus):
    """Accepts ``survive`` events, then the process "dies" before the relay marks them."""

    def __init__(self, survive: int) -> None:
        super().__init__()
        self.survive = survive

    async def publish(self, envelope: Envelope) -> None:
        if len(self.published) >= self.survive:
            raise ProcessKilled
        await super().publish(envelope)
