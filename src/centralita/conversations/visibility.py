"""Which conversations an agent may see when the tenant says ``agents_see: own_and_queues``.

Pure. Supervisors and admins always see everything, and so does everyone under the default
``all``. A restricted agent sees a conversation owned by them (their staff member id or user
id: routing writes the first, a reply through the API the second) or waiting in a queue they
belong to; a queue's members are the staff whose skills reach its first stage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

AGENTS_SEE = ("all", "own_and_queues")


@dataclass(frozen=True)
class AgentScope:
    owner_ids: frozenset[str]  # the agent's staff member id and user id
    queue_ids: frozenset[str]  # the queues the agent belongs to

    def sees(self, owner_type: str, owner_id: str | None) -> bool:
        if owner_id is None:
            return False
        if owner_type == "agent":
            return owner_id in self.owner_ids
        if owner_type == "queue":
            return owner_id in self.queue_ids
        return False


def restricted(*, role: str, agents_see: object) -> bool:
    """Only agents, and only when the tenant asked for it."""
    return role == "agent" and agents_see == "own_and_queues"


def member_of(skills: Mapping[str, object], queue_skills: Sequence[str], minimum: int) -> bool:
    """Whether a staff member with ``skills`` (skill -> proficiency) serves the queue."""
    for skill in queue_skills:
        level = skills.get(skill, 0)
        if not isinstance(level, int | float) or level < minimum:
            return False
    return True
