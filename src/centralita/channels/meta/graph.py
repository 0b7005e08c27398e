"""The few Graph API calls the WhatsApp channel makes, and how their errors are classified.

Meta advises building error handling on ``error.code`` rather than on the HTTP status: a rate
limit can come back as a 400. Throttling and temporary outages raise ``TransientSendError``
(the outbox retries with backoff); any other 4xx is final, with Meta's code in the reason.
"""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from centralita.channels.base import (
    AccountConfig,
    MediaRefused,
    SendResult,
    TransientSendError,
    json_object,
)
from centralita.channels.meta.payloads import WINDOW_REASON

DEFAULT_GRAPH = "https://graph.facebook.com"
DEFAULT_VERSION = "v21.0"
TIMEOUT_SECONDS = 15.0
# 1 API unknown, 2 API service (temporary), 4 too many API calls, 80007 WABA rate limit,
# 130429 Cloud API throughput, 131016 service unavailable, 131056 pair rate limit (too many
# messages to one customer), 133004 server temporarily unavailable.
TRANSIENT_CODES = frozenset({1, 2, 4, 80007, 130429, 131016, 131056, 133004})
REENGAGEMENT = 131047  # more than 24 hours since the customer's last message


def error_code(body: Mapping[str, Any]) -> int | None:
    error = body.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) else None


def describe(body: Mapping[str, Any]) -> str:
    error = body.get("error")
    if isinstance(error, dict):
        return f"WhatsApp error {error.get('code')}: {error.get('message')}"
    return "no error body"


def is_transient(status: int, body: Mapping[str, Any]) -> bool:
    return status == 429 or status >= 500 or error_code(body) in TRANSIENT_CODES


def access_token(account: AccountConfig) -> str:
    """The system user's token, read from the environment variable the account names."""
    name = str(account.settings.get("access_token_env") or "")
    return os.environ.get(name, "") if name else ""


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client: building one loads the CA bundle, about 20 ms of CPU,
    which at 80 messages a second would be most of a core."""
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class Graph:
    base: str  # https://graph.facebook.com/v21.0
    token: str
    transport: httpx.AsyncBaseTransport | None = None

    @classmethod
    def for_account(
        cls, account: AccountConfig, transport: httpx.AsyncBaseTransport | None
    ) -> Graph:
        graph = str(account.settings.get("graph_api_url") or DEFAULT_GRAPH).rstrip("/")
        version = str(account.settings.get("graph_api_version") or DEFAULT_VERSION)
        return cls(f"{graph}/{version}", access_token(account), transport)

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=self.transport,
            verify=_tls(),
            timeout=TIMEOUT_SECONDS,
            headers={"Authorization": f"Bearer {self.token}"},
        )

    async def post_message(self, phone_number_id: str, payload: dict[str, Any]) -> SendResult:
        try:
            async with self._client() as client:
                response = await client.post(
                    f"{self.base}/{phone_number_id}/messages", json=payload
                )
        except httpx.HTTPError as exc:
            raise TransientSendError(f"{type(exc).__name__}: {exc}") from exc
        body = json_object(response.content)
        if is_transient(response.status_code, body):
            raise TransientSendError(f"HTTP {response.status_code}: {describe(body)}")
        if error_code(body) == REENGAGEMENT:
            return SendResult(
                "", "failed", error=f"{WINDOW_REASON} (WhatsApp error {REENGAGEMENT})"
            )
        if response.status_code >= 400:
            return SendResult("", "failed", error=f"HTTP {response.status_code}: {describe(body)}")
        sent = body.get("messages")
        first = sent[0] if isinstance(sent, list) and sent and isinstance(sent[0], dict) else {}
        if not first.get("id"):
            raise TransientSendError("the response has no message id")
        return SendResult(str(first["id"]), "sent")

    async def media_info(self, media_id: str) -> dict[str, Any]:
        """``GET /{media_id}``: ``url``, ``mime_type``, ``sha256``, ``file_size``, ``id``."""
        try:
            async with self._client() as client:
                response = await client.get(f"{self.base}/{media_id}")
        except httpx.HTTPError as exc:
            raise TransientSendError(f"{type(exc).__name__}: {exc}") from exc
        body = json_object(response.content)
        if is_transient(response.status_code, body):
            raise TransientSendError(f"HTTP {response.status_code}: {describe(body)}")
        if response.status_code >= 400:
            raise MediaRefused(f"the media is not available: {describe(body)}")
        if not isinstance(body.get("url"), str) or not body["url"]:
            raise TransientSendError("the media description has no url")
        return body

    async def download(self, url: str, *, max_bytes: int) -> bytes:
        """The file's bytes (the URL needs the token too); stops reading past ``max_bytes``."""
        try:
            async with self._client() as client, client.stream("GET", url) as response:
                if response.status_code == 429 or response.status_code >= 500:
                    raise TransientSendError(f"HTTP {response.status_code} downloading the media")
                if response.status_code >= 400:
                    raise MediaRefused(f"HTTP {response.status_code} downloading the media")
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data.extend(chunk)
                    if len(data) > max_bytes:
                        raise MediaRefused(f"larger than {max_bytes} bytes; not stored")
                return bytes(data)
        except httpx.HTTPError as exc:
            raise TransientSendError(f"{type(exc).__name__}: {exc}") from exc
