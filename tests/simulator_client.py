"""Build signed simulator webhook requests, as the simulator page and benchmarks do."""

from __future__ import annotations

import json
import uuid
from typing import Any

from centralita.channels.simulator.adapter import SIGNATURE_HEADER, sign


def simulator_request(
    secret: str,
    *,
    text: str,
    channel: str = "whatsapp",
    kind: str | None = None,
    value: str = "34600111222",
    msg_id: str | None = None,
    name: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    payload: dict[str, Any] = {
        "id": msg_id or f"sim-{uuid.uuid4().hex}",
        "channel": channel,
        "from": {"kind": kind, "value": value} if kind else {"value": value},
        "text": text,
    }
    if name:
        payload["name"] = name
    body = json.dumps(payload).encode()
    return body, {SIGNATURE_HEADER: sign(secret, body), "content-type": "application/json"}
