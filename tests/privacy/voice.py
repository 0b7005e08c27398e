"""A clinic with a Twilio voice number, and signed call webhooks (Twilio's real format)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import select

from centralita.bootstrap import Container
from centralita.channels.models import ChannelAccount
from centralita.channels.twilio import signature
from centralita.tenants.config.apply import apply_document
from centralita.tenants.config.schema import ChannelConfig, PrivacyConfig
from tests.privacy.seed import MONDAY_10
from tests.receptionist.harness import demo_document

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-for-voice-0002"
OUR_NUMBER = "+34910000003"
CALLER = "+34633444555"
CALL = "CA" + "7" * 32


async def voice_clinic(
    container: Container, *, language: str = "es-ES", record_calls: bool = True,
    privacy: dict[str, Any] | None = None,
) -> tuple[str, str]:  # fmt: skip
    """(tenant id, voice account id)."""
    doc = demo_document("clinica-dental-sonrisa", record_calls=record_calls)
    # a first call is answered in the tenant's language (later ones in the caller's)
    doc.tenant.locale = "en" if language.startswith("en") else "es"
    doc.receptionist.languages = ["es", "en"]
    doc.privacy = PrivacyConfig.model_validate(privacy or {})
    doc.channels.append(
        ChannelConfig(name="voz", kind="voice", provider="twilio", address=OUR_NUMBER,
                      secret=TOKEN, settings={"account_sid": SID, "voice_language": language})
    )  # fmt: skip
    async with container.sessions() as session, session.begin():
        await apply_document(session, doc, actor="tests", environ={})
    async with container.sessions() as session:
        account = await session.scalar(select(ChannelAccount).where(ChannelAccount.name == "voz"))
        assert account is not None
    container.clock = lambda: MONDAY_10
    return account.tenant_id, account.id


async def call(
    client: httpx.AsyncClient, account_id: str, query: str = "", **fields: str
) -> httpx.Response:
    params = {"CallSid": CALL, "AccountSid": SID, "From": CALLER, "To": OUR_NUMBER,
              "Direction": "inbound", "CallStatus": "in-progress", **fields}  # fmt: skip
    path = f"/hooks/{account_id}" + (f"?{query}" if query else "")
    sig = signature.compute(TOKEN, "http://testserver" + path, {k: [v] for k, v in params.items()})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig}
    return await client.post(path, content=urlencode(params).encode(), headers=headers)


def says(twiml: str) -> list[str]:
    return re.findall(r"<Say[^>]*>(.*?)</Say>", twiml, re.S)
