"""What a Twilio channel account needs in the tenant file (checked at validate and apply)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from centralita.channels.base import ConfigProblem
from centralita.channels.twilio import telnyx

KINDS = frozenset({"sms", "voice"})  # docs/providers/twilio.md
# Who signs the webhooks: Twilio or SignalWire (an HMAC keyed with the account's secret), or
# Telnyx (Ed25519, checked with settings.telnyx_public_key).
SIGNATURES = ("twilio", "telnyx")
TWILIO_SID = re.compile(r"AC[0-9a-fA-F]{32}")
# a SignalWire project id, or a Telnyx account's id: both are what those providers send as
# AccountSid
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def account_sid_ok(value: object) -> bool:
    return isinstance(value, str) and bool(TWILIO_SID.fullmatch(value) or UUID.fullmatch(value))


def problems(kind: str, settings: Mapping[str, object], has_secret: bool) -> list[ConfigProblem]:
    found: list[ConfigProblem] = []
    if kind not in KINDS:
        found.append((("kind",), f"twilio supports {', '.join(sorted(KINDS))} here"))
    scheme = settings.get("signature", "twilio")
    if scheme not in SIGNATURES:
        found.append((("settings", "signature"), "twilio (also SignalWire) or telnyx"))
    by_telnyx = scheme == "telnyx"
    sid = settings.get("account_sid")
    # Telnyx's public key already ties the webhooks to one Telnyx account: the id is optional
    if not (by_telnyx and sid is None) and not account_sid_ok(sid):
        found.append(
            (
                ("settings", "account_sid"),
                "required: AC followed by 32 hex digits (Twilio), or a UUID "
                "(a SignalWire project id, a Telnyx account id)",
            )
        )
    if by_telnyx:
        wrong = telnyx.public_key_problem(settings.get("telnyx_public_key"))
        if wrong is not None:
            found.append((("settings", "telnyx_public_key"), wrong))
        if kind != "voice":
            found.append((("settings", "signature"), "telnyx (TeXML) is for voice accounts"))
    elif "telnyx_public_key" in settings:
        found.append((("settings", "telnyx_public_key"), "only with signature: telnyx"))
    env = settings.get("api_token_env")
    if env is not None and (not isinstance(env, str) or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", env)):
        found.append((("settings", "api_token_env"), "an environment variable name"))
    base = settings.get("api_base_url")
    if base is not None and (
        not isinstance(base, str) or not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", base)
    ):
        found.append((("settings", "api_base_url"), "an http(s) URL, e.g. https://api.twilio.com"))
    for flag in ("queue_calls", "voicemail"):
        if flag in settings and not isinstance(settings[flag], bool):
            found.append((("settings", flag), "true or false"))
    if kind != "voice" and any(f in settings for f in ("queue_calls", "voicemail")):
        found.append((("settings",), "queue_calls and voicemail are for voice accounts"))
    music = settings.get("hold_music_url")
    if music is not None and (
        not isinstance(music, str) or not re.fullmatch(r"https?://\S+", music)
    ):
        found.append((("settings", "hold_music_url"), "an http(s) URL of an audio file"))
    # Telnyx signs with its own key pair: no shared secret is needed to verify its webhooks
    if not has_secret and not by_telnyx:
        found.append(
            (("secret_env",), "the auth token (SignalWire: the signing key): secret or secret_env")
        )
    return found
