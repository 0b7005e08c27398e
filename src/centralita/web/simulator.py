"""The simulator page: play a customer of a demo tenant on any channel.

Messages are turned into the exact signed request the simulator provider sends to
``/hooks/{account_id}`` and go through the same ``ingest`` pipeline as real providers.
Mounted only when ``settings.simulator_enabled``; it needs no sign-in, so never enable it on
a server that holds real customers' data.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.api.deps import ContainerDep
from centralita.channels import service as channels_service
from centralita.channels.base import SENDER_ADDRESS_KIND, ChannelKind, HttpInbound
from centralita.channels.ingress import ingest
from centralita.channels.models import ChannelAccount
from centralita.channels.simulator.adapter import SIGNATURE_HEADER, sign
from centralita.contacts import service as contacts_service
from centralita.conversations import service as conversations_service
from centralita.conversations.models import Conversation, Message
from centralita.core.addresses import normalise_address
from centralita.core.clock import utcnow
from centralita.core.errors import InvalidInput, NotFound
from centralita.tenants import service as tenants_service
from centralita.tenants.models import Tenant
from centralita.web.deps import CsrfHeader, Signer, WebPrincipal
from centralita.web.rendering import harden, page_language, render

router = APIRouter(include_in_schema=False)

# The order of the channel picker.
CHANNELS = (
    ChannelKind.WHATSAPP,
    ChannelKind.SMS,
    ChannelKind.VOICE,
    ChannelKind.EMAIL,
    ChannelKind.WEBCHAT,
)
ADDRESS_KIND = SENDER_ADDRESS_KIND
DEMO_IDENTITY = {
    "phone": "+34600111222",
    "whatsapp": "34600111222",
    "email": "ana.garcia@example.com",
    "web": "visitor-demo",
}
MESSAGES_SHOWN = 200


class SimulatorSend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str = Field(min_length=1, max_length=64)
    channel: ChannelKind
    address: str = Field(min_length=1, max_length=254)
    name: str | None = Field(default=None, max_length=200)
    text: str = Field(min_length=1, max_length=4096)


async def _simulator_account(
    session: AsyncSession, account_id: str
) -> tuple[ChannelAccount, Tenant]:
    problem = InvalidInput.for_field("account_id", "no enabled simulator account with this id")
    try:
        account = (await channels_service.get_for_ingress(session, account_id=account_id)).account
    except NotFound:
        raise problem from None
    tenant = await tenants_service.get_tenant(session, tenant_id=account.tenant_id)
    if account.provider != "simulator" or tenant.disabled:
        raise problem
    return account, tenant


def _customer_address(
    account: ChannelAccount, tenant: Tenant, channel: ChannelKind, raw: str
) -> str:
    if account.kind not in ("multi", channel):
        raise InvalidInput.for_field("channel", f"this account only simulates {account.kind}")
    _, value = normalise_address(
        ADDRESS_KIND[channel], raw, default_region=tenant.country, field="address"
    )
    return value


@router.get("/simulator")
async def simulator_page(
    request: Request,
    container: ContainerDep,
    principal: WebPrincipal,
    _: Signer,
    account: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    async with container.sessions() as session:
        rows = await channels_service.list_simulator_accounts(session)
        tenants = {t.id: t for t in await tenants_service.list_tenants(session)}
    choices = [
        (row, tenants[row.tenant_id])
        for row in rows
        if row.tenant_id in tenants and not tenants[row.tenant_id].disabled
    ]
    choices.sort(key=lambda c: (c[1].name.lower(), c[0].name))
    mine = principal.tenant_id if principal else None
    selected = next((c for c in choices if c[0].id == account), None) or next(
        (c for c in choices if c[1].id == mine), None
    )
    if selected is None and choices:
        selected = choices[0]
    lang = page_language(request, tenant_locale=selected[1].locale if selected else None)
    per_tenant = Counter(tenant.id for _, tenant in choices)
    options = [
        (row.id, tenant.name if per_tenant[tenant.id] == 1 else f"{tenant.name} · {row.name}")
        for row, tenant in choices
    ]
    context = {
        "options": options,
        "selected": selected,
        "channels": [c for c in CHANNELS if selected is None or selected[0].kind in ("multi", c)],
        "address_kind": {c.value: kind for c, kind in ADDRESS_KIND.items()},
        "demo_identity": DEMO_IDENTITY,
        "signed_in": principal is not None,
    }
    return render(request, "simulator.html", context, lang=lang)


@router.post("/simulator/api/send", dependencies=[CsrfHeader])
async def simulator_send(body: SimulatorSend, container: ContainerDep) -> Response:
    async with container.sessions() as session:
        account, tenant = await _simulator_account(session, body.account_id)
        secret = account.secret
    address = _customer_address(account, tenant, body.channel, body.address)
    payload: dict[str, Any] = {
        "id": f"sim-{uuid.uuid4().hex}",
        "channel": body.channel.value,
        "from": {"kind": ADDRESS_KIND[body.channel], "value": address},
        "text": body.text,
        "timestamp": utcnow().isoformat().replace("+00:00", "Z"),
    }
    if body.name and body.name.strip():
        payload["name"] = body.name.strip()
    raw = json.dumps(payload).encode()
    base = container.settings.public_base_url.rstrip("/")
    wire = HttpInbound(
        method="POST",
        url=f"{base}/hooks/{account.id}",
        headers={SIGNATURE_HEADER: sign(secret, raw), "content-type": "application/json"},
        body=raw,
    )
    outcome = await ingest(
        container.sessions,
        container.adapters,
        account_id=account.id,
        request=wire,
        clock=container.clock,
    )
    result = outcome.results[0]
    return _json(
        {
            "conversation_id": result.conversation.id,
            "message_id": result.message.id,
            "contact_id": result.message.contact_id,
            "address": address,
            "duplicate": result.duplicate,
            "api_url": f"/api/v1/conversations/{result.conversation.id}",
        },
        status_code=201,
    )


@router.get("/simulator/api/conversation")
async def simulator_conversation(
    container: ContainerDep,
    account_id: Annotated[str, Query(min_length=1, max_length=64)],
    channel: Annotated[ChannelKind, Query()],
    address: Annotated[str, Query(min_length=1, max_length=254)],
) -> Response:
    async with container.sessions() as session:
        account, tenant = await _simulator_account(session, account_id)
        value = _customer_address(account, tenant, channel, address)
        contact = await contacts_service.find_by_address(
            session, tenant_id=tenant.id, kind=ADDRESS_KIND[channel], value=value
        )
        if contact is None:
            return _json({"address": value, "conversation": None, "messages": []})
        found = await conversations_service.list_conversations(
            session, tenant_id=tenant.id, limit=20, cursor=None, contact_id=contact.id
        )
        if not found.items:
            return _json({"address": value, "conversation": None, "messages": []})
        # The thread the next message lands in is the most recently active one.
        conv = max(found.items, key=lambda c: (c.last_message_at, c.id))
        msgs = await conversations_service.list_messages(
            session, tenant_id=tenant.id, conversation_id=conv.id, limit=MESSAGES_SHOWN, cursor=None
        )
        contact_data = {
            "id": contact.id,
            "name": contact.name,
            "addresses": [{"kind": a.kind, "value": a.value} for a in contact.addresses],
        }
    shown = sorted(
        (m for m in msgs.items if m.direction != "internal"), key=lambda m: (m.created_at, m.id)
    )
    return _json(
        {
            "address": value,
            "conversation": _conversation(conv, contact_data),
            "messages": [_message(m) for m in shown],
        }
    )


def _conversation(conv: Conversation, contact: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": conv.id,
        "status": conv.status,
        "owner_type": conv.owner_type,
        "last_channel": conv.last_channel,
        "contact": contact,
        "api_url": f"/api/v1/conversations/{conv.id}",
    }


def _message(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "direction": message.direction,
        "channel": message.channel,
        "author_type": message.author_type,
        "body": message.body,
        "delivery_status": message.delivery_status,
        "delivery_error": message.delivery_error,
        "created_at": message.created_at.isoformat(),
    }


def _json(data: dict[str, Any], *, status_code: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False).encode()
    return harden(Response(body, status_code=status_code, media_type="application/json"))
