"""Secrets never reach the logs: a sign-in, an API call with a key, a signed webhook and a
channel send run with every logger at DEBUG, and no secret appears in any record."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import httpx
import pytest

from centralita.bootstrap import Container
from centralita.core.log_redaction import MASK, install, redact
from tests.channels.fake_twilio import FakeTwilio, fake_twilio
from tests.channels.test_twilio_sms import SID, TOKEN, _clinic, _inbound, _signed
from tests.factories import make_tenant
from tests.web.forms import PASSWORD, make_user, sign_in


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer ck_abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnop"),
        ("{'authorization': 'Basic QUMxMjM6c2VjcmV0LXRva2Vu'}", "QUMxMjM6c2VjcmV0LXRva2Vu"),
        (
            "cookie: centralita_session=s3cr3t-session-value; centralita_csrf=csrfvalue123",
            "s3cr3t-session-value",
        ),
        (
            "cookie: centralita_session=s3cr3t-session-value; centralita_csrf=csrfvalue123",
            "csrfvalue123",
        ),
        ('{"password": "correct horse battery"}', "correct horse"),
        ("password=hunter2hunter2&email=a@b.c", "hunter2hunter2"),
        ("(b'x-twilio-signature', b'GvWf1cFY/Q7PnoempGyD5oXAezc=')", "GvWf1cFY"),
        ("X-Hub-Signature-256: sha256=0123456789abcdef", "0123456789abcdef"),
        ("GET /ack?token=eyJhbGciOi.payload.sig HTTP/1.1", "eyJhbGciOi"),
        ("{'auth_token': 'twilio-auth-token-for-tests-0001'}", "twilio-auth-token"),
        ("client_secret: 'abc123def456'", "abc123def456"),
    ],
)
def test_secret_shapes_are_masked(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out and MASK in out


@pytest.mark.parametrize(
    "text",
    [
        "sign-in locked (account) until 2026-12-07 10:15:00+00:00",
        "password reset requested for user usr_123",
        "GET /api/v1/conversations?limit=50 200",
        "token bucket refilled: 5 left",
    ],
)
def test_ordinary_lines_are_left_alone(text: str) -> None:
    assert redact(text) == text


def test_exact_values_are_masked_wherever_they_appear() -> None:
    assert redact("the key is s3cret-value-42!", ["s3cret-value-42"]) == "the key is [redacted]!"
    assert redact("short abc", ["abc"]) == "short abc"  # too short to mask safely


def test_records_keep_the_arguments_uvicorns_access_log_unpacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install()
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    path = "/ack/msg_1?token=abcdefghijklmnop"
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", path, "1.1", 200
    )
    record = caplog.records[-1]
    assert isinstance(record.args, tuple) and record.args[4] == 200
    assert "abcdefghijklmnop" not in record.getMessage()


def test_database_drivers_parameters_are_masked_but_statements_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install()
    caplog.set_level(logging.DEBUG, logger="aiosqlite")
    sql = "INSERT INTO channel_accounts (id, secret) VALUES (?, ?)"
    logging.getLogger("aiosqlite").debug("executing %s", (sql, ("chn_1", "s3cret-token-0001")))
    message = caplog.records[-1].getMessage()
    assert sql in message and "s3cret-token-0001" not in message


def test_tracebacks_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    install()
    try:
        raise RuntimeError("upstream said password=hunter2hunter2")
    except RuntimeError:
        logging.getLogger("tests.boom").exception("the call failed")
    text = logging.Formatter().format(caplog.records[-1])
    assert "RuntimeError" in text and "hunter2hunter2" not in text


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with fake_twilio(SID, TOKEN) as server:
        yield server


async def test_nothing_secret_is_logged_at_debug(
    container: Container,
    client: httpx.AsyncClient,
    twilio: FakeTwilio,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    kit = await make_tenant(container)
    await make_user(container, kit.tenant_id)

    # 1. A web sign-in (and a failed one).
    assert (await sign_in(client, kit.slug, password="wrong password!!")).status_code == 400
    assert (await sign_in(client, kit.slug)).status_code == 303
    session_token = client.cookies["centralita_session"]
    csrf_cookie = client.cookies["centralita_csrf"]
    # 2. An API call with a key (and one with a wrong key).
    assert (await client.get("/api/v1/users", headers=kit.headers)).status_code == 200
    bad = {"Authorization": "Bearer ck_thisisnotarealkeybutlooksalikeone"}
    assert (await client.get("/api/v1/users", headers=bad)).status_code == 401
    # 3. A signed webhook, whose reply is 4. sent through the provider's REST API.
    account_id = await _clinic(container, twilio)
    body, headers = _signed(f"/hooks/{account_id}", _inbound("SM" + "7" * 32, "Hola"))
    r = await client.post(f"/hooks/{account_id}", content=body, headers=headers)
    assert r.status_code == 200
    await container.relay.drain()
    assert twilio.sent, "the reply went out through the stand-in"
    # And a careless line, as someone might add while debugging: it is caught too.
    logging.getLogger("tests.careless").debug("request headers: %s", dict(headers))
    logging.getLogger("tests.careless").debug("api headers: %s", kit.headers)

    secrets = {
        "API key": kit.api_key,
        "password": PASSWORD,
        "session": session_token,
        "csrf": csrf_cookie,
        "provider token": TOKEN,
        "basic auth": base64.b64encode(f"{SID}:{TOKEN}".encode()).decode(),
        "signature": headers["X-Twilio-Signature"],
        "secret key": container.settings.secret_key.get_secret_value(),
        "simulator secret": kit.simulator_secret,
    }
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    text = "\n".join(formatter.format(record) for record in caplog.records)
    assert len(caplog.records) > 5 and "tests.careless" in text
    leaked = [name for name, value in secrets.items() if value in text]
    where = [line for line in text.splitlines() if any(v in line for v in secrets.values())]
    assert leaked == [], (leaked, where[:5])
