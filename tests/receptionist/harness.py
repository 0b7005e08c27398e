"""Drive the receptionist end to end: signed simulator webhooks in, the relay drained, the
bot's replies and the stored rows read back. Time is fixed through ``container.clock``."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from typing import Any

import httpx
import yaml
from sqlalchemy import select

from centralita.bootstrap import Container
from centralita.channels.models import ChannelAccount
from centralita.conversations.models import Conversation, Message
from centralita.tenants.config.apply import apply_document
from centralita.tenants.config.schema import TenantDocument
from centralita.tenants.models import Tenant
from tests.simulator_client import simulator_request


def demo_document(name: str, slug: str | None = None, **receptionist: Any) -> TenantDocument:
    text = files("centralita.demo").joinpath("tenants", f"{name}.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    data["tenant"]["slug"] = slug or f"{name[:40]}-{secrets.token_hex(3)}"
    data["receptionist"].update(receptionist)
    return TenantDocument.model_validate(data)


@dataclass
class Business:
    container: Container
    client: httpx.AsyncClient
    tenant_id: str
    account_id: str
    secret: str
    seen: set[str] = field(default_factory=set)

    @classmethod
    async def open(
        cls,
        container: Container,
        client: httpx.AsyncClient,
        *,
        now: datetime,
        name: str = "clinica-dental-sonrisa",
        **receptionist: Any,
    ) -> Business:
        doc = demo_document(name, **receptionist)
        async with container.sessions() as session, session.begin():
            await apply_document(session, doc, actor="tests", environ={})
        async with container.sessions() as session:
            tenant = await session.scalar(select(Tenant).where(Tenant.slug == doc.tenant.slug))
            assert tenant is not None
            account = await session.scalar(
                select(ChannelAccount).where(
                    ChannelAccount.tenant_id == tenant.id, ChannelAccount.provider == "simulator"
                )
            )
            assert account is not None and account.secret
        business = cls(container, client, tenant.id, account.id, account.secret)
        business.at(now)
        return business

    def at(self, now: datetime) -> None:
        self.container.clock = lambda: now

    async def say(
        self,
        text: str,
        *,
        channel: str = "whatsapp",
        value: str = "34612345678",
        name: str | None = None,
    ) -> str:
        """Send one customer message and return the receptionist's reply (replies joined)."""
        kind = {"whatsapp": "whatsapp", "sms": "phone", "email": "email", "webchat": "web"}.get(
            channel
        )
        body, headers = simulator_request(
            self.secret, text=text, channel=channel, kind=kind, value=value, name=name
        )
        response = await self.client.post(
            f"/hooks/{self.account_id}", content=body, headers=headers
        )
        assert response.status_code < 300, response.text
        await self.container.relay.drain()
        return "\n".join(m.body for m in await self.new_replies())

    async def new_replies(self) -> list[Message]:
        async with self.container.sessions() as session:
            rows = (
                await session.scalars(
                    select(Message)
                    .where(Message.tenant_id == self.tenant_id, Message.direction == "outbound")
                    .order_by(Message.created_at, Message.id)
                )
            ).all()
        fresh = [m for m in rows if m.id not in self.seen]
        self.seen.update(m.id for m in fresh)
        return fresh

    async def conversation(self) -> Conversation:
        async with self.container.sessions() as session:
            conv = await session.scalar(
                select(Conversation)
                .where(Conversation.tenant_id == self.tenant_id)
                .order_by(Conversation.last_message_at.desc())
                .limit(1)
            )
            assert conv is not None
            return conv

    async def rows(self, model: Any, **where: Any) -> list[Any]:
        async with self.container.sessions() as session:
            stmt = select(model).where(model.tenant_id == self.tenant_id)
            for key, value in where.items():
                stmt = stmt.where(getattr(model, key) == value)
            return list((await session.scalars(stmt)).all())
