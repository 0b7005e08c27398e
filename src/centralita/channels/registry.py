"""The one table of channel adapters by provider name."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from centralita.channels.base import ChannelAdapter, ConfigProblem
from centralita.channels.email import config as email_config
from centralita.channels.email.adapter import EmailAdapter, SmtpServer
from centralita.channels.meta import config as meta_config
from centralita.channels.meta.whatsapp import WhatsAppCloudAdapter
from centralita.channels.simulator.adapter import SimulatorAdapter
from centralita.channels.twilio import config as twilio_config
from centralita.channels.twilio.sms import TwilioAdapter
from centralita.channels.webchat import config as webchat_config
from centralita.channels.webchat.adapter import WebChatAdapter

ConfigCheck = Callable[[str, Mapping[str, object], bool], list[ConfigProblem]]
# What each provider needs of its accounts in the tenant file; providers not listed need
# nothing beyond the schema.
CONFIG_CHECKS: dict[str, ConfigCheck] = {
    "twilio": twilio_config.problems,
    "meta": meta_config.problems,
    "smtp": email_config.problems,
    "imap": email_config.imap_problems,
    "webchat": webchat_config.problems,
}
# What each provider needs of an account's ``address`` (a message, or None when fine).
ADDRESS_CHECKS: dict[str, Callable[[str], str | None]] = {
    "smtp": email_config.address_problem,
    "imap": email_config.address_problem,
}


def default_adapters(
    *, public_base_url: str = "", smtp: SmtpServer | None = None
) -> dict[str, ChannelAdapter]:
    """One adapter per provider. ``public_base_url`` is where providers reach us (status
    callbacks are requested there); ``smtp`` is the outgoing mail server of email accounts
    that name none of their own."""
    adapters: list[ChannelAdapter] = [
        SimulatorAdapter(),
        TwilioAdapter(public_base_url=public_base_url),
        WhatsAppCloudAdapter(),
        EmailAdapter("smtp", smtp=smtp),
        EmailAdapter("imap", smtp=smtp),
        WebChatAdapter(),
    ]
    return {a.provider: a for a in adapters}


class AdapterRegistry:
    def __init__(self, adapters: Mapping[str, ChannelAdapter]) -> None:
        self._adapters = dict(adapters)

    def get(self, provider: str) -> ChannelAdapter | None:
        return self._adapters.get(provider)
