"""The dialogue state kept per conversation, as plain data that round-trips through JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from centralita.receptionist.nlu.result import Urgency

Flow = Literal[
    "", "booking", "reschedule", "cancel", "confirm", "message", "handoff", "spam", "done"
]
# What the last reply asked for, so the next turn is read as its answer.
Pending = Literal[
    "",
    "name",
    "phone",
    "confirm_phone",
    "reason",
    "choose_slot",
    "confirm_cancel",
    "offer_message",
    "offer_human",
    "offer_rebook",
    "anything_else",
]

URGENCY_ORDER: dict[str, int] = {"low": 0, "normal": 1, "high": 2, "emergency": 3}


def higher_urgency(a: Urgency, b: Urgency) -> Urgency:
    return a if URGENCY_ORDER[a] >= URGENCY_ORDER[b] else b


@dataclass(frozen=True)
class Intake:
    """What the receptionist has learnt about the caller and the request."""

    name: str | None = None
    phone: str | None = None  # E.164
    phone_confirmed: bool = False
    email: str | None = None
    reason: str | None = None
    intent: str | None = None
    urgency: Urgency = "normal"
    preferred_time: str | None = None  # ISO 8601, tenant zone
    preferred_end: str | None = None
    part_of_day: str | None = None
    staff_key: str | None = None
    service_key: str | None = None
    name_refused: bool = False
    phone_refused: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Intake:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class OfferedSlot:
    start: str  # ISO 8601 with offset
    end: str
    staff_key: str | None = None
    service_key: str | None = None  # what the slot was found for: booked as that service


@dataclass(frozen=True)
class DialogueState:
    turns: int = 0
    language: str | None = None
    flow: Flow = ""
    pending: Pending = ""
    intake: Intake = field(default_factory=Intake)
    offered: tuple[OfferedSlot, ...] = ()
    chosen: OfferedSlot | None = None  # picked by the caller, waiting for name or phone
    appointment_id: str | None = None  # the appointment being changed, cancelled or confirmed
    booked_appointment_id: str | None = None
    message_taken: bool = False
    handed_off: bool = False
    emergency_notified: bool = False
    negative_streak: int = 0
    human_offered: bool = False
    misunderstood: int = 0  # consecutive turns we could not act on
    asked: tuple[tuple[str, int], ...] = ()  # how often each question was asked

    def times_asked(self, what: str) -> int:
        return dict(self.asked).get(what, 0)

    def ask(self, what: Pending) -> DialogueState:
        counts = dict(self.asked)
        counts[what] = counts.get(what, 0) + 1
        return replace(self, pending=what, asked=tuple(sorted(counts.items())))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["intake"] = self.intake.to_dict()
        data["offered"] = [asdict(slot) for slot in self.offered]
        data["chosen"] = asdict(self.chosen) if self.chosen else None
        data["asked"] = [list(pair) for pair in self.asked]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> DialogueState:
        if not data:
            return cls()
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["intake"] = Intake.from_dict(data.get("intake") or {})
        values["offered"] = tuple(OfferedSlot(**slot) for slot in data.get("offered") or ())
        values["chosen"] = OfferedSlot(**data["chosen"]) if data.get("chosen") else None
        values["asked"] = tuple((str(k), int(v)) for k, v in data.get("asked") or ())
        return cls(**values)
