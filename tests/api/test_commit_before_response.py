"""A client never gets a 2xx for a change that did not commit: the request's transaction
commits before the response starts (``api.deps.get_db`` with ``scope="function"``; FastAPI
runs a ``yield`` dependency's exit after the response by default)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from centralita.app import create_app
from centralita.bootstrap import Container
from tests.factories import make_tenant


@pytest.fixture
def timeline() -> Iterator[list[str]]:
    """A "commit" each time an ORM transaction commits (only the request runs: no workers)."""
    seen: list[str] = []

    def commit(session: Session) -> None:
        seen.append("commit")

    event.listen(Session, "before_commit", commit)
    try:
        yield seen
    finally:
        event.remove(Session, "before_commit", commit)


def recording(app: ASGIApp, seen: list[str]) -> ASGIApp:
    """The app, noting when the response starts (what a real server sends at once)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen.append(f"response {message['status']}")
            await send(message)

        await app(scope, receive, noting)

    return wrapped


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/contacts", {"name": "Ana"}),
        ("PATCH", "/api/v1/contacts/{id}", {"name": "Ana María"}),
    ],
)
async def test_the_transaction_commits_before_the_response_starts(
    container: Container, timeline: list[str], method: str, path: str, body: dict[str, str]
) -> None:
    kit = await make_tenant(container)
    app = recording(create_app(container), timeline)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        created = await client.post("/api/v1/contacts", headers=kit.headers, json={"name": "A"})
        timeline.clear()
        answer = await client.request(
            method, path.format(id=created.json()["id"]), headers=kit.headers, json=body
        )
    assert answer.status_code in (200, 201), answer.text
    # every commit of the request (its own, and any the service needed) before the response
    assert "commit" in timeline
    assert timeline[-1] == f"response {answer.status_code}", timeline
