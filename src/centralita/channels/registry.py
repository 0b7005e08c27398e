"""The one table of channel adapters by provider name."""

from __future__ import annotations

from collections.abc import Mapping

from centralita.channels.base import ChannelAdapter
from centralita.channels.simulator.adapter import SimulatorAdapter


def default_adapters() -> dict[str, ChannelAdapter]:
    adapters: list[ChannelAdapter] = [SimulatorAdapter()]
    return {a.provider: a for a in adapters}


class AdapterRegistry:
    def __init__(self, adapters: Mapping[str, ChannelAdapter]) -> None:
        self._adapters = dict(adapters)

    def get(self, provider: str) -> ChannelAdapter | None:
        return self._adapters.get(provider)
