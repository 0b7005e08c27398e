"""Agents' spam feedback and verdicts, on a real database, through the service and the API."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from centralita.bootstrap import Container
from centralita.conversations import service as conversations_service
from centralita.core.errors import NotFound
from centralita.events.models import OutboxEvent
from centralita.receptionist.nlu.result import SpamExample
from centralita.spam import service as spam_service
from centralita.spam.verdict import SpamDecision, decide_spam
from centralita.tenants import service as tenants_service
from centralita.tenants.config.apply import stored_config
from centralita.tenants.config.schema import TenantDocument
from centralita.tenants.models import Tenant
from tests.factories import TenantKit, make_tenant
from tests.simulator_client import simulator_request

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
PITCH = "Ofrecemos posicionamiento SEO garantizado, primera página de Google en 30 días"


async def _converse(
    client: httpx.AsyncClient,
    kit: TenantKit,
    *texts: str,
    value: str = "34600111222",
    channel: str = "whatsapp",
) -> str:
    """Send ``texts`` from ``value`` through the simulator; return their conversation id."""
    for text in texts:
        body, headers = simulator_request(
            kit.simulator_secret, text=text, value=value, channel=channel
        )
        r = await client.post(f"/hooks/{kit.simulator_account_id}", content=body, headers=headers)
        assert r.status_code == 200, r.text
    compact = value.lstrip("+").replace(" ", "")
    contacts = (
        await client.get("/api/v1/contacts", headers=kit.headers, params={"q": compact})
    ).json()["items"]
    assert len(contacts) == 1, contacts
    convs = (
        await client.get(
            "/api/v1/conversations", headers=kit.headers, params={"contact_id": contacts[0]["id"]}
        )
    ).json()["items"]
    return str(convs[0]["id"])


async def _events(container: Container, tenant_id: str) -> list[tuple[str, dict[str, object]]]:
    async with container.sessions() as session:
        rows = await session.execute(
            select(OutboxEvent.name, OutboxEvent.payload)
            .where(OutboxEvent.tenant_id == tenant_id)
            .order_by(OutboxEvent.sequence)
        )
        return [(name, payload) for name, payload in rows.all()]


async def test_marking_spam_remembers_the_sender_and_the_text(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container, role="agent")
    conv_id = await _converse(client, kit, "Hola, buenos días", PITCH, "Pago: 4111 1111 1111 1111")
    r = await client.post(
        f"/api/v1/conversations/{conv_id}/spam", headers=kit.headers, json={"spam": True}
    )
    assert r.status_code == 201, r.text
    feedback = r.json()
    assert feedback["is_spam"] is True and feedback["conversation_id"] == conv_id
    assert feedback["address"] == "+34600111222"  # the WhatsApp id, as a phone number
    text = f"Hola, buenos días\n{PITCH}\nPago: [card]"  # card numbers never become examples
    assert feedback["text"] == text
    assert feedback["actor"].startswith("api_key:")

    async with container.sessions() as session:
        assert await spam_service.caller_feedback(session, kit.tenant_id, "+34600111222") is True
        assert await spam_service.caller_feedback(session, kit.tenant_id, "+34600999999") is None
        examples = await spam_service.feedback_examples(session, kit.tenant_id)
    assert examples == (SpamExample(text, True),)

    verdict = (
        await client.get(f"/api/v1/conversations/{conv_id}/spam", headers=kit.headers)
    ).json()
    assert verdict["verdict"] == "spam" and verdict["source"] == "agent"
    assert verdict["score"] == 1.0
    names = [name for name, _ in await _events(container, kit.tenant_id)]
    assert names[-2:] == ["conversation.spam_verdict", "spam.feedback_recorded"]


async def test_marking_not_spam_flips_the_callers_feedback(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    conv_id = await _converse(client, kit, PITCH)
    for spam in (True, False):
        r = await client.post(
            f"/api/v1/conversations/{conv_id}/spam", headers=kit.headers, json={"spam": spam}
        )
        assert r.status_code == 201, r.text
    async with container.sessions() as session:
        assert await spam_service.caller_feedback(session, kit.tenant_id, "+34600111222") is False
        # Only the agent's last word on a conversation is an example.
        assert await spam_service.feedback_examples(session, kit.tenant_id) == (
            SpamExample(PITCH, False),
        )
        # From now on the model cannot call this caller spam.
        decision = decide_spam(
            address="+34600111222",
            allow=frozenset(),
            block=frozenset(),
            caller_feedback=await spam_service.caller_feedback(
                session, kit.tenant_id, "+34600111222"
            ),
            nlu_spam=True,
            nlu_score=0.99,
            is_known_customer=False,
        )
    assert (decision.is_spam, decision.source) == (False, "caller")
    verdict = (
        await client.get(f"/api/v1/conversations/{conv_id}/spam", headers=kit.headers)
    ).json()
    assert (verdict["verdict"], verdict["source"]) == ("ham", "agent")
    page = (await client.get("/api/v1/spam/feedback", headers=kit.headers)).json()
    assert [f["is_spam"] for f in page["items"]] == [False, True]  # newest first
    page = (
        await client.get("/api/v1/spam/feedback", headers=kit.headers, params={"limit": 1})
    ).json()
    assert len(page["items"]) == 1 and page["next_cursor"] == page["items"][0]["id"]


async def test_examples_are_newest_first_and_limited(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    ham = await _converse(client, kit, "Quiero pedir cita para el lunes", value="34600000001")
    spam = await _converse(client, kit, PITCH, value="34600000002")
    async with container.sessions() as session, session.begin():
        for conv_id, is_spam in ((ham, False), (spam, True)):
            await spam_service.mark_conversation(
                session,
                tenant_id=kit.tenant_id,
                conversation_id=conv_id,
                is_spam=is_spam,
                actor="user:tests",
                now=NOW,
            )
    async with container.sessions() as session:
        examples = await spam_service.feedback_examples(session, kit.tenant_id)
        newest = await spam_service.feedback_examples(session, kit.tenant_id, limit=1)
    assert examples == (
        SpamExample(PITCH, True),
        SpamExample("Quiero pedir cita para el lunes", False),
    )
    assert newest == examples[:1]


async def test_record_verdict_upserts_and_an_agents_verdict_stands(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    conv_id = await _converse(client, kit, PITCH)

    async def record(decision: SpamDecision, score: float) -> tuple[str, str, float]:
        async with container.sessions() as session, session.begin():
            row = await spam_service.record_verdict(
                session,
                tenant_id=kit.tenant_id,
                conversation_id=conv_id,
                decision=decision,
                score=score,
                now=NOW,
            )
            return row.verdict, row.source, row.score

    assert await record(SpamDecision(True, "model", "pitch"), 0.8) == ("spam", "model", 0.8)
    assert await record(SpamDecision(True, "model", "pitch"), 0.85) == ("spam", "model", 0.85)
    assert await record(SpamDecision(False, "list", "allowed"), 0.85) == ("ham", "list", 0.85)
    verdicts = [p for n, p in await _events(container, kit.tenant_id) if n.endswith("spam_verdict")]
    # Created, then changed; the turn that only confirmed the verdict emitted nothing.
    assert [(p["verdict"], p["source"]) for p in verdicts] == [("spam", "model"), ("ham", "list")]

    async with container.sessions() as session, session.begin():
        await spam_service.mark_conversation(
            session,
            tenant_id=kit.tenant_id,
            conversation_id=conv_id,
            is_spam=True,
            actor="user:tests",
            now=NOW,
        )
    # A later automatic decision does not overrule the agent.
    assert await record(SpamDecision(False, "model", "looks fine"), 0.1) == ("spam", "agent", 1.0)


def _tenant(spam: dict[str, list[str]], country: str | None = "ES") -> Tenant:
    doc = TenantDocument.model_validate(
        {
            "version": 1,
            "tenant": {
                "slug": "clinic",
                "name": "Clinic",
                "timezone": "Europe/Madrid",
                "country": country,
            },
            "receptionist": {"spam": spam},
        }
    )
    return Tenant(slug="clinic", name="Clinic", country=country, config=stored_config(doc))


async def test_tenant_lists_are_normalised_in_the_tenants_country() -> None:
    tenant = _tenant(
        {
            "allow": ["+34 900 000 999", "Boss@Example.COM"],
            "block": ["911 111 111", "0034 922 222 222", "not a number"],
        }
    )
    allow, block = await spam_service.tenant_lists(tenant)
    assert allow == {"+34900000999", "boss@example.com"}
    assert block == {"+34911111111", "+34922222222"}
    # "+34 900 000 999" in the file and "900000999" from a caller are the same number.
    assert spam_service.normalise_list_entry("900000999", country="ES") in allow
    decision = decide_spam(
        address=spam_service.normalise_list_entry("900000999", country="ES"),
        allow=allow,
        block=block,
        caller_feedback=True,
        nlu_spam=True,
        nlu_score=1.0,
        is_known_customer=False,
    )
    assert (decision.is_spam, decision.source) == (False, "list")
    assert await spam_service.tenant_lists(Tenant(slug="x", name="X", config={})) == (
        frozenset(),
        frozenset(),
    )


async def test_a_blocked_whatsapp_sender_matches_its_phone_number(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    conv_id = await _converse(client, kit, PITCH, value="34911111111")
    _, block = await spam_service.tenant_lists(_tenant({"block": ["911 11 11 11"]}))
    async with container.sessions() as session:
        address = await spam_service.sender_address(
            session, tenant_id=kit.tenant_id, conversation_id=conv_id
        )
    assert address == "+34911111111" and address in block


async def test_known_customer_had_another_conversation_that_was_not_spam(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    async with container.sessions() as session, session.begin():
        # No reopen window: a message after closing starts a new conversation.
        await tenants_service.update_tenant(session, tenant_id=kit.tenant_id, reopen_window_hours=0)
    first = await _converse(client, kit, "Hola, quiero una cita")
    r = await client.patch(
        f"/api/v1/conversations/{first}", headers=kit.headers, json={"status": "closed"}
    )
    assert r.status_code == 200, r.text
    second = await _converse(client, kit, "Hola otra vez")
    assert second != first

    async def known() -> bool:
        async with container.sessions() as session:
            conv = await conversations_service.get_conversation(
                session, tenant_id=kit.tenant_id, conversation_id=second
            )
            return await spam_service.is_known_customer(
                session, tenant_id=kit.tenant_id, contact_id=conv.contact_id, conversation_id=second
            )

    assert await known()
    async with container.sessions() as session, session.begin():
        await spam_service.mark_conversation(
            session,
            tenant_id=kit.tenant_id,
            conversation_id=first,
            is_spam=True,
            actor="user:tests",
            now=NOW,
        )
    assert not await known()  # the only earlier conversation was spam


async def test_another_tenants_conversation_is_not_found(
    client: httpx.AsyncClient, container: Container
) -> None:
    a = await make_tenant(container, "tenant-a")
    b = await make_tenant(container, "tenant-b")
    b_conv = await _converse(client, b, PITCH)
    for method, json in (("POST", {"spam": True}), ("GET", None)):
        r = await client.request(
            method, f"/api/v1/conversations/{b_conv}/spam", headers=a.headers, json=json
        )
        assert r.status_code == 404, r.text
        assert r.headers["content-type"] == "application/problem+json"
    assert (await client.get("/api/v1/spam/feedback", headers=a.headers)).json()["items"] == []
    async with container.sessions() as session:
        with pytest.raises(NotFound):
            await spam_service.mark_conversation(
                session,
                tenant_id=a.tenant_id,
                conversation_id=b_conv,
                is_spam=True,
                actor="user:a",
                now=NOW,
            )
        assert await spam_service.caller_feedback(session, b.tenant_id, "+34600111222") is None


async def test_the_body_must_be_a_real_boolean(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    conv_id = await _converse(client, kit, PITCH)
    for body in ({"spam": "yes"}, {"spam": 1}, {}, {"spam": True, "extra": 1}):
        r = await client.post(
            f"/api/v1/conversations/{conv_id}/spam", headers=kit.headers, json=body
        )
        assert r.status_code == 422, (body, r.text)
    verdict = (
        await client.get(f"/api/v1/conversations/{conv_id}/spam", headers=kit.headers)
    ).json()
    assert verdict == {
        "conversation_id": conv_id,
        "verdict": None,
        "source": None,
        "score": None,
        "reason": None,
        "updated_at": None,
    }
