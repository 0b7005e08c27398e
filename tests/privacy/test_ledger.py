"""The consent ledger: opt-in and opt-out per contact and channel, with source, time and
actor; append-only; the newest entry per channel decides."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from centralita.bootstrap import Container
from tests.channels.fake_twilio import FakeTwilio, fake_twilio
from tests.privacy.seed import MONDAY_10, SUBJECT, open_clinic, seed

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-for-tests-0001"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with fake_twilio(SID, TOKEN) as server:
        yield server


async def test_the_ledger_records_who_how_and_when(
    container: Container, client: httpx.AsyncClient, twilio: FakeTwilio
) -> None:
    kit = await open_clinic(container, twilio)
    contact_id = await seed(container, client, kit, SUBJECT, full=False)
    base = f"/api/v1/contacts/{contact_id}"

    container.clock = lambda: MONDAY_10 + timedelta(minutes=1)
    r = await client.post(f"{base}/opt-out", headers=kit.supervisor,
                          json={"channel": "whatsapp", "source": "verbal"})  # fmt: skip
    assert r.status_code == 201, r.text
    container.clock = lambda: MONDAY_10 + timedelta(minutes=2)
    r = await client.post(f"{base}/opt-out", headers=kit.supervisor, json={"channel": "email"})
    assert r.status_code == 201, r.text
    container.clock = lambda: MONDAY_10 + timedelta(minutes=3)
    r = await client.post(f"{base}/opt-in", headers=kit.supervisor,
                          json={"channel": "email", "source": "web_form"})  # fmt: skip
    assert r.status_code == 201, r.text

    consent = await client.get(f"{base}/consent", headers=kit.supervisor)
    assert consent.status_code == 200, consent.text
    body = consent.json()
    assert body["channels"] == {
        "sms": "not_opted_out", "whatsapp": "opted_out", "email": "not_opted_out",
    }  # fmt: skip
    assert [(e["channel"], e["action"], e["source"]) for e in body["ledger"]] == [
        ("whatsapp", "opt_out", "verbal"),
        ("email", "opt_out", "manual"),
        ("email", "opt_in", "web_form"),
    ]
    assert all(e["actor"].startswith(("api_key", "user:")) for e in body["ledger"])
    assert body["ledger"][0]["at"].startswith("2026-11-23T09:01")
    # a written or web-form opt-in is explicit marketing consent again
    assert body["flags"]["marketing"] is True

    # bad input is a 422 naming the field; agents may not read or change consent
    bad = await client.post(f"{base}/opt-in", headers=kit.supervisor, json={"source": "rumour"})
    assert bad.status_code == 422
    bad = await client.post(f"{base}/opt-in", headers=kit.supervisor, json={"channel": "fax"})
    assert bad.status_code == 422
    assert (await client.get(f"{base}/consent", headers=kit.agent)).status_code == 403
    assert (
        await client.get("/api/v1/contacts/ct_none/consent", headers=kit.admin)
    ).status_code == 404

    # the whole ledger is in the export, and the ledger list shows it too
    listed = await client.get("/api/v1/opt-outs", headers=kit.supervisor,
                              params={"contact_id": contact_id})  # fmt: skip
    assert len(listed.json()["items"]) == 3
