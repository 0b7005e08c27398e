"""Who is calling: a user (web session) or an API key, always inside one tenant."""

from __future__ import annotations

from dataclasses import dataclass

from centralita.access.models import Role

_RANK = {Role.AGENT: 0, Role.SUPERVISOR: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    role: Role
    user_id: str | None = None
    api_key_id: str | None = None
    session_id: str | None = None

    @property
    def actor(self) -> str:
        if self.user_id:
            return f"user:{self.user_id}"
        return f"api_key:{self.api_key_id}"

    def at_least(self, role: Role) -> bool:
        return _RANK[self.role] >= _RANK[role]
