"""Scale-out: a desktop connected to one web process sees events produced in another.

Two real `centralita serve` processes share PostgreSQL and Redis. Process 1 serves HTTP only
(``--no-workers``: no relay of its own); process 2 takes the customer's message, and its relay
publishes the events to Redis. The supervisor's socket on process 1 must get them live: the
only way there is Redis's fan-out to every process's hub.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Origin

from centralita.access import service as access_service
from centralita.bootstrap import build_container
from centralita.config import Settings
from tests.conftest import PG_HOST, REDIS_URL, need_service
from tests.simulator_client import simulator_request
from tests.support.live_server import (
    SECRET_KEY,
    ServerProcess,
    SimulatorTenant,
    create_database,
    drop_database,
    seed_tenant,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


@dataclass
class Pair:
    tenant: SimulatorTenant
    web: ServerProcess  # HTTP only
    ingest: ServerProcess  # HTTP and workers
    cookie: str


def _supervisor_cookie(url: str, data_dir: Path, tenant_id: str) -> str:
    async def main() -> str:
        settings = Settings(database_url=url, data_dir=data_dir, environment="test",
                            secret_key=SECRET_KEY, password_hash_cheap=True)  # type: ignore[arg-type]  # fmt: skip
        container = build_container(settings, run_workers=False, subscribe=False)
        await container.start()
        try:
            async with container.sessions() as session, session.begin():
                user = await access_service.create_user(
                    session, tenant_id=tenant_id, email="sam@example.com", name="Sam",
                    role="supervisor", password=secrets.token_hex(8), cheap_hash=True,
                )  # fmt: skip
                issued = await access_service.start_session(
                    session, user=user, absolute=timedelta(hours=8)
                )
            return issued.token
        finally:
            await container.stop()

    return asyncio.run(main())


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    need_service("PostgreSQL", PG_HOST, 5432)
    need_service("Redis", "127.0.0.1", 6379)
    url = create_database("postgresql", tmp_path)
    # A Redis database of its own: other tests' streams stay out of the way.
    redis = REDIS_URL.rsplit("/", 1)[0] + f"/{secrets.randbelow(8) + 8}"
    env = {"CENTRALITA_REDIS_URL": redis, "CENTRALITA_LOG_LEVEL": "WARNING"}
    web = ingest = None
    try:
        tenant = seed_tenant(url, tmp_path)
        cookie = _supervisor_cookie(url, tmp_path, tenant.tenant_id)
        web = ServerProcess(url, tmp_path, workers=False, extra_env=env).wait_ready()
        ingest = ServerProcess(url, tmp_path, relay_interval=0.1, extra_env=env).wait_ready()
        yield Pair(tenant, web, ingest, cookie)
    finally:
        for server in (web, ingest):
            if server is not None:
                server.stop()
        drop_database(url)


async def test_a_desktop_on_one_process_sees_a_message_taken_by_another(pair: Pair) -> None:
    ws_url = pair.web.base_url.replace("http://", "ws://") + "/desk/ws"
    async with connect(
        ws_url,
        origin=Origin(pair.web.base_url),
        additional_headers={"Cookie": f"centralita_session={pair.cookie}"},
    ) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hello["type"] == "hello" and hello["supervisor"] is True

        body, headers = simulator_request(
            pair.tenant.secret, text="hola desde el otro proceso", value="34600111222",
            msg_id="fanout-1",
        )  # fmt: skip
        async with httpx.AsyncClient() as client:
            r = await client.post(
                f"{pair.ingest.base_url}/hooks/{pair.tenant.account_id}",
                content=body,
                headers=headers,
            )
        assert r.is_success, r.text

        deadline = asyncio.get_running_loop().time() + 20
        names = []
        while True:
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, f"no message.received on process 1; got {names}"
            frame = json.loads(await asyncio.wait_for(ws.recv(), left))
            names.append(frame.get("name") or frame.get("type"))
            if frame.get("name") == "message.received":
                assert frame["seq"] > hello["latest"]
                break
