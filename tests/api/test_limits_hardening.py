"""Oversized, deeply nested and slow requests are cut off; normal ones still get through.

The in-process tests run on both databases; the slow-client tests talk raw sockets to a
real `centralita serve` process (the header deadline lives in uvicorn's protocol layer).
"""

from __future__ import annotations

import asyncio
import select
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from centralita.api.limits import json_too_deep
from centralita.app import create_app
from centralita.bootstrap import Container, build_container
from centralita.config import Settings
from tests.factories import TenantKit, make_tenant
from tests.support.live_server import SECRET_KEY, ServerProcess, create_database, drop_database


def _nested(depth: int) -> bytes:
    return b'{"name": "x", "attributes": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(
    "body, limit, too_deep",
    [
        (b"{}", 1, False),
        (b"[[]]", 1, True),
        (b'["[[[[[[", "\\"[[["]', 1, False),  # brackets inside strings do not count
        (b"{[{[]}]}", 3, True),  # one pass peels exactly one level
        (b"[" * 32 + b"]" * 32, 32, False),
        (b"[" * 33 + b"]" * 33, 32, True),
        (b"[[[", 1, False),  # malformed: left to the JSON parser
        (b"[" * 100_000, 32, False),
    ],
)
def test_json_depth(body: bytes, limit: int, too_deep: bool) -> None:
    assert json_too_deep(body, limit) is too_deep


async def test_deep_json_is_refused_everywhere(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    json_headers = {**kit.headers, "content-type": "application/json"}
    deep = await client.post("/api/v1/contacts", headers=json_headers, content=_nested(40))
    assert deep.status_code == 422
    assert deep.json()["detail"] == "the JSON body is nested deeper than 32 levels"
    assert deep.json()["errors"][0]["field"] == "body"
    shallow = await client.post("/api/v1/contacts", headers=json_headers, content=_nested(3))
    assert "nested deeper" not in shallow.text  # refused by the schema, not by the limit
    # a webhook, and a body that only looks like JSON, get the same cut-off
    hook = await client.post(
        f"/hooks/{kit.simulator_account_id}",
        headers={"content-type": "text/plain"},
        content=b"[" * 50_000 + b"]" * 50_000,
    )
    assert hook.status_code == 422 and "nested deeper" in hook.json()["detail"]
    latin1 = await client.post(
        "/api/v1/contacts", headers=json_headers, content='{"name": "Jos\u00e9"}'.encode("latin-1")
    )
    assert latin1.status_code == 422
    assert latin1.json()["detail"] == "the JSON body is not valid UTF-8"


async def test_oversized_bodies_get_413_with_or_without_a_length(
    client: httpx.AsyncClient, container: Container
) -> None:
    kit = await make_tenant(container)
    limit = container.settings.max_body_bytes

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(limit // 10_000 + 2):
            yield b"x" * 10_000

    streamed = await client.post(
        "/api/v1/contacts",
        headers={**kit.headers, "content-type": "application/json"},
        content=chunks(),
    )
    assert streamed.status_code == 413
    assert streamed.headers["content-type"] == "application/problem+json"
    hook = await client.post(f"/hooks/{kit.simulator_account_id}", content=b"x" * (limit + 1))
    assert hook.status_code == 413


async def test_a_body_slower_than_the_deadline_gets_408(container: Container) -> None:
    container.settings = container.settings.model_copy(update={"request_body_timeout_seconds": 0.3})
    kit = await make_tenant(container)
    app = create_app(container)

    async def trickle() -> AsyncIterator[bytes]:
        yield b'{"name": '
        await asyncio.sleep(1)
        yield b'"Ana"}'

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        r = await c.post(
            "/api/v1/contacts",
            headers={**kit.headers, "content-type": "application/json"},
            content=trickle(),
        )
        assert r.status_code == 408
        assert r.headers["connection"] == "close"
        assert "did not arrive within 0.3 seconds" in r.json()["detail"]
        ok = await c.post("/api/v1/contacts", headers=kit.headers, json={"name": "Ana"})
        assert ok.status_code == 201


# ---- against a real server process ---------------------------------------------------------

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
MAX_BODY = 20_000


def _seed(url: str, data_dir: Path) -> TenantKit:
    async def main() -> TenantKit:
        settings = Settings(
            database_url=url,
            data_dir=data_dir,
            environment="test",
            secret_key=SECRET_KEY,  # type: ignore[arg-type]
            password_hash_cheap=True,
        )
        container = build_container(settings, run_workers=False, subscribe=False)
        try:
            return await make_tenant(container)
        finally:
            await container.engine.dispose()

    return asyncio.run(main())


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, TenantKit]]:
    data = tmp_path_factory.mktemp("limits")
    url = create_database("sqlite", data)
    kit = _seed(url, data)
    server = ServerProcess(
        url,
        data,
        workers=False,
        extra_env={
            "CENTRALITA_REQUEST_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
            "CENTRALITA_REQUEST_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
            "CENTRALITA_MAX_BODY_BYTES": str(MAX_BODY),
        },
    ).wait_ready()
    try:
        yield server, kit
    finally:
        server.stop()
        drop_database(url)


def _connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def _read_until_closed(sock: socket.socket, limit: float = 10) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when that happened."""
    start = time.monotonic()
    received = b""
    sock.settimeout(limit)
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        received += chunk
    return received, time.monotonic() - start


def _ok(server: ServerProcess, kit: TenantKit) -> None:
    """An ordinary request on the same server, meanwhile."""
    r = httpx.post(
        server.base_url + "/api/v1/contacts", headers=kit.headers, json={"name": "Ana"}, timeout=10
    )
    assert r.status_code == 201, r.text


@pytest.mark.slow
def test_slowloris_headers_are_cut_off(live: tuple[ServerProcess, TenantKit]) -> None:
    server, kit = live
    idle = _connect(server)  # connects and never sends a byte
    slow = _connect(server)
    slow.sendall(b"POST /api/v1/contacts HTTP/1.1\r\nHost: x\r\n")
    _ok(server, kit)  # while both are open
    started = time.monotonic()
    # one header byte every 0.2 s, each well within any per-read timeout, until the server
    # answers (sending on after its close would reset the connection and lose the answer)
    for byte in b"X-Slow: " + b"a" * 40:
        readable, _, _ = select.select([slow], [], [], 0.2)
        if readable:
            break
        slow.sendall(bytes([byte]))
    closed_after = time.monotonic() - started
    answer, _ = _read_until_closed(slow)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert closed_after < HEADER_TIMEOUT + 3
    idle_answer, _ = _read_until_closed(idle)
    assert idle_answer.startswith(b"HTTP/1.1 408")
    _ok(server, kit)


@pytest.mark.slow
def test_a_keep_alive_connection_gets_the_deadline_again(
    live: tuple[ServerProcess, TenantKit],
) -> None:
    server, _ = live
    sock = _connect(server)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    first = b""
    while not first.endswith(b'{"status":"ok"}'):  # headers and body may come apart
        chunk = sock.recv(65536)
        assert chunk, first
        first += chunk
    assert first.startswith(b"HTTP/1.1 200")
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHo")  # the next request stalls half-way
    answer, waited = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408") and waited < HEADER_TIMEOUT + 3


@pytest.mark.slow
def test_a_slow_body_is_cut_off_with_408(live: tuple[ServerProcess, TenantKit]) -> None:
    server, kit = live
    sock = _connect(server)
    sock.sendall(
        b"POST /api/v1/contacts HTTP/1.1\r\nHost: x\r\n"
        + f"Authorization: Bearer {kit.api_key}\r\n".encode()
        + b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        + b'{"name": "A'
    )
    _ok(server, kit)
    answer, waited = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"did not arrive within" in answer
    assert waited < BODY_TIMEOUT + 3
    _ok(server, kit)


@pytest.mark.slow
def test_big_and_deep_bodies_are_refused_by_the_server(
    live: tuple[ServerProcess, TenantKit],
) -> None:
    server, kit = live
    base = server.base_url
    big = httpx.post(
        base + "/api/v1/contacts", headers=kit.headers, content=b"x" * (MAX_BODY + 1), timeout=10
    )
    assert big.status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(MAX_BODY // 1000 + 5):
            yield b"x" * 1000

    streamed = httpx.post(base + f"/hooks/{kit.simulator_account_id}", content=chunks(), timeout=10)
    assert streamed.status_code == 413
    deep = httpx.post(
        base + "/api/v1/contacts",
        headers={**kit.headers, "content-type": "application/json"},
        content=_nested(33),
        timeout=10,
    )
    assert deep.status_code == 422 and "nested deeper" in deep.json()["detail"]
    _ok(server, kit)
