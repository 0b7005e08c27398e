"""Twilio-compatible SMS end to end: signed inbound webhooks, the receptionist's reply sent
through a local stand-in of the Messages REST API, status callbacks, failures and retries."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import select

from centralita.bootstrap import Container
from centralita.channels.models import ChannelAccount
from centralita.channels.twilio import signature
from centralita.channels.twilio.sms import EMPTY_TWIML
from centralita.conversations.models import Message
from centralita.core.clock import utcnow
from centralita.tenants.config.apply import apply_document
from centralita.tenants.config.schema import ChannelConfig
from tests.channels.fake_twilio import FakeTwilio, fake_twilio
from tests.receptionist.harness import demo_document

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-for-tests-0001"
OUR_NUMBER = "+34910000001"
CALLER = "+34612345678"
MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Madrid, open


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with fake_twilio(SID, TOKEN) as server:
        yield server


async def _clinic(container: Container, twilio: FakeTwilio) -> str:
    """The demo clinic with an enabled Twilio SMS number pointing at the stand-in."""
    doc = demo_document("clinica-dental-sonrisa")
    doc.channels.append(
        ChannelConfig(
            name="sms",
            kind="sms",
            provider="twilio",
            address=OUR_NUMBER,
            secret=TOKEN,
            settings={"account_sid": SID, "api_base_url": twilio.url},
        )
    )
    async with container.sessions() as session, session.begin():
        await apply_document(session, doc, actor="tests", environ={})
    async with container.sessions() as session:
        account = await session.scalar(
            select(ChannelAccount).where(
                ChannelAccount.provider == "twilio", ChannelAccount.kind == "sms"
            )
        )
        assert account is not None and account.enabled
        container.clock = lambda: MONDAY_10
        return account.id


def _signed(path: str, params: dict[str, str], token: str = TOKEN) -> tuple[bytes, dict[str, str]]:
    url = "http://testserver" + path  # the container's public_base_url
    sig = signature.compute(token, url, {k: [v] for k, v in params.items()})
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sig,
    }
    return urlencode(params).encode(), headers


def _inbound(sid: str, body: str, sender: str = CALLER) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": SID,
        "From": sender,
        "To": OUR_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "ApiVersion": "2010-04-01",
    }


async def _post(
    client: httpx.AsyncClient, account_id: str, params: dict[str, str], **kw: Any
) -> httpx.Response:
    body, headers = _signed(f"/hooks/{account_id}", params, **kw)
    return await client.post(f"/hooks/{account_id}", content=body, headers=headers)


async def _messages(container: Container, **where: Any) -> list[Message]:
    async with container.sessions() as session:
        stmt = select(Message).order_by(Message.created_at, Message.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(Message, key) == value)
        return list((await session.scalars(stmt)).all())


def test_the_signature_is_twilios_published_example() -> None:
    # twilio.com/docs/usage/security: token 12345, this URL and these POST parameters
    params = {
        "CallSid": ["CA1234567890ABCDE"],
        "Caller": ["+14158675310"],
        "Digits": ["1234"],
        "From": ["+14158675310"],
        "To": ["+18005551212"],
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature.compute("12345", url, params) == "GvWf1cFY/Q7PnoempGyD5oXAezc="
    good = "GvWf1cFY/Q7PnoempGyD5oXAezc="
    assert signature.valid("12345", url=url, params=params, body=b"", given=good)
    assert not signature.valid("12345", url=url + "&x=1", params=params, body=b"", given=good)
    assert not signature.valid("54321", url=url, params=params, body=b"", given=good)
    assert not signature.valid("", url=url, params=params, body=b"", given=good)


def test_a_json_body_is_signed_through_body_sha256() -> None:
    body = b'{"hello": "world"}'
    url = "https://example.com/hooks/x?bodySHA256=" + hashlib.sha256(body).hexdigest()
    given = signature.compute("tok", url, {})
    assert signature.valid("tok", url=url, params={}, body=body, given=given)
    assert not signature.valid("tok", url=url, params={}, body=body + b" ", given=given)


async def test_an_sms_is_answered_by_sms_through_the_rest_api(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    account_id = await _clinic(container, twilio)
    r = await _post(
        client, account_id, _inbound("SM" + "1" * 32, "Hola, ¿a qué hora abrís mañana?")
    )
    assert r.status_code == 200 and r.content == EMPTY_TWIML
    assert r.headers["content-type"].startswith("text/xml")
    await container.relay.drain()

    [inbound] = await _messages(container, direction="inbound")
    assert inbound.channel == "sms" and inbound.body == "Hola, ¿a qué hora abrís mañana?"
    assert inbound.provider_message_id == "SM" + "1" * 32
    [sent] = twilio.sent
    assert sent["To"] == CALLER and sent["From"] == OUR_NUMBER
    assert sent["StatusCallback"] == f"http://testserver/hooks/{account_id}"
    [reply] = await _messages(container, direction="outbound")
    assert reply.body == sent["Body"] and reply.channel == "sms"
    assert reply.delivery_status == "sent" and reply.provider_message_id == sent["sid"]

    # Twilio's status callbacks, out of order: "delivered" then a late "sent".
    for status in ("delivered", "sent"):
        params = {"MessageSid": sent["sid"], "MessageStatus": status, "AccountSid": SID,
                  "From": OUR_NUMBER, "To": CALLER}  # fmt: skip
        r = await _post(client, account_id, params)
        assert r.status_code == 200
    [reply] = await _messages(container, direction="outbound")
    assert reply.delivery_status == "delivered"


async def test_a_redelivered_sms_is_stored_once(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    account_id = await _clinic(container, twilio)
    params = _inbound("SM" + "2" * 32, "Quiero pedir cita para una limpieza")
    for _ in range(3):
        assert (await _post(client, account_id, params)).status_code == 200
    await container.relay.drain()
    assert len(await _messages(container, direction="inbound")) == 1
    assert len(twilio.sent) == 1  # answered once


async def test_a_bad_signature_is_403_and_stores_nothing(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    account_id = await _clinic(container, twilio)
    params = _inbound("SM" + "3" * 32, "Hola")
    r = await _post(client, account_id, params, token="not-the-token")
    assert r.status_code == 403
    body, headers = _signed(f"/hooks/{account_id}", params)
    tampered = body.replace(b"Hola", b"Adios")
    r = await client.post(f"/hooks/{account_id}", content=tampered, headers=headers)
    assert r.status_code == 403
    r = await client.post(
        f"/hooks/{account_id}", content=body, headers={"Content-Type": headers["Content-Type"]}
    )
    assert r.status_code == 403
    assert await _messages(container) == []


async def test_malformed_requests_are_400_with_the_field_named(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    account_id = await _clinic(container, twilio)
    cases = [
        ({"From": CALLER, "To": OUR_NUMBER, "Body": "hola"}, "MessageSid"),
        ({"MessageSid": "SM" + "4" * 32, "To": OUR_NUMBER, "Body": "hola"}, "From"),
        ({"MessageSid": "SM" + "5" * 32, "From": CALLER, "Body": "  "}, "Body"),
        ({"MessageSid": "SM" + "6" * 32, "MessageStatus": "exploded"}, "MessageStatus"),
        ({**_inbound("SM" + "7" * 32, "hola"), "AccountSid": "AC" + "f" * 32}, "AccountSid"),
    ]
    for params, field in cases:
        r = await _post(client, account_id, params)
        assert r.status_code == 400, (params, r.text)
        assert field in r.text
    assert await _messages(container) == []


async def test_a_rejected_number_fails_for_good_and_says_why(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    account_id = await _clinic(container, twilio)
    twilio.failures.append(
        (400, 21211, "The 'To' number +34612345678 is not a valid phone number.")
    )
    await _post(client, account_id, _inbound("SM" + "8" * 32, "Hola, ¿tenéis parking?"))
    await container.relay.drain()
    [reply] = await _messages(container, direction="outbound")
    assert reply.delivery_status == "failed"
    assert reply.delivery_error and "21211" in reply.delivery_error
    assert twilio.sent == []


async def test_a_provider_outage_is_retried_until_it_goes_through(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    account_id = await _clinic(container, twilio)
    twilio.failures.append((503, 20500, "Service unavailable"))
    await _post(client, account_id, _inbound("SM" + "9" * 32, "Hola, ¿a qué hora abrís?"))
    await container.relay.drain()
    [reply] = await _messages(container, direction="outbound")
    assert reply.delivery_status == "queued" and twilio.sent == []  # not lost: to be retried
    # the relay retries after its backoff; move its clock past it
    container.relay._clock = lambda: utcnow() + timedelta(minutes=10)  # type: ignore[method-assign]
    await container.relay.drain()
    [reply] = await _messages(container, direction="outbound")
    assert reply.delivery_status == "sent" and len(twilio.sent) == 1


async def test_a_failed_status_callback_is_shown_with_its_error_code(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    account_id = await _clinic(container, twilio)
    await _post(client, account_id, _inbound("SM" + "a" * 32, "Hola, ¿dónde estáis?"))
    await container.relay.drain()
    [sent] = twilio.sent
    params = {"MessageSid": sent["sid"], "MessageStatus": "undelivered", "ErrorCode": "30003",
              "AccountSid": SID}  # fmt: skip
    assert (await _post(client, account_id, params)).status_code == 200
    [reply] = await _messages(container, direction="outbound")
    assert reply.delivery_status == "failed" and "30003" in (reply.delivery_error or "")


def test_a_twilio_account_in_the_tenant_file_is_checked_field_by_field() -> None:
    from centralita.tenants.config.checks import check_document

    doc = demo_document("clinica-dental-sonrisa")
    doc.channels.append(
        ChannelConfig(name="sms", kind="sms", provider="twilio", address=OUR_NUMBER,
                      settings={"account_sid": "nope", "api_base_url": "ftp://x"})
    )  # fmt: skip
    doc.channels.append(
        ChannelConfig(name="wa", kind="whatsapp", provider="twilio", address=OUR_NUMBER,
                      secret="x", settings={"account_sid": SID})
    )  # fmt: skip
    problems = {loc: message for loc, message in check_document(doc)}
    first, second = len(doc.channels) - 2, len(doc.channels) - 1
    assert (
        "AC followed by 32 hex digits" in problems[("channels", first, "settings", "account_sid")]
    )
    assert "http(s) URL" in problems[("channels", first, "settings", "api_base_url")]
    assert "auth token" in problems[("channels", first, "secret_env")]
    assert "twilio supports" in problems[("channels", second, "kind")]


async def test_a_long_outage_ends_in_a_visible_failure(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    from centralita.conversations.handlers import MAX_DELIVERY_ATTEMPTS

    account_id = await _clinic(container, twilio)
    twilio.failures.extend([(503, 20500, "Service unavailable")] * (MAX_DELIVERY_ATTEMPTS + 2))
    await _post(client, account_id, _inbound("SM" + "b" * 32, "Hola, ¿a qué hora abrís?"))
    for hours in range(1, MAX_DELIVERY_ATTEMPTS + 3):
        # each drain is a later moment, past the relay's backoff
        container.relay._clock = lambda h=hours: utcnow() + timedelta(hours=h)  # type: ignore[method-assign]
        await container.relay.drain()
    [reply] = await _messages(container, direction="outbound")
    assert reply.delivery_status == "failed" and twilio.sent == []
    assert reply.delivery_error is not None
    assert f"gave up after {MAX_DELIVERY_ATTEMPTS} attempts" in reply.delivery_error
    assert "20500" in reply.delivery_error
    assert reply.meta["delivery_attempts"] == MAX_DELIVERY_ATTEMPTS
    assert len(twilio.failures) == 2  # no try after giving up
