"""A user disabled (or re-roled) while their desk is open loses the live socket at once,
and cannot open a new one with the old cookie."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed

from centralita.bootstrap import Container
from centralita.tenants.models import StaffMember
from tests.realtime.test_desk_socket import Live, _open, desk, live, port, settings
from tests.routing.test_api import Desk

__all__ = ["desk", "live", "port", "settings"]  # fixtures, imported for this module


async def _user_of(container: Container, staff_id: str) -> str:
    async with container.sessions() as session:
        user_id = await session.scalar(
            select(StaffMember.user_id).where(StaffMember.id == staff_id)
        )
    assert user_id
    return user_id


async def _closed_code(ws: object, within: float = 10.0) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(within):
            while True:
                await ws.recv()  # type: ignore[attr-defined]
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


@pytest.mark.parametrize("change", [{"disabled": True}, {"role": "supervisor"}])
async def test_a_changed_users_socket_is_closed_and_stays_refused(
    live: Live, container: Container, desk: Desk, change: dict[str, object]
) -> None:
    ana_user = await _user_of(container, desk.ana)
    bea_ws = _open(live, desk, "bea")
    async with _open(live, desk, "ana") as ws, bea_ws as bea:
        assert json.loads(await ws.recv())["type"] == "hello"
        assert json.loads(await bea.recv())["type"] == "hello"
        async with httpx.AsyncClient(base_url=live.url, headers=desk.kit.headers) as admin:
            r = await admin.patch(f"/api/v1/users/{ana_user}", json=change)
            assert r.status_code == 200, r.text
        assert await _closed_code(ws) == 4401
        # Bea's socket is not affected.
        await bea.send('{"type": "ping"}')
        assert bea.state.name == "OPEN"
    async with _open(live, desk, "ana") as ws:
        assert await _closed_code(ws) == 4401
