"""API schemas for contacts, merges and their audit trail."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator
from pydantic.json_schema import SkipJsonSchema

AddressKindName = Literal["phone", "email", "whatsapp", "web"]
Tag = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[^;\x00-\x1f\x7f]+$")]
Language = Annotated[
    str, Field(max_length=8, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$", examples=["es"])
]
# Strict: "12" stays text and 1 stays a number, exactly as sent.
AttributeValue = (
    StrictBool
    | StrictInt
    | Annotated[float, Field(strict=True, allow_inf_nan=False)]
    | Annotated[str, Field(strict=True, max_length=1000)]
    | None
)
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
Id = Annotated[str, Field(min_length=1, max_length=64)]


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: AddressKindName
    value: str = Field(
        min_length=1,
        max_length=254,
        description="Phone in any common form (the tenant's country is the default region), "
        "email, WhatsApp id (digits) or web visitor id.",
    )
    label: str | None = Field(default=None, max_length=40)


class AddressRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    value: str
    label: str | None


class ContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    language: Language | None = None
    addresses: list[AddressIn] = Field(default_factory=list, max_length=20)
    attributes: dict[str, AttributeValue] = Field(default_factory=dict, max_length=50)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    value: Money = Field(default=Decimal("0"), description="Customer lifetime value.")
    consent: dict[str, StrictBool] = Field(
        default_factory=dict, max_length=20, description="Per-channel or purpose opt-ins."
    )
    vip: StrictBool = False


class ContactUpdate(BaseModel):
    """Only the fields sent change. ``attributes`` and ``consent`` are merge-patched: a key
    set to null is removed, keys not sent stay. Other fields are replaced; only ``name`` and
    ``language`` may be null (cleared)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    language: Language | None = None
    # None means "not sent"; the schema does not offer null and the validator refuses it.
    attributes: (
        Annotated[dict[str, AttributeValue], Field(max_length=50)] | SkipJsonSchema[None]
    ) = None
    tags: Annotated[list[Tag], Field(max_length=50)] | SkipJsonSchema[None] = None
    value: Money | SkipJsonSchema[None] = None
    consent: (
        Annotated[dict[str, StrictBool | None], Field(max_length=20)] | SkipJsonSchema[None]
    ) = None
    vip: StrictBool | SkipJsonSchema[None] = None

    @field_validator("attributes", "tags", "value", "consent", "vip")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


class ContactRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str | None
    language: str | None
    addresses: list[AddressRead]
    attributes: dict[str, Any]
    tags: list[str]
    value: Decimal
    consent: dict[str, Any]
    vip: bool
    merged_into_id: str | None = Field(
        description="Set when this contact was merged into another: follow it there."
    )
    last_contact_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ContactLookup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: AddressKindName
    value: str = Field(min_length=1, max_length=254)
    name: str | None = Field(default=None, max_length=200, description="Used when created.")


class ContactLookupRead(BaseModel):
    created: bool
    contact: ContactRead


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    other_id: Id = Field(description="The contact merged into this one (the loser).")


class MergePreviewRead(BaseModel):
    winner_id: str
    loser_id: str
    contact: ContactRead = Field(description="The winner as it would be after the merge.")
    moves: dict[str, int] = Field(
        description="What would move from the loser: addresses, conversations, interactions "
        "and messages."
    )


class ContactMergeRead(BaseModel):
    id: str
    winner_id: str
    loser_id: str
    performed_by: str
    performed_at: datetime
    undone_at: datetime | None
    moved: dict[str, int]


class ContactAuditEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    data: dict[str, Any]
