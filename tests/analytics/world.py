"""A small contact center seeded straight into the tables the KPI shell reads.

Times are relative to ``T`` (2026-12-07 09:00 UTC, 10:00 in Madrid); ``NOW`` is three hours
later. The expected KPIs in the tests are worked out by hand from the comments here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from centralita.bootstrap import Container
from centralita.contacts.models import Contact
from centralita.conversations.models import Conversation, Interaction
from centralita.core.ids import new_id
from centralita.routing.models import PresenceLogEntry
from centralita.scheduling.models import Appointment
from centralita.spam.models import SpamVerdict
from centralita.staff_messages.models import StaffMessage
from centralita.surveys.models import Survey
from centralita.tenants.models import Queue, StaffMember
from tests.factories import TenantKit

T = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
NOW = T + timedelta(hours=3)
DAY = timedelta(days=1)


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


@dataclass
class World:
    kit: TenantKit
    queue: str
    agent: str
    ix: dict[str, str]  # name -> interaction id
    cv: dict[str, str]  # name -> conversation id


async def seed(container: Container, kit: TenantKit) -> World:
    t = kit.tenant_id
    rows: list[Any] = []
    queue = Queue(id=new_id("que"), tenant_id=t, key="recepcion", name="Recepción",
                  skills=["es"])  # fmt: skip
    agent = StaffMember(id=new_id("stf"), tenant_id=t, key="ana", name="Ana", skills={"es": 3},
                        user_id=new_id("usr"), user_role="agent")  # fmt: skip
    c1 = Contact(id=new_id("ct"), tenant_id=t, name="Uno", value=Decimal("100"))
    c2 = Contact(id=new_id("ct"), tenant_id=t, name="Dos", value=Decimal("50"))
    rows += [queue, agent, c1, c2]
    cv = {
        "info": Conversation(id=new_id("cv"), tenant_id=t, contact_id=c1.id, last_channel="voice",
                             intake={"intent": "info"}, status="closed"),
        "billing": Conversation(id=new_id("cv"), tenant_id=t, contact_id=c2.id,
                                last_channel="whatsapp", intake={"intent": "billing"},
                                owner_type="agent", owner_id=agent.id),
        "spam": Conversation(id=new_id("cv"), tenant_id=t, contact_id=c1.id, last_channel="voice"),
        "bot": Conversation(id=new_id("cv"), tenant_id=t, contact_id=c2.id, last_channel="voice",
                            intake={"intent": "info"}, owner_type="queue", owner_id=queue.id),
    }  # fmt: skip
    rows += list(cv.values())

    def ix(conv: str, channel: str, arrived: datetime, **kw: Any) -> Interaction:
        row = Interaction(id=new_id("ix"), tenant_id=t, conversation_id=cv[conv].id,
                          contact_id=cv[conv].contact_id, channel=channel, arrived_at=arrived,
                          **kw)  # fmt: skip
        rows.append(row)
        return row

    person = {"queue_id": queue.id, "agent_id": agent.id, "handled_by_bot": False}
    found = {
        # answered in 10 s; 300 s connected incl. 30 s hold; 30 s wrap-up: handle 330
        "i1": ix("info", "voice", at(0), queued_at=at(0), answered_at=at(10), ended_at=at(310),
                 hold_seconds=30.0, wrapup_started_at=at(310), wrapup_ended_at=at(340),
                 **person),
        # answered in 40 s (late); 100 s talk: handle 100
        "i2": ix("billing", "whatsapp", at(60), queued_at=at(60), answered_at=at(100),
                 ended_at=at(200), **person),
        "i3": ix("bot", "voice", at(120), queue_id=queue.id, queued_at=at(120),
                 abandoned_at=at(122)),  # a short abandon
        "i4": ix("bot", "voice", at(200), queue_id=queue.id, queued_at=at(200),
                 abandoned_at=at(260)),  # an abandon
        "i5": ix("bot", "webchat", at(300)),  # the receptionist alone
        "i6": ix("spam", "voice", at(400), ended_at=at(420)),
        # history for first contact resolution (c1, info): 10 and 8 days ago
        "old1": ix("info", "voice", T - 10 * DAY, ended_at=T - 10 * DAY),
        "old2": ix("info", "voice", T - 8 * DAY, ended_at=T - 8 * DAY),
        # waiting in the queue right now (for /metrics), queued 90 s before NOW
        "waiting": ix("bot", "voice", NOW - timedelta(seconds=90), queue_id=queue.id,
                      queued_at=NOW - timedelta(seconds=90)),
    }  # fmt: skip
    rows += [
        SpamVerdict(id=new_id("spv"), tenant_id=t, conversation_id=cv["spam"].id, verdict="spam",
                    source="model"),
        Survey(id=new_id("srv"), tenant_id=t, interaction_id=found["i1"].id,
               conversation_id=cv["info"].id, contact_id=c1.id, channel="voice", kind="csat",
               status="answered", sent_at=at(400), expires_at=at(9000), answered_at=at(500),
               score=5),
        # about the conversation, not an interaction: counts for i1, its latest leg by then
        Survey(id=new_id("srv"), tenant_id=t, interaction_id=None,
               conversation_id=cv["info"].id, contact_id=c1.id, channel="voice", kind="nps",
               status="answered", sent_at=at(400), expires_at=at(9000), answered_at=at(510),
               score=9),
        Survey(id=new_id("srv"), tenant_id=t, interaction_id=found["i2"].id,
               conversation_id=cv["billing"].id, contact_id=c2.id, channel="whatsapp",
               kind="csat", status="answered", sent_at=at(400), expires_at=at(9000),
               answered_at=at(600), score=2),
        Survey(id=new_id("srv"), tenant_id=t, interaction_id=found["i5"].id,
               conversation_id=cv["bot"].id, contact_id=c2.id, channel="webchat",
               kind="ces", status="sent", sent_at=at(400), expires_at=at(9000)),  # unanswered
        StaffMessage(id=new_id("smsg"), tenant_id=t, conversation_id=cv["bot"].id,
                     due_at=at(2000), created_at=at(310), acknowledged_at=at(400),
                     status="acknowledged"),  # taken during i5, acknowledged in 90 s
        Appointment(id=new_id("apt"), tenant_id=t, conversation_id=cv["info"].id,
                    start_at=T + DAY, end_at=T + DAY + timedelta(minutes=30),
                    created_at=at(320)),  # booked during i1
        # Ana: available from an hour before T until T + 1000 s: 4600 s staffed today
        PresenceLogEntry(tenant_id=t, agent_id=agent.id, presence="available",
                         previous="offline", at=T - timedelta(hours=1)),
        PresenceLogEntry(tenant_id=t, agent_id=agent.id, presence="offline",
                         previous="available", at=at(1000)),
    ]  # fmt: skip
    async with container.sessions() as session, session.begin():
        session.add_all(rows[:4])
        await session.flush()
        session.add_all(rows[4:8])
        await session.flush()
        session.add_all(rows[8:])
    return World(kit, queue.id, agent.id, {k: v.id for k, v in found.items()},
                 {k: v.id for k, v in cv.items()})  # fmt: skip
