"""Events emitted by the tenants domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from centralita.events.envelope import Event


@dataclass(frozen=True, kw_only=True)
class TenantCreated(Event):
    name: ClassVar[str] = "tenant.created"
    slug: str


@dataclass(frozen=True, kw_only=True)
class TenantUpdated(Event):
    name: ClassVar[str] = "tenant.updated"
    fields: list[str]


@dataclass(frozen=True, kw_only=True)
class TenantConfigApplied(Event):
    """A tenant YAML document was applied and changed something (``kind:key`` items)."""

    name: ClassVar[str] = "tenant.config_applied"
    slug: str
    created: list[str]
    updated: list[str]
    deleted: list[str]
