"""The desktop's live socket on a real uvicorn server: filtered events, resume, refusals."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from centralita.app import create_app
from centralita.bootstrap import Container, build_container
from centralita.config import Settings
from centralita.realtime import socket as desk_socket
from tests.conftest import Database, make_settings
from tests.routing.test_api import Desk, _conversation, _desk, _enqueue
from tests.support.thread_server import free_port, serve_in_thread


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(database: Database, tmp_path: Path, port: int) -> Settings:
    return make_settings(database, tmp_path, public_base_url=f"http://127.0.0.1:{port}",
                         relay_interval_seconds=0.05)  # fmt: skip


@dataclass
class Live:
    url: str
    ws: str
    container: Container


@pytest.fixture
def live(settings: Settings, port: int) -> Iterator[Live]:
    """The app in uvicorn in a thread, with its own container and workers (relay, timers)."""
    container = build_container(settings, run_workers=True)
    with serve_in_thread(create_app(container), port, timeout=60):
        yield Live(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", container)


@pytest.fixture
async def desk(container: Container) -> AsyncIterator[Desk]:
    d = await _desk(container)
    try:
        yield d
    finally:
        for c in d.web.values():
            await c.aclose()


def _open(live: Live, desk: Desk, who: str, after: int = 0, origin: str | None = None) -> Any:
    cookie = desk.web[who].cookies["centralita_session"]
    return connect(f"{live.ws}/desk/ws?after={after}", origin=Origin(origin or live.url),
                   additional_headers={"Cookie": f"centralita_session={cookie}"})  # fmt: skip


async def _next(ws: ClientConnection, name: str, within: float = 10.0) -> dict[str, Any]:
    """The next event frame called ``name`` (other frames are skipped)."""
    end = asyncio.get_running_loop().time() + within
    while True:
        left = end - asyncio.get_running_loop().time()
        frame = json.loads(await asyncio.wait_for(ws.recv(), max(left, 0.01)))
        if frame.get("name") == name or frame.get("type") == name:
            return dict(frame)


async def _names(ws: ClientConnection, seconds: float = 1.0) -> list[str]:
    found = []
    with pytest.raises(TimeoutError):
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), seconds))
            found.append(frame.get("name") or frame["type"])
    return found


async def test_an_agent_sees_its_offer_and_resumes_what_it_missed(
    live: Live, container: Container, desk: Desk
) -> None:
    ana = desk.web["ana"]
    async with _open(live, desk, "ana") as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello" and hello["agent_id"] == desk.ana
        await ana.put("/api/v1/agent/me/presence", json={"presence": "available"})
        presence = await _next(ws, "agent.presence_changed")
        conv = await _conversation(container, live_client := ana, desk.kit)  # noqa: F841
        await _enqueue(container, desk, conv)
        offered = await _next(ws, "routing.offered")
        assert offered["payload"]["conversation_id"] == conv
        assert offered["seq"] > presence["seq"]
    # Away from the socket: the agent accepts and a reply is written.
    assert (await ana.post(f"/api/v1/agent/offers/{conv}/accept")).status_code == 200
    r = await ana.post(f"/api/v1/conversations/{conv}/messages", json={"body": "Hola, soy Ana"})
    assert r.status_code == 201, r.text
    async with _open(live, desk, "ana", after=offered["seq"]) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        assigned = await _next(ws, "routing.assigned")
        queued = await _next(ws, "message.queued")
        assert assigned["payload"]["agent_id"] == desk.ana
        assert queued["payload"]["conversation_id"] == conv and queued["seq"] > assigned["seq"]
        seen = [assigned["seq"], queued["seq"]]
        assert seen == sorted(set(seen))


async def test_agents_see_only_their_own_offers_and_supervisors_see_all(
    live: Live, container: Container, desk: Desk
) -> None:
    await desk.web["ana"].put("/api/v1/agent/me/presence", json={"presence": "available"})
    async with _open(live, desk, "bea") as bea, _open(live, desk, "sam") as sam:
        for ws in (bea, sam):
            assert json.loads(await ws.recv())["type"] == "hello"
        conv = await _conversation(container, desk.web["ana"], desk.kit)
        await _enqueue(container, desk, conv)
        offered = await _next(sam, "routing.offered")
        assert offered["payload"]["agent_id"] == desk.ana
        names = await _names(bea, 1.5)
        assert "routing.offered" not in names and "message.received" not in names
        assert "routing.queued" in names  # what waits where is everyone's business


async def test_a_browser_back_after_a_long_time_is_told_to_resync(
    live: Live, container: Container, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(desk_socket, "RESUME_LIMIT", 2)
    ana = desk.web["ana"]
    async with _open(live, desk, "ana") as ws:
        hello = json.loads(await ws.recv())
    for presence in ("available", "away", "available", "busy"):
        await ana.put("/api/v1/agent/me/presence", json={"presence": presence})
    async with _open(live, desk, "ana", after=max(hello["latest"], 1)) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        assert json.loads(await ws.recv())["type"] == "resync"


async def test_other_origins_and_strangers_are_refused(live: Live, desk: Desk) -> None:
    with pytest.raises(ConnectionClosed) as closed:
        async with _open(live, desk, "ana", origin="https://evil.example") as ws:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    with pytest.raises(ConnectionClosed) as closed:
        async with connect(f"{live.ws}/desk/ws", origin=Origin(live.url)) as ws:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
