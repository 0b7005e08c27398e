"""Webhook tests talk to real local HTTP servers: allow plain http to 127.0.0.1 and keep
the time limit short, as an operator would only for tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from centralita.bootstrap import Container
from centralita.config import Settings
from centralita.webhooks.sender import WebhookSender
from tests.conftest import Database, make_settings
from tests.webhooks.receiver import Receiver

TIMEOUT = 1.0


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return make_settings(
        database,
        tmp_path,
        webhook_allow_http=True,
        webhook_allowed_hosts="127.0.0.1",
        webhook_timeout_seconds=TIMEOUT,
        webhook_tick_seconds=0.05,
    )


@pytest.fixture
def sender(container: Container) -> WebhookSender:
    return WebhookSender(container.sessions, container.settings, jitter=lambda: 0.5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


async def subscribe(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, events: list[str] | None = None
) -> dict[str, str]:
    r = await client.post(
        "/api/v1/webhooks", headers=headers, json={"url": url, "events": events or ["*"]}
    )
    assert r.status_code == 201, r.text
    body: dict[str, str] = r.json()
    return body


async def create_contact(client: httpx.AsyncClient, headers: dict[str, str], name: str) -> str:
    r = await client.post("/api/v1/contacts", headers=headers, json={"name": name})
    assert r.status_code == 201, r.text
    contact_id: str = r.json()["id"]
    return contact_id
