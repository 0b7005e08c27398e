"""Events emitted by the access domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from centralita.events.envelope import Event


@dataclass(frozen=True, kw_only=True)
class UserCreated(Event):
    name: ClassVar[str] = "user.created"
    user_id: str
    role: str


@dataclass(frozen=True, kw_only=True)
class UserUpdated(Event):
    name: ClassVar[str] = "user.updated"
    user_id: str
    fields: list[str]


@dataclass(frozen=True, kw_only=True)
class ApiKeyCreated(Event):
    name: ClassVar[str] = "api_key.created"
    api_key_id: str


@dataclass(frozen=True, kw_only=True)
class ApiKeyRevoked(Event):
    name: ClassVar[str] = "api_key.revoked"
    api_key_id: str
