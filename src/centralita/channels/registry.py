"""The one table of channel adapters by provider name."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from centralita.channels.base import ChannelAdapter, ConfigProblem
from centralita.channels.meta import config as meta_config
from centralita.channels.meta.whatsapp import WhatsAppCloudAdapter
from centralita.channels.simulator.adapter import SimulatorAdapter
from centralita.channels.twilio import config as twilio_config
from centralita.channels.twilio.sms import TwilioAdapter

ConfigCheck = Callable[[str, Mapping[str, object], bool], list[ConfigProblem]]
# What each provider needs of its accounts in the tenant file; providers not listed need
# nothing beyond the schema.
CONFIG_CHECKS: dict[str, ConfigCheck] = {
    "twilio": twilio_config.problems,
    "meta": meta_config.problems,
}


def default_adapters(*, public_base_url: str = "") -> dict[str, ChannelAdapter]:
    """One adapter per provider. ``public_base_url`` is where providers reach us (status
    callbacks are requested there)."""
    adapters: list[ChannelAdapter] = [
        SimulatorAdapter(),
        TwilioAdapter(public_base_url=public_base_url),
        WhatsAppCloudAdapter(),
    ]
    return {a.provider: a for a in adapters}


class AdapterRegistry:
    def __init__(self, adapters: Mapping[str, ChannelAdapter]) -> None:
        self._adapters = dict(adapters)

    def get(self, provider: str) -> ChannelAdapter | None:
        return self._adapters.get(provider)
