"""Escalation: a message nobody acknowledged in time goes to the backup, once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from centralita.bootstrap import Container, build_container
from centralita.core.clock import utcnow
from centralita.staff_messages import service as staff_messages_service
from centralita.staff_messages.timers import run_timers, run_timers_once
from tests.conftest import Database, make_settings
from tests.staff_messages.conftest import (
    Catcher,
    deliveries,
    event_names,
    make_clinic,
    reload,
    take,
)


async def _escalate(container: Container, minutes: float) -> int:
    async with container.sessions() as session, session.begin():
        return await staff_messages_service.escalate_due(
            session, now=utcnow() + timedelta(minutes=minutes)
        )


async def test_overdue_message_goes_to_the_backup(container: Container, catcher: Catcher) -> None:
    clinic = await make_clinic(container)
    message = await take(container, clinic.tenant_id, urgency="high")  # due in 10 minutes
    await container.relay.drain()
    assert len(catcher.mailbox.recent()) == 1

    assert await _escalate(container, 5) == 0  # not due yet
    assert await _escalate(container, 11) == 1
    stored = await reload(container, message.id)
    assert stored.status == "escalated" and stored.escalated_to_key == "moreno"
    assert stored.escalated_at is not None
    await container.relay.drain()

    mails = catcher.mailbox.recent()
    assert len(mails) == 2
    backup = mails[0]  # newest first
    assert backup.to == "alberto.moreno@clinica.example"
    assert backup.subject == "[Urgente] [Sin confirmar] Mensaje de Ana Ruiz para Dra. Lucía García"
    assert "Le llega como suplente" in backup.text and "/ack/" in backup.text
    escalated = [d for d in await deliveries(container, message.id) if d.escalation]
    assert {(d.channel, d.target, d.status) for d in escalated} == {
        ("email", "alberto.moreno@clinica.example", "sent"),
        ("in_app", "moreno", "sent"),
    }
    names = await event_names(container, clinic.tenant_id)
    assert names.count("staff_message.escalated") == 1

    assert await _escalate(container, 60) == 0  # once only
    await container.relay.drain()
    assert len(catcher.mailbox.recent()) == 2


async def test_acknowledged_messages_are_not_escalated(
    container: Container, catcher: Catcher
) -> None:
    clinic = await make_clinic(container)
    message = await take(container, clinic.tenant_id)
    async with container.sessions() as session, session.begin():
        await staff_messages_service.acknowledge(
            session,
            tenant_id=clinic.tenant_id,
            message_id=message.id,
            actor="user:garcia",
            now=utcnow(),
        )
    await container.relay.drain()
    assert await _escalate(container, 120) == 0
    stored = await reload(container, message.id)
    assert stored.status == "acknowledged" and stored.escalated_at is None
    assert [m.to for m in catcher.mailbox.recent()] == ["lucia.garcia@clinica.example"]


async def test_acknowledged_after_escalation_stops_pending_reminders(
    container: Container, catcher: Catcher
) -> None:
    clinic = await make_clinic(container)
    message = await take(container, clinic.tenant_id)
    await container.relay.drain()
    assert await _escalate(container, 31) == 1
    async with container.sessions() as session, session.begin():
        await staff_messages_service.acknowledge(
            session, tenant_id=clinic.tenant_id, message_id=message.id, actor="x", now=utcnow()
        )
    await container.relay.drain()  # the escalation event is handled after the acknowledgement
    reminders = [d for d in await deliveries(container, message.id) if d.escalation]
    assert {d.status for d in reminders if d.channel == "email"} == {"failed"}
    assert len(catcher.mailbox.recent()) == 1
    assert (await reload(container, message.id)).status == "acknowledged"


async def test_without_a_backup_the_message_is_marked_but_nobody_is_told(
    container: Container, catcher: Catcher
) -> None:
    clinic = await make_clinic(container, backup=None)
    to_backup_itself = await make_clinic(container, "misma", backup="garcia")
    lone = await take(container, clinic.tenant_id)
    self_backup = await take(container, to_backup_itself.tenant_id, recipient_key="garcia")
    assert await _escalate(container, 31) == 2
    for message in (lone, self_backup):
        stored = await reload(container, message.id)
        assert stored.status == "escalated" and stored.escalated_to_key is None
        assert not [d for d in await deliveries(container, message.id) if d.escalation]


async def test_timers_escalate_and_retry_and_stop(
    database: Database, tmp_path: Path, catcher: Catcher
) -> None:
    settings = make_settings(database, tmp_path, smtp_host="127.0.0.1", smtp_port=catcher.port)
    container = build_container(settings, run_workers=False)
    await container.start()
    try:
        clinic = await make_clinic(container, ack_minutes=1)
        message = await take(
            container, clinic.tenant_id, now=utcnow() - timedelta(minutes=5), urgency="normal"
        )
        assert await run_timers_once(container) == (1, 0)
        assert (await reload(container, message.id)).status == "escalated"

        stop = asyncio.Event()
        task = asyncio.create_task(run_timers(container, stop, interval=0.01))
        await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    finally:
        await container.stop()


async def test_container_runs_the_timers_with_the_workers_and_stops_them(
    database: Database, tmp_path: Path
) -> None:
    container = build_container(make_settings(database, tmp_path), run_workers=True)
    await container.start()
    names = {task.get_name() for task in container._tasks}
    assert "staff-message-timers" in names
    tasks = list(container._tasks)
    await container.stop()
    assert all(task.done() for task in tasks)
