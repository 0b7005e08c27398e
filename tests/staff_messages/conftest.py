"""Fixtures for staff messages: a clinic with a directory, a real SMTP catcher, a webhook."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from centralita.access import service as access_service
from centralita.bootstrap import Container
from centralita.config import Settings
from centralita.core.clock import utcnow
from centralita.events.models import OutboxEvent
from centralita.staff_messages import service as staff_messages_service
from centralita.staff_messages.mailcatcher import Mailbox, start_mail_catcher
from centralita.staff_messages.models import StaffMessage, StaffMessageDelivery
from centralita.tenants import service as tenants_service
from centralita.tenants.config.apply import apply_document
from centralita.tenants.config.schema import TenantDocument
from tests.conftest import Database, make_settings

STAFF: list[dict[str, Any]] = [
    {
        "key": "garcia",
        "name": "Dra. Lucía García",
        "aliases": ["la doctora García", "Dra. García"],
        "role": "Odontóloga general",
        "email": "lucia.garcia@clinica.example",
        "skills": {"urgencias": 5},
    },
    {
        "key": "sanz",
        "name": "Paula Sanz",
        "role": "Higienista dental",
        "email": "paula.sanz@clinica.example",
    },
    {
        "key": "lopez",
        "name": "Carmen López",
        "role": "Coordinadora de pacientes",
        "email": "carmen.lopez@clinica.example",
    },
    {
        "key": "moreno",
        "name": "Alberto Moreno",
        "role": "Recepcionista",
        "email": "alberto.moreno@clinica.example",
    },
    {"key": "ruiz", "name": "Dr. Javier Ruiz", "role": "Implantólogo"},  # no email
]


def clinic_document(slug: str = "clinica", **messages: Any) -> TenantDocument:
    policy = {"default_recipient": "lopez", "backup": "moreno", "ack_minutes": 30, **messages}
    return TenantDocument.model_validate(
        {
            "version": 1,
            "tenant": {
                "slug": slug,
                "name": "Clínica Sonrisa",
                "timezone": "Europe/Madrid",
                "locale": "es",
                "country": "ES",
            },
            "receptionist": {"messages": {k: v for k, v in policy.items() if v is not None}},
            "staff": STAFF,
            "services": [
                {"key": "limpieza", "name": {"es": "Limpieza"}, "staff": ["sanz"]},
                {"key": "implante", "name": {"es": "Implante"}, "staff": ["ruiz", "garcia"]},
            ],
        }
    )


@dataclass(frozen=True)
class Clinic:
    tenant_id: str
    slug: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def make_clinic(container: Container, slug: str = "clinica", **messages: Any) -> Clinic:
    """A tenant applied from a document (directory and message policy), with an API key."""
    async with container.sessions() as session, session.begin():
        report = await apply_document(session, clinic_document(slug, **messages), actor="test")
        issued = await access_service.create_api_key(
            session, tenant_id=report.tenant_id, name="tests", role="admin"
        )
    return Clinic(report.tenant_id, slug, issued.secret)


async def take(container: Container, tenant_id: str, **overrides: Any) -> StaffMessage:
    values: dict[str, Any] = {
        "conversation_id": "cv_test",
        "contact_id": None,
        "recipient_key": "garcia",
        "caller_name": "Ana Ruiz",
        "caller_phone": "+34600111222",
        "caller_email": "ana@example.com",
        "reason": "Le sigue doliendo la muela",
        "intent": "message",
        "urgency": "high",
        "summary": "Ana Ruiz llama porque le sigue doliendo la muela tras el empaste.",
        "language": "es",
        "now": utcnow(),
    }
    values.update(overrides)
    async with container.sessions() as session, session.begin():
        tenant = await tenants_service.get_tenant(session, tenant_id=tenant_id)
        return await staff_messages_service.take_message(session, tenant=tenant, **values)


async def deliveries(container: Container, message_id: str) -> list[StaffMessageDelivery]:
    async with container.sessions() as session:
        rows = await session.scalars(
            select(StaffMessageDelivery)
            .where(StaffMessageDelivery.message_id == message_id)
            .order_by(StaffMessageDelivery.id)
        )
        return list(rows.all())


async def reload(container: Container, message_id: str) -> StaffMessage:
    async with container.sessions() as session:
        message = await session.get(StaffMessage, message_id)
        assert message is not None
        return message


async def event_names(container: Container, tenant_id: str) -> list[str]:
    async with container.sessions() as session:
        rows = await session.scalars(
            select(OutboxEvent.name)
            .where(OutboxEvent.tenant_id == tenant_id, OutboxEvent.name.like("staff_message.%"))
            .order_by(OutboxEvent.sequence)
        )
        return list(rows.all())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- a real SMTP server -------------------------------------------------------------------


@dataclass
class Catcher:
    directory: Path
    port: int
    controller: Controller

    @property
    def mailbox(self) -> Mailbox:
        return Mailbox(self.directory)


@pytest.fixture
async def catcher(tmp_path: Path) -> AsyncIterator[Catcher]:
    controller, port = await start_mail_catcher(tmp_path / "mail")
    yield Catcher(tmp_path / "mail", port, controller)
    await asyncio.to_thread(controller.stop)


@pytest.fixture
def settings(database: Database, tmp_path: Path, catcher: Catcher) -> Settings:
    """The suite's settings, with outgoing mail going to the catcher and the operator
    allowing webhooks to the local stand-in (plain HTTP on 127.0.0.1)."""
    return make_settings(
        database,
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=catcher.port,
        mail_from="avisos@clinica.example",
        mailbox_dir=catcher.directory,
        webhook_allow_http=True,
        webhook_allowed_hosts="127.0.0.1",
    )


# ---- a webhook receiver (Slack/Teams stand-in) ----------------------------------------------


@dataclass
class Hook:
    url: str
    received: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


class _HookHandler(BaseHTTPRequestHandler):
    hook: Hook

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.hook.received.append(
            {"path": self.path, "json": body, "type": self.headers.get("content-type")}
        )
        self.send_response(self.hook.status)
        self.send_header("content-type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok" if self.hook.status < 300 else b"invalid_token")

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def webhook() -> Iterator[Hook]:
    hook = Hook(url="")
    handler = type("HookHandler", (_HookHandler,), {"hook": hook})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield hook
    server.shutdown()
    server.server_close()
