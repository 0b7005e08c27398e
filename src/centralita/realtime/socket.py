"""``/desk/ws``: a signed-in agent's or supervisor's live events, resumable by sequence.

The browser connects with its session cookie (same origin only) and ``?after=<seq>``, the
last event sequence it has. The socket first joins the hub, then sends what the outbox holds
after that sequence (what happened while it was away), then the live events, skipping any it
already sent; so nothing is missed across a reconnect, and nothing is sent twice. When more
than ``RESUME_LIMIT`` events were missed (a browser back after a long time), it sends
``{"type": "resync"}``: the desktop reloads its state from the API and continues live.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket
from sqlalchemy import func, select
from starlette.websockets import WebSocketDisconnect

from centralita.access import service as access_service
from centralita.access.models import Role
from centralita.conversations import scoping
from centralita.events.envelope import Envelope
from centralita.events.models import OutboxEvent
from centralita.realtime.filters import NAMES, Viewer
from centralita.realtime.hub import Connection
from centralita.tenants.models import StaffMember

if TYPE_CHECKING:
    from centralita.bootstrap import Container

log = logging.getLogger(__name__)
router = APIRouter()
RESUME_LIMIT = 1000
PING_SECONDS = 25.0
SESSION_COOKIE = "centralita_session"


def _same_origin(websocket: WebSocket, public_base_url: str) -> bool:
    origin = websocket.headers.get("origin")
    if not origin:
        return False
    netloc = urlsplit(origin).netloc
    return netloc in {websocket.headers.get("host", ""), urlsplit(public_base_url).netloc}


@router.websocket("/desk/ws")
async def desk_socket(websocket: WebSocket, after: int = 0) -> None:
    container: Container = websocket.app.state.container
    # Refusals are close codes after the handshake, which a browser can read (a refused
    # handshake is only an opaque error there); nothing is sent before them.
    await websocket.accept()
    if not _same_origin(websocket, container.settings.public_base_url):
        await websocket.close(4403, "cross-origin sockets are refused")
        return
    viewer = await _viewer(websocket, container)
    if viewer is None:
        await websocket.close(4401, "sign in first")
        return
    tenant_id, user_id, viewer_ = viewer
    connection = container.hub.connect(tenant_id, viewer_, user_id=user_id)
    try:
        await _serve(websocket, container, connection, max(after, 0))
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        container.hub.disconnect(connection)


async def _viewer(websocket: WebSocket, container: Container) -> tuple[str, str, Viewer] | None:
    from datetime import timedelta

    token = websocket.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        return None
    idle = timedelta(minutes=container.settings.session_idle_minutes)
    async with container.sessions() as session, session.begin():
        principal = await access_service.resolve_session(session, token=token, idle=idle)
        if principal is None or principal.user_id is None:
            return None
        staff = await session.scalar(select(StaffMember.id).where(
            StaffMember.tenant_id == principal.tenant_id,
            StaffMember.user_id == principal.user_id,
        ))  # fmt: skip
        viewer = Viewer(supervisor=principal.at_least(Role.SUPERVISOR), agent_id=staff)
        scope = await scoping.agent_scope(
            session,
            tenant_id=principal.tenant_id,
            role=principal.role.value,
            user_id=principal.user_id,
        )
        if scope is not None:
            viewer.queues = scope.queue_ids
        if staff is not None:
            state = await container.routing.read(session, principal.tenant_id)
            agent = state.agents.get(staff)
            if agent is not None:
                viewer.conversations = set(agent.tasks) | set(agent.offers)
    return principal.tenant_id, principal.user_id, viewer


def _frame(seq: int, name: str, at: str, payload: dict[str, Any]) -> str:
    return json.dumps({"type": "event", "seq": seq, "name": name, "at": at, "payload": payload},
                      ensure_ascii=False, default=str)  # fmt: skip


async def _serve(websocket: WebSocket, container: Container, connection: Connection,
                 after: int) -> None:  # fmt: skip
    tenant_id, viewer = connection.tenant_id, connection.viewer
    async with container.sessions() as session:
        latest = await session.scalar(
            select(func.max(OutboxEvent.sequence)).where(OutboxEvent.tenant_id == tenant_id)
        )
        rows = []
        if after:
            rows = list((await session.execute(
                select(OutboxEvent.sequence, OutboxEvent.name, OutboxEvent.occurred_at,
                       OutboxEvent.payload)
                .where(OutboxEvent.tenant_id == tenant_id, OutboxEvent.sequence > after,
                       OutboxEvent.name.in_(NAMES))
                .order_by(OutboxEvent.sequence).limit(RESUME_LIMIT + 1)
            )).all())  # fmt: skip
    last = after
    await websocket.send_text(json.dumps({
        "type": "hello", "agent_id": viewer.agent_id, "supervisor": viewer.supervisor,
        "latest": latest or 0,
    }))  # fmt: skip
    if after and len(rows) > RESUME_LIMIT:
        await websocket.send_text(json.dumps({"type": "resync", "latest": latest or 0}))
        last = latest or after
    else:
        for seq, name, at, payload in rows:
            viewer.track(name, payload)
            if viewer.sees(name, payload):
                await websocket.send_text(_frame(seq, name, at.isoformat(), payload))
            last = seq
    if not after:
        last = latest or 0
    receiver = asyncio.create_task(_receive(websocket))
    try:
        while not receiver.done():
            getter = asyncio.create_task(connection.queue.get())
            done, _ = await asyncio.wait({getter, receiver}, timeout=PING_SECONDS,
                                         return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            if connection.revoked:
                getter.cancel()
                await websocket.close(4401, "session revoked: sign in again")
                return
            if getter not in done:
                getter.cancel()
                if not done:
                    await websocket.send_text('{"type": "ping"}')
                continue
            envelope: Envelope = getter.result()
            if connection.lagging:
                connection.lagging = False
                while not connection.queue.empty():
                    connection.queue.get_nowait()
                await websocket.send_text(json.dumps({"type": "resync"}))
                continue
            seq = envelope.sequence or 0
            if seq and seq <= last:
                continue  # already sent from the outbox
            await websocket.send_text(
                _frame(seq, envelope.name, envelope.occurred_at, envelope.payload)
            )
            last = max(last, seq)
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver


async def _receive(websocket: WebSocket) -> None:
    """Read until the browser goes; it only ever sends pings, which need no answer."""
    while True:
        event = await websocket.receive()
        if event["type"] == "websocket.disconnect":
            return
