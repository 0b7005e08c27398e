"""Who signs a Twilio-compatible account's webhooks: Telnyx (TeXML, Ed25519) or SignalWire
(LaML, ``X-SignalWire-Signature``), next to Twilio's own ``X-Twilio-Signature``.

Requests are signed here exactly as the providers document it, with a key pair made by the
test, and posted through the real app to ``/hooks/{account_id}``."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select

from centralita.bootstrap import Container, build_container
from centralita.channels.models import ChannelAccount
from centralita.channels.registry import default_adapters
from centralita.channels.twilio import signature, telnyx
from centralita.channels.twilio.sms import TwilioAdapter
from centralita.config import Settings
from centralita.conversations.models import Interaction, Message
from centralita.core.clock import as_utc
from centralita.tenants.config.apply import apply_document
from centralita.tenants.config.checks import check_document
from centralita.tenants.config.schema import ChannelConfig
from tests.channels.fake_twilio import fake_twilio
from tests.receptionist.harness import demo_document

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Madrid, a Monday: open
OUR_NUMBER = "+34910000002"
CALLER = "+34612345678"
TELNYX_ACCOUNT = "f5586561-8ff0-4291-a51b-c7dfe4139ff9"  # TeXML's AccountSid is a UUID
TELNYX_CALL = "v3:9X2vxPDFY2RHSJ1EdMS0RHRksMTg7ldNxdjWbVr9zBjbGjGsSe-aiQ"
SIGNALWIRE_PROJECT = "0e6b2b4c-5d0a-4c8e-9a39-3f5b8a1c7d20"
SIGNALWIRE_KEY = "PSK_signalwire-signing-key-0001"
SIGNALWIRE_CALL = "3f1c2a4e-7b9d-4e0f-8a6c-5d2b1e9f0a37"
TWILIO_TOKEN = "twilio-auth-token-for-voice-0001"


class Clock:
    """The adapter's clock, which a test moves."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def container(settings: Settings, clock: Clock) -> AsyncIterator[Container]:
    """The app's container, with the Twilio adapter on the test's clock."""
    adapters = default_adapters(public_base_url=settings.public_base_url)
    adapters["twilio"] = TwilioAdapter(public_base_url=settings.public_base_url, clock=clock)
    c = build_container(settings, adapters=adapters, run_workers=False)
    await c.start()
    try:
        yield c
    finally:
        await c.stop()


def _public_key(private: Ed25519PrivateKey) -> str:
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


async def _account(container: Container, secret: str | None, **settings: Any) -> str:
    doc = demo_document("clinica-dental-sonrisa")
    doc.channels.append(
        ChannelConfig(name="voz", kind="voice", provider="twilio", address=OUR_NUMBER,
                      secret=secret, settings={"voice_language": "es-ES", **settings})
    )  # fmt: skip
    assert [p for p in check_document(doc) if p[0][:2] == ("channels", len(doc.channels) - 1)] == []
    async with container.sessions() as session, session.begin():
        await apply_document(session, doc, actor="tests", environ={})
    async with container.sessions() as session:
        account = await session.scalar(select(ChannelAccount).where(ChannelAccount.name == "voz"))
        assert account is not None
    container.clock = lambda: NOW
    return account.id


async def _messages(container: Container) -> list[Message]:
    async with container.sessions() as session:
        stmt = select(Message).order_by(Message.created_at, Message.id)
        return list((await session.scalars(stmt)).all())


def _texml_form(**fields: str) -> bytes:
    """A TeXML voice webhook's body: form-encoded, with Twilio's parameter names."""
    params = {"AccountSid": TELNYX_ACCOUNT, "CallSid": TELNYX_CALL, "CallSidLegacy": TELNYX_CALL,
              "From": CALLER, "To": OUR_NUMBER, "Direction": "inbound",
              "CallStatus": "in-progress", **fields}  # fmt: skip
    return urlencode(params).encode()


def _telnyx_headers(private: Ed25519PrivateKey, body: bytes, at: datetime) -> dict[str, str]:
    """Signed as Telnyx documents it: Ed25519 over ``{timestamp}|{raw body}``."""
    timestamp = str(int(at.timestamp()))
    signed = private.sign(timestamp.encode() + b"|" + body)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "telnyx-timestamp": timestamp,
        "telnyx-signature-ed25519": base64.b64encode(signed).decode("ascii"),
    }


async def _post(
    client: httpx.AsyncClient,
    account_id: str,
    body: bytes,
    headers: dict[str, str],
    query: str = "",
) -> httpx.Response:
    path = f"/hooks/{account_id}" + (f"?{query}" if query else "")
    return await client.post(path, content=body, headers=headers)


# ---- Telnyx ---------------------------------------------------------------------------------


async def test_a_telnyx_signed_call_is_answered_with_twiml_and_stored(
    container: Container, client: httpx.AsyncClient
) -> None:
    key = Ed25519PrivateKey.generate()
    account_id = await _account(container, None, signature="telnyx",
                                telnyx_public_key=_public_key(key),
                                account_sid=TELNYX_ACCOUNT)  # fmt: skip
    body = _texml_form(CallStatus="ringing")
    r = await _post(client, account_id, body, _telnyx_headers(key, body, NOW))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/xml")
    assert r.text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')
    assert f'action="http://testserver/hooks/{account_id}?turn=1"' in r.text

    body = _texml_form(SpeechResult="quiero pedir cita para una limpieza", Confidence="0.95")
    r = await _post(client, account_id, body, _telnyx_headers(key, body, NOW), "turn=1")
    assert r.status_code == 200 and "<Say" in r.text, r.text
    spoken = [m for m in await _messages(container) if m.direction == "inbound"]
    assert [m.provider_message_id for m in spoken] == [f"{TELNYX_CALL}:start", f"{TELNYX_CALL}:1"]
    assert spoken[1].body == "quiero pedir cita para una limpieza"


async def test_a_telnyx_account_refuses_what_its_key_did_not_sign(
    container: Container, client: httpx.AsyncClient
) -> None:
    key, stranger = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    # the account also has a secret: a Twilio signature made with it must still be refused
    account_id = await _account(container, TWILIO_TOKEN, signature="telnyx",
                                telnyx_public_key=_public_key(key))  # fmt: skip
    body = _texml_form(CallStatus="ringing")
    good = _telnyx_headers(key, body, NOW)
    url = f"http://testserver/hooks/{account_id}"
    twilio_signed = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature.compute(
            TWILIO_TOKEN, url, parse_qs(body.decode(), keep_blank_values=True)
        ),
    }
    refused: dict[str, tuple[bytes, dict[str, str]]] = {
        "another key": (body, _telnyx_headers(stranger, body, NOW)),
        "random bytes": (body, {**good, "telnyx-signature-ed25519": base64.b64encode(
            bytes(64)).decode()}),
        "not base64": (body, {**good, "telnyx-signature-ed25519": "%%%not-base64%%%"}),
        "no signature": (body, {k: v for k, v in good.items() if k != "telnyx-signature-ed25519"}),
        "no timestamp": (body, {k: v for k, v in good.items() if k != "telnyx-timestamp"}),
        "other timestamp": (body, {**good, "telnyx-timestamp": str(int(NOW.timestamp()) + 1)}),
        "stale": (body, _telnyx_headers(key, body, NOW - timedelta(seconds=301))),
        "from the future": (body, _telnyx_headers(key, body, NOW + timedelta(seconds=301))),
        "tampered body": (_texml_form(CallStatus="ringing", From="+34699999999"), good),
        "twilio-signed": (body, twilio_signed),
        "unsigned": (body, {"Content-Type": "application/x-www-form-urlencoded"}),
    }  # fmt: skip
    for name, (sent, headers) in refused.items():
        r = await _post(client, account_id, sent, headers)
        assert r.status_code == 403, (name, r.status_code, r.text)
    assert await _messages(container) == []

    # the tolerance is 300 s either way, inclusive: the same key and body at its edge pass
    edge = _telnyx_headers(key, body, NOW - timedelta(seconds=300))
    r = await _post(client, account_id, body, edge)
    assert r.status_code == 200, r.text
    assert [m.provider_message_id for m in await _messages(container)] == [f"{TELNYX_CALL}:start"]


async def test_a_captured_telnyx_request_replayed_later_is_refused(
    container: Container, client: httpx.AsyncClient, clock: Clock
) -> None:
    key = Ed25519PrivateKey.generate()
    account_id = await _account(container, None, signature="telnyx",
                                telnyx_public_key=_public_key(key))  # fmt: skip
    body = _texml_form(SpeechResult="hola", Confidence="0.9")
    headers = _telnyx_headers(key, body, NOW)
    clock.now = NOW + timedelta(minutes=6)
    assert (await _post(client, account_id, body, headers, "turn=1")).status_code == 403
    assert await _messages(container) == []
    clock.now = NOW + timedelta(minutes=4)
    assert (await _post(client, account_id, body, headers, "turn=1")).status_code == 200


async def test_telnyx_signs_every_route_of_a_call(
    container: Container, client: httpx.AsyncClient
) -> None:
    key = Ed25519PrivateKey.generate()
    account_id = await _account(container, None, signature="telnyx",
                                telnyx_public_key=_public_key(key))  # fmt: skip
    body = _texml_form(QueuePosition="1", QueueTime="10", AvgQueueTime="60", CurrentQueueSize="1")
    path = f"/hooks/{account_id}/queue-wait"
    ok = await client.post(path, content=body, headers=_telnyx_headers(key, body, NOW))
    assert ok.status_code == 200 and "<Response>" in ok.text, ok.text
    other = Ed25519PrivateKey.generate()
    forged = await client.post(path, content=body, headers=_telnyx_headers(other, body, NOW))
    assert forged.status_code == 403


async def test_a_telnyx_status_callback_with_an_iso_timestamp_ends_the_call(
    container: Container, client: httpx.AsyncClient
) -> None:
    key = Ed25519PrivateKey.generate()
    account_id = await _account(container, None, signature="telnyx",
                                telnyx_public_key=_public_key(key))  # fmt: skip
    body = _texml_form(CallStatus="ringing")
    assert (await _post(client, account_id, body, _telnyx_headers(key, body, NOW))).is_success
    ended = _texml_form(CallStatus="completed", CallDuration="42",
                        Timestamp="2026-11-23T09:00:42Z")  # fmt: skip
    r = await _post(client, account_id, ended, _telnyx_headers(key, ended, NOW))
    assert r.status_code == 200, r.text
    async with container.sessions() as session:
        [call] = (await session.scalars(select(Interaction))).all()
    assert call.ended_at is not None
    assert as_utc(call.ended_at) == datetime(2026, 11, 23, 9, 0, 42, tzinfo=UTC)
    bad = _texml_form(CallStatus="completed", Timestamp="the 23rd, around nine")
    r = await _post(client, account_id, bad, _telnyx_headers(key, bad, NOW))
    assert r.status_code == 400 and "Timestamp" in r.json()["detail"]


async def test_a_telnyx_signature_means_nothing_to_a_twilio_account(
    container: Container, client: httpx.AsyncClient
) -> None:
    key = Ed25519PrivateKey.generate()
    # the key is there, but the account is signed by Twilio: Telnyx's headers are not looked at
    account_id = await _account(container, TWILIO_TOKEN, account_sid="AC" + "0" * 32)
    body = _texml_form(CallStatus="ringing", AccountSid="AC" + "0" * 32)
    r = await _post(client, account_id, body, _telnyx_headers(key, body, NOW))
    assert r.status_code == 403
    assert await _messages(container) == []


def test_the_telnyx_signature_is_over_the_timestamp_a_bar_and_the_raw_body() -> None:
    key = Ed25519PrivateKey.generate()
    public = _public_key(key)
    body = b"CallSid=v3%3Aabc&From=%2B34612345678"
    ts = str(int(NOW.timestamp()))
    sig = base64.b64encode(key.sign(f"{ts}|".encode() + body)).decode()
    assert telnyx.valid(public, body=body, signature=sig, timestamp=ts, now=NOW)
    # not the body alone, nor with another separator, nor over the decoded form
    for message in (body, f"{ts}.".encode() + body, f"{ts}|CallSid=v3:abc&From=+34612345678"
                    .encode()):  # fmt: skip
        other = base64.b64encode(key.sign(message)).decode()
        assert not telnyx.valid(public, body=body, signature=other, timestamp=ts, now=NOW)
    assert not telnyx.valid("", body=body, signature=sig, timestamp=ts, now=NOW)
    assert not telnyx.valid(public, body=body, signature=sig, timestamp=f" {ts}", now=NOW)


# ---- SignalWire -----------------------------------------------------------------------------


def _laml(
    account_id: str, headers: dict[str, str | None], query: str = "", **fields: str
) -> tuple[bytes, dict[str, str]]:
    """A LaML request; each header named gets SignalWire's HMAC with the key given (None: the
    header is left out)."""
    params = {"AccountSid": SIGNALWIRE_PROJECT, "CallSid": SIGNALWIRE_CALL, "From": CALLER,
              "To": OUR_NUMBER, "Direction": "inbound", "CallStatus": "ringing",
              **fields}  # fmt: skip
    url = f"http://testserver/hooks/{account_id}" + (f"?{query}" if query else "")
    sent = {"Content-Type": "application/x-www-form-urlencoded"}
    for name, key in headers.items():
        if key is not None:
            sent[name] = signature.compute(key, url, {k: [v] for k, v in params.items()})
    return urlencode(params).encode(), sent


async def test_signalwire_headers_are_verified(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _account(container, SIGNALWIRE_KEY, account_sid=SIGNALWIRE_PROJECT)
    sw, tw = "X-SignalWire-Signature", "X-Twilio-Signature"
    refused: list[dict[str, str | None]] = [
        {sw: "wrong-signing-key"},
        {tw: "wrong-signing-key"},
        {sw: SIGNALWIRE_KEY, tw: "wrong-signing-key"},  # both sent: both must be right
        {sw: "wrong-signing-key", tw: SIGNALWIRE_KEY},
        {},
    ]
    for headers in refused:
        body, sent = _laml(account_id, headers)
        assert (await _post(client, account_id, body, sent)).status_code == 403, headers
    assert await _messages(container) == []

    body, sent = _laml(account_id, {sw: SIGNALWIRE_KEY})
    r = await _post(client, account_id, body, sent)
    assert r.status_code == 200 and "<Gather" in r.text, r.text
    for headers in ({tw: SIGNALWIRE_KEY}, {sw: SIGNALWIRE_KEY, tw: SIGNALWIRE_KEY}):
        body, sent = _laml(account_id, headers, "turn=1", SpeechResult="hola", Confidence="0.9")
        r = await _post(client, account_id, body, sent, "turn=1")
        assert r.status_code == 200, r.text
    stored = [m.provider_message_id for m in await _messages(container) if m.direction == "inbound"]
    assert stored == [f"{SIGNALWIRE_CALL}:start", f"{SIGNALWIRE_CALL}:1"]  # the retry is one


async def test_a_project_id_as_account_sid_is_checked_against_the_request(
    container: Container, client: httpx.AsyncClient
) -> None:
    account_id = await _account(container, SIGNALWIRE_KEY, account_sid=SIGNALWIRE_PROJECT)
    sw = "X-SignalWire-Signature"
    # the same project, in capitals: the same account
    body, sent = _laml(account_id, {sw: SIGNALWIRE_KEY}, AccountSid=SIGNALWIRE_PROJECT.upper())
    assert (await _post(client, account_id, body, sent)).status_code == 200
    # another project, correctly signed: not this account's
    other = "11111111-2222-4333-8444-555555555555"
    body, sent = _laml(account_id, {sw: SIGNALWIRE_KEY}, AccountSid=other,
                       CallSid="aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee")  # fmt: skip
    r = await _post(client, account_id, body, sent)
    assert r.status_code == 400 and "AccountSid" in r.text
    # and on a call's own events (status callbacks) as well
    body, sent = _laml(account_id, {sw: SIGNALWIRE_KEY}, AccountSid=other, CallStatus="completed")
    r = await _post(client, account_id, body, sent)
    assert r.status_code == 400 and "AccountSid" in r.text
    stored = [m.provider_message_id for m in await _messages(container)]
    assert stored == [f"{SIGNALWIRE_CALL}:start"]


# ---- the tenant file ------------------------------------------------------------------------


def _problems(*channels: ChannelConfig) -> dict[tuple[Any, ...], str]:
    doc = demo_document("clinica-dental-sonrisa")
    first = len(doc.channels)
    doc.channels.extend(channels)
    return {
        (loc[1] - first, *loc[2:]): message
        for loc, message in check_document(doc)
        if loc[0] == "channels" and isinstance(loc[1], int) and loc[1] >= first
    }


def _voice(name: str, secret: str | None = None, kind: str = "voice", **settings: Any) -> Any:
    return ChannelConfig(name=name, kind=kind, provider="twilio", address=OUR_NUMBER,
                         secret=secret, settings=settings)  # fmt: skip


def test_the_tenant_file_check_knows_signalwire_and_telnyx() -> None:
    public = _public_key(Ed25519PrivateKey.generate())
    fine = _problems(
        _voice("twilio", "t", account_sid="AC" + "ab" * 16),
        _voice("signalwire", "k", account_sid=SIGNALWIRE_PROJECT),
        _voice("signalwire_caps", "k", account_sid=SIGNALWIRE_PROJECT.upper(), signature="twilio"),
        _voice("telnyx", None, signature="telnyx", telnyx_public_key=public),
        _voice("telnyx_sid", None, signature="telnyx", telnyx_public_key=public,
               account_sid=TELNYX_ACCOUNT),
    )  # fmt: skip
    assert fine == {}

    short = base64.b64encode(bytes(31)).decode()
    problems = _problems(
        _voice("a", None, signature="telnyx"),
        _voice("b", None, signature="telnyx", telnyx_public_key="not base64!"),
        _voice("c", None, signature="telnyx", telnyx_public_key=short),
        _voice("d", "t", account_sid="AC" + "0" * 32, signature="plivo"),
        _voice("e", None, kind="sms", signature="telnyx", telnyx_public_key=public),
        _voice("f", "t", account_sid="AC" + "0" * 32, telnyx_public_key=public),
        _voice("g", "t", account_sid="0e6b2b4c-5d0a-4c8e-9a39"),  # a UUID cut short
        _voice("h", None, account_sid=SIGNALWIRE_PROJECT),  # no signing key
        _voice("i", None, signature="telnyx", telnyx_public_key=public, account_sid="nope"),
    )
    assert "required" in problems[(0, "settings", "telnyx_public_key")]
    assert "not Base64" in problems[(1, "settings", "telnyx_public_key")]
    assert "32 bytes" in problems[(2, "settings", "telnyx_public_key")]
    assert "31" in problems[(2, "settings", "telnyx_public_key")]
    assert "telnyx" in problems[(3, "settings", "signature")]
    assert "voice accounts" in problems[(4, "settings", "signature")]
    assert "only with signature: telnyx" in problems[(5, "settings", "telnyx_public_key")]
    assert "UUID" in problems[(6, "settings", "account_sid")]
    assert "signing key" in problems[(7, "secret_env")]
    assert "AC followed by 32 hex digits" in problems[(8, "settings", "account_sid")]
    assert set(problems) == {
        (0, "settings", "telnyx_public_key"),
        (1, "settings", "telnyx_public_key"),
        (2, "settings", "telnyx_public_key"),
        (3, "settings", "signature"),
        (4, "settings", "signature"),
        (5, "settings", "telnyx_public_key"),
        (6, "settings", "account_sid"),
        (7, "secret_env"),
        (8, "settings", "account_sid"),
    }


async def test_a_signalwire_sms_account_verifies_with_the_signing_key_and_sends_with_the_token(
    container: Container, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SignalWire signs webhooks with the signing key, and its REST API wants the API token."""
    monkeypatch.setenv("TEST_SIGNALWIRE_API_TOKEN", "PT_signalwire-api-token-0001")
    with fake_twilio(SIGNALWIRE_PROJECT, "PT_signalwire-api-token-0001") as space:
        doc = demo_document("clinica-dental-sonrisa")
        doc.channels.append(
            ChannelConfig(name="sw-sms", kind="sms", provider="twilio", address=OUR_NUMBER,
                          secret=SIGNALWIRE_KEY,
                          settings={"account_sid": SIGNALWIRE_PROJECT, "api_base_url": space.url,
                                    "api_token_env": "TEST_SIGNALWIRE_API_TOKEN"})
        )  # fmt: skip
        assert not [p for p in check_document(doc) if p[0][:1] == ("channels",)]
        async with container.sessions() as session, session.begin():
            await apply_document(session, doc, actor="tests", environ={})
        async with container.sessions() as session:
            account_id = await session.scalar(
                select(ChannelAccount.id).where(ChannelAccount.name == "sw-sms")
            )
        assert account_id is not None
        container.clock = lambda: NOW
        params = {"AccountSid": SIGNALWIRE_PROJECT, "MessageSid": SIGNALWIRE_CALL,
                  "From": CALLER, "To": OUR_NUMBER, "Body": "¿Abrís el sábado?"}  # fmt: skip
        url = f"http://testserver/hooks/{account_id}"
        signed = signature.compute(SIGNALWIRE_KEY, url, {k: [v] for k, v in params.items()})
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-SignalWire-Signature": signed}  # fmt: skip
        r = await client.post(f"/hooks/{account_id}", content=urlencode(params), headers=headers)
        assert r.status_code == 200, r.text
        await container.relay.drain()
        # the stand-in accepted Basic auth with the project id and the API token, not the key
        assert [m["To"] for m in space.sent] == [CALLER]
    outbound = [m for m in await _messages(container) if m.direction == "outbound"]
    assert [m.delivery_status for m in outbound] == ["sent"]


def test_api_token_env_must_name_a_variable() -> None:
    channel = _voice("sw", SIGNALWIRE_KEY, kind="sms", account_sid=SIGNALWIRE_PROJECT,
                     api_token_env="not a variable")  # fmt: skip
    assert _problems(channel) == {(0, "settings", "api_token_env"): "an environment variable name"}
