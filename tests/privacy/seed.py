"""A clinic and a person with distinctive identifiers, seeded through the real paths
(simulator and Twilio webhooks, the API, the campaign runner, the staff-message service);
and a scanner that looks for those identifiers in every table, file and Redis key."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from centralita.access import service as access_service
from centralita.bootstrap import Container
from centralita.campaigns import service as campaigns_service
from centralita.channels.models import ChannelAccount
from centralita.conversations.models import Interaction, Message
from centralita.db.registry import metadata
from centralita.staff_messages import service as staff_messages_service
from centralita.surveys import service as surveys_service
from centralita.tenants.models import Tenant
from tests.campaigns.kit import clinic, text_in, tick
from tests.channels.fake_twilio import FakeTwilio
from tests.simulator_client import simulator_request

MONDAY_10 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 10:00 in Madrid


@dataclass(frozen=True)
class Person:
    name: str
    phone: str  # E.164
    email: str
    web: str

    @property
    def wa(self) -> str:
        return self.phone.lstrip("+")

    @property
    def first(self) -> str:
        return self.name.split()[0]

    def identifiers(self) -> list[str]:
        folded = "".join(
            c for c in unicodedata.normalize("NFKD", self.name) if not unicodedata.combining(c)
        )
        return [self.name, folded, self.phone, self.wa, self.email, self.web]


SUBJECT = Person("Zacarías Quintanilla", "+34611222333", "zq.erasure@example.org", "vzq-7781")
WITNESS = Person("Olegario Testigo", "+34622333444", "ot.witness@example.org", "vot-5512")


@dataclass
class Clinic:
    tenant: Tenant
    sms_account: str
    sim_account: str
    sim_secret: str
    admin: dict[str, str]
    supervisor: dict[str, str]
    agent: dict[str, str]
    contacts: dict[str, str] = field(default_factory=dict)  # person name -> contact id


async def open_clinic(container: Container, twilio: FakeTwilio, **privacy: Any) -> Clinic:
    container.clock = lambda: MONDAY_10
    tenant, sms_account = await clinic(container, twilio)
    async with container.sessions() as session, session.begin():
        row = await session.get_one(Tenant, tenant.id)
        row.config = {
            **(row.config or {}),
            "surveys": {"enabled": True, "after": "any"},
            **({"privacy": privacy} if privacy else {}),
        }
        keys = {
            role: await access_service.create_api_key(
                session, tenant_id=tenant.id, name=role, role=role
            )
            for role in ("admin", "supervisor", "agent")
        }
        sim = await session.scalar(
            select(ChannelAccount).where(
                ChannelAccount.tenant_id == tenant.id, ChannelAccount.provider == "simulator"
            )
        )
        assert sim is not None
    headers = {role: {"Authorization": f"Bearer {k.secret}"} for role, k in keys.items()}
    return Clinic(
        tenant, sms_account, sim.id, sim.secret, headers["admin"], headers["supervisor"],
        headers["agent"],
    )  # fmt: skip


async def simulate(
    client: httpx.AsyncClient, kit: Clinic, *, channel: str, kind: str, value: str, text: str
) -> None:
    body, headers = simulator_request(
        kit.sim_secret, text=text, channel=channel, kind=kind, value=value
    )
    r = await client.post(f"/hooks/{kit.sim_account}", content=body, headers=headers)
    assert r.status_code == 200, r.text


async def seed(
    container: Container, client: httpx.AsyncClient, kit: Clinic, who: Person, *, full: bool
) -> str:
    """The person's contact and its traces on several channels; returns the contact id."""
    created = await client.post(
        "/api/v1/contacts",
        # the stored idempotent response holds the contact as created
        headers={**kit.admin, "Idempotency-Key": f"create-contact-{who.wa}"},
        json={
            "name": who.name,
            "addresses": [
                {"kind": "phone", "value": who.phone},
                {"kind": "email", "value": who.email},
                {"kind": "web", "value": who.web},
            ],
            "consent": {"sms": True, "marketing": True},
            "tags": ["promo"],
            "attributes": {"note": f"Paciente {who.name}, {who.email}"},
        },
    )
    assert created.status_code == 201, created.text
    contact_id = created.json()["id"]
    kit.contacts[who.name] = contact_id
    await simulate(client, kit, channel="whatsapp", kind="whatsapp", value=who.wa,
                   text=f"Hola, soy {who.name}. Mi correo es {who.email}")  # fmt: skip
    await container.relay.drain()
    if not full:
        return contact_id
    await simulate(client, kit, channel="webchat", kind="web", value=who.web,
                   text=f"Hola de nuevo, soy {who.name}")  # fmt: skip
    await simulate(client, kit, channel="email", kind="email", value=who.email,
                   text=f"Escribo por correo. {who.name}, {who.phone}")  # fmt: skip
    await text_in(client, kit.sms_account, who.phone, f"Soy {who.name}, quiero cita",
                  "SM" + "a" * 32)  # fmt: skip
    await container.relay.drain()

    # a booking by the API, with notes that name the patient
    slots = await client.get(
        "/api/v1/availability", headers=kit.admin, params={"staff_key": "garcia"}
    )
    assert slots.status_code == 200, slots.text
    booked = await client.post(
        "/api/v1/appointments",
        headers=kit.admin,
        json={
            "start": slots.json()["slots"][0]["start"],
            "staff_key": "garcia",
            "contact_id": contact_id,
            "notes": f"Primera visita de {who.name} ({who.phone})",
        },
    )
    assert booked.status_code == 201, booked.text

    async with container.sessions() as session, session.begin():
        conversation_id = await session.scalar(
            select(Message.conversation_id).where(
                Message.tenant_id == kit.tenant.id, Message.contact_id == contact_id
            )
        )
        assert conversation_id is not None
        tenant = await session.get_one(Tenant, kit.tenant.id)
        # a message taken for staff, as the receptionist takes it
        await staff_messages_service.take_message(
            session, tenant=tenant, conversation_id=conversation_id, contact_id=contact_id,
            recipient_key="garcia", caller_name=who.name, caller_phone=who.phone,
            caller_email=who.email, reason=f"{who.name} pide que le llamen", intent="message",
            urgency="normal", summary=f"{who.name} ({who.phone}) quiere hablar con la doctora",
            language="es", now=MONDAY_10,
        )  # fmt: skip
        # a survey after the WhatsApp session, answered in the customer's words
        interaction = await session.scalar(
            select(Interaction).where(
                Interaction.tenant_id == kit.tenant.id,
                Interaction.contact_id == contact_id,
                Interaction.channel == "whatsapp",
            )
        )
        assert interaction is not None
        interaction.ended_at = interaction.ended_at or MONDAY_10
        survey = await surveys_service.send_survey(
            session, tenant=tenant, interaction=interaction, now=MONDAY_10
        )
        assert survey is not None, "the survey was not sent"
        await surveys_service.record_answer(
            session, survey=survey, score=5, text=f"5, muy bien. {who.name}", now=MONDAY_10
        )
        # a file the customer sent, with their name in it
        blob = container.blobs.put(
            kit.tenant.id, f"DNI de {who.name}, tel {who.phone}".encode(),
            content_type="text/plain", filename="dni.txt",
        )  # fmt: skip
        first = await session.scalar(
            select(Message).where(
                Message.tenant_id == kit.tenant.id,
                Message.contact_id == contact_id,
                Message.direction == "inbound",
            )
        )
        assert first is not None
        first.meta = {**(first.meta or {}), "attachments": [blob.as_meta()]}
    # an agent says the conversation is not spam (feedback keeps the customer's texts)
    ham = await client.post(
        f"/api/v1/conversations/{conversation_id}/spam", headers=kit.admin, json={"spam": False}
    )
    assert ham.status_code == 201, ham.text
    await container.relay.drain()

    # a campaign SMS by the runner, then the contact opts out by keyword
    async with container.sessions() as session, session.begin():
        campaign = await campaigns_service.create_campaign(
            session, tenant_id=kit.tenant.id, created_by="tests", now=MONDAY_10,
            name="Limpiezas", channel="sms", body="Hola {first_name}: 20% en limpiezas.",
            segment={"tags": {"any": ["promo"]}},
        )  # fmt: skip
        await campaigns_service.start_campaign(
            session, tenant_id=kit.tenant.id, campaign_id=campaign.id, now=MONDAY_10
        )
    await tick(container, MONDAY_10)
    await text_in(client, kit.sms_account, who.phone, "BAJA", "SM" + "b" * 32)
    await container.relay.drain()
    return contact_id


# ---- the scanner -------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return json.dumps(value, ensure_ascii=False, default=str)


def _found(text: str, needles: list[str]) -> list[str]:
    lowered = text.lower()
    return [n for n in needles if n.lower() in lowered]


async def scan_database(container: Container, needles: list[str]) -> list[str]:
    """``table.column: needle`` for every value of every column of every table."""
    hits: list[str] = []
    async with container.sessions() as session:
        for table in metadata.sorted_tables:
            rows = (await session.execute(select(table))).all()
            for row in rows:
                for column, value in row._mapping.items():
                    if value is None:
                        continue
                    for needle in _found(_text(value), needles):
                        hits.append(f"{table.name}.{column}: {needle}")
    return hits


def scan_files(root: Path, needles: list[str]) -> list[str]:
    hits = []
    for path in root.rglob("*") if root.exists() else []:
        if path.is_file():
            for needle in _found(_text(path.read_bytes()), needles):
                hits.append(f"{path}: {needle}")
    return hits


async def scan_redis(redis_url: str, needles: list[str]) -> list[str]:
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    hits = []
    try:
        async for key in client.scan_iter(match="centralita:*", count=500):
            kind = _text(await client.type(key))
            if kind == "stream":
                entries = await client.xrange(key)
                content = " ".join(_text(v) for _, f in entries for v in f.values())
            elif kind == "string":
                content = _text(await client.get(key))
            elif kind == "hash":
                pairs = (await client.hgetall(key)).items()
                content = " ".join(_text(k) + " " + _text(v) for k, v in pairs)
            elif kind == "set":
                content = " ".join(_text(m) for m in await client.smembers(key))
            elif kind == "list":
                content = " ".join(_text(m) for m in await client.lrange(key, 0, -1))
            else:
                content = ""
            for needle in _found(_text(key) + content, needles):
                hits.append(f"redis {_text(key)}: {needle}")
    finally:
        await client.aclose()
    return hits
