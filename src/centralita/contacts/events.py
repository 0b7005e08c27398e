"""Events emitted by the contacts domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from centralita.events.envelope import Event


@dataclass(frozen=True, kw_only=True)
class ContactCreated(Event):
    name: ClassVar[str] = "contact.created"
    contact_id: str
    source: str


@dataclass(frozen=True, kw_only=True)
class ContactUpdated(Event):
    name: ClassVar[str] = "contact.updated"
    contact_id: str
    fields: list[str]


@dataclass(frozen=True, kw_only=True)
class ContactAddressAdded(Event):
    name: ClassVar[str] = "contact.address_added"
    contact_id: str
    kind: str
    value: str


@dataclass(frozen=True, kw_only=True)
class ContactsMerged(Event):
    name: ClassVar[str] = "contact.merged"
    merge_id: str
    winner_id: str
    loser_id: str


@dataclass(frozen=True, kw_only=True)
class ContactMergeUndone(Event):
    name: ClassVar[str] = "contact.merge_undone"
    merge_id: str
    winner_id: str
    loser_id: str


@dataclass(frozen=True, kw_only=True)
class ContactAddressRemoved(Event):
    name: ClassVar[str] = "contact.address_removed"
    contact_id: str
    kind: str
    value: str


@dataclass(frozen=True, kw_only=True)
class ContactDeleted(Event):
    name: ClassVar[str] = "contact.deleted"
    contact_id: str
