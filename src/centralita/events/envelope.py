"""Events are past-tense frozen dataclasses; an envelope carries one across the wire."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base for every domain event. Subclasses set ``name`` and ``version``."""

    name: ClassVar[str] = "event"
    version: ClassVar[int] = 1
    tenant_id: str

    def payload(self) -> dict[str, Any]:
        return {k: _plain(v) for k, v in dataclasses.asdict(self).items()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Envelope:
    """What the outbox stores and the bus carries: identity, order and a JSON payload."""

    event_id: str
    name: str
    version: int
    tenant_id: str
    occurred_at: str
    payload: dict[str, Any] = field(default_factory=dict)
    sequence: int = 0

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Envelope:
        data = json.loads(raw)
        return cls(**data)
