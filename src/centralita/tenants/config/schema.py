"""The tenant document (version 1): pydantic models, field rules and the JSON Schema.

Field-level rules live here; rules that compare fields with each other (references,
uniqueness, phone numbers in the tenant's country) live in ``checks``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    PlainSerializer,
    StringConstraints,
    field_serializer,
    field_validator,
    model_validator,
)

from centralita.core.email import normalise_email
from centralita.core.errors import InvalidInput
from centralita.tenants.hours import (
    HolidayCalendar,
    WeeklySchedule,
    format_clock,
    parse_clock,
    parse_shifts,
)

SCHEMA_VERSION = 1
# The same rule as ``tenants.service.check_slug`` (a test keeps them equal); repeated here so
# that the document models import nothing but pydantic.
SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"


def _text(max_length: int, *, pattern: str | None = None) -> Any:
    return StringConstraints(
        strict=True, strip_whitespace=True, min_length=1, max_length=max_length, pattern=pattern
    )


def _clock(value: str) -> str:
    return format_clock(parse_clock(value))


def _shift(pair: tuple[str, str]) -> tuple[str, str]:
    parse_shifts([pair])
    return pair


def _shifts(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(format_clock(s.start), format_clock(s.end)) for s in parse_shifts(pairs)]


def _day(value: Any) -> Any:
    if isinstance(value, datetime):
        raise ValueError("use a date (YYYY-MM-DD) without a time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"use YYYY-MM-DD, not {value!r}") from None
    raise ValueError("use a date (YYYY-MM-DD)")


def _email(value: str) -> str:
    try:
        return normalise_email(value)
    except InvalidInput as exc:
        raise ValueError(exc.problems[0].message if exc.problems else exc.detail) from None


def _amount(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("use a number such as 45 or 45.50")
    return value


def _amount_out(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


Key = Annotated[str, _text(63, pattern=r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$")]
Text = Annotated[str, _text(200)]
LongText = Annotated[str, _text(4000)]
Locale = Literal["es", "en"]
CountryCode = Annotated[str, _text(2, pattern=r"^[A-Z]{2}$")]
Subdivision = Annotated[str, _text(40)]
Email = Annotated[str, _text(254), AfterValidator(_email)]
Clock = Annotated[str, _text(5, pattern=r"^\d{1,2}:\d{2}$"), AfterValidator(_clock)]
ShiftPair = Annotated[tuple[Clock, Clock], AfterValidator(_shift)]
Shifts = Annotated[list[ShiftPair], AfterValidator(_shifts)]
Day = Annotated[date, BeforeValidator(_day)]
Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=10, decimal_places=2),
    BeforeValidator(_amount),
    PlainSerializer(_amount_out),
]
Seconds = Annotated[int, Field(strict=True, ge=1, le=86_400)]
Proficiency = Annotated[int, Field(strict=True, ge=1, le=5)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Localized(_Model):
    """A text in Spanish and/or English."""

    es: LongText | None = None
    en: LongText | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> Localized:
        if not self.es and not self.en:
            raise ValueError("give the text in at least one language (es, en)")
        return self

    def languages(self) -> set[str]:
        return {lang for lang in ("es", "en") if getattr(self, lang)}

    def text(self, locale: str) -> str:
        """The text in ``locale``, or in the other language when it is missing."""
        return str(getattr(self, locale, None) or self.es or self.en)


class TenantInfo(_Model):
    slug: Annotated[str, _text(63, pattern=SLUG_PATTERN)]
    name: Text
    timezone: Annotated[str, _text(64)]
    locale: Locale = "es"
    country: CountryCode | None = None
    region: Subdivision | None = Field(
        default=None, description="Subdivision code as in the holidays package, e.g. MD or ENG."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Europe/Madrid"
            ) from None
        return value


class Profile(_Model):
    greeting: Localized | None = None
    description: Localized | None = None
    address: Annotated[str, _text(300)] | None = None
    phone: Text | None = None
    email: Email | None = None
    website: Annotated[str, _text(300, pattern=r"^https?://\S+$")] | None = None
    currency: Annotated[str, _text(3, pattern=r"^[A-Z]{3}$")] | None = None


class MessagePolicy(_Model):
    """How messages taken for staff are delivered and chased."""

    default_recipient: Key | None = Field(
        default=None, description="Staff key that gets messages when the caller names nobody."
    )
    backup: Key | None = Field(
        default=None, description="Staff key that gets a message nobody acknowledged in time."
    )
    ack_minutes: Annotated[int, Field(strict=True, ge=1, le=7 * 24 * 60)] = Field(
        default=30, description="Minutes to acknowledge before escalating to the backup."
    )
    email: bool = Field(default=True, strict=True, description="Send each message by email.")
    webhook_url: Annotated[str, _text(500, pattern=r"^https?://\S+$")] | None = Field(
        default=None, description="A Slack- or Teams-compatible incoming webhook URL."
    )


class EmergencyRule(_Model):
    """What to do with an emergency while the business is closed."""

    on_call_phone: Text | None = Field(
        default=None, description="Number given to the caller and used for transfers (E.164)."
    )
    notify: list[Key] = Field(
        default=[], description="Staff keys sent an urgent message at once, whatever the hour."
    )


class SpamPolicy(_Model):
    allow: list[Annotated[str, _text(254)]] = Field(
        default=[], description="Phone numbers or emails never treated as spam."
    )
    block: list[Annotated[str, _text(254)]] = Field(
        default=[], description="Phone numbers or emails always treated as spam."
    )


class BookingPolicy(_Model):
    default_service: Key | None = Field(
        default=None, description="Service booked when the caller names none."
    )
    slot_minutes: Annotated[int, Field(strict=True, ge=5, le=24 * 60)] = Field(
        default=30, description="Length of a booking with no service duration; also callbacks."
    )
    step_minutes: Annotated[int, Field(strict=True, ge=5, le=240)] = 15
    notice_minutes: Annotated[int, Field(strict=True, ge=0, le=7 * 24 * 60)] = 60
    horizon_days: Annotated[int, Field(strict=True, ge=1, le=365)] = 21


class Receptionist(_Model):
    mode: Literal["ai_first", "staff_first", "after_hours_only"] = "ai_first"
    reopen_window_hours: Annotated[int, Field(strict=True, ge=0, le=24 * 90)] = 72
    record_calls: bool = Field(default=False, strict=True)
    languages: list[Locale] | None = Field(
        default=None, min_length=1, description="Languages spoken; default: the tenant locale."
    )
    default_queue: Key | None = Field(default=None, description="Where hand-offs go.")
    allow_booking: bool = Field(default=True, strict=True)
    take_messages: bool = Field(default=True, strict=True)
    after_hours_message: Localized | None = None
    emergency_message: Localized | None = None
    messages: MessagePolicy = MessagePolicy()
    emergency: EmergencyRule = EmergencyRule()
    spam: SpamPolicy = SpamPolicy()
    booking: BookingPolicy = BookingPolicy()

    @field_validator("languages")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("list each language once")
        return value


class WeeklyHours(_Model):
    """Shifts per weekday as ``[["09:00", "14:00"], ["16:00", "20:00"]]``; absent = closed."""

    monday: Shifts = []
    tuesday: Shifts = []
    wednesday: Shifts = []
    thursday: Shifts = []
    friday: Shifts = []
    saturday: Shifts = []
    sunday: Shifts = []

    def schedule(self) -> WeeklySchedule:
        return WeeklySchedule.from_config(self.model_dump())


class CustomHoliday(_Model):
    date: Day
    name: Text


class Closure(_Model):
    start: Day = Field(alias="from")
    end: Day = Field(alias="to")
    name: Text

    @model_validator(mode="after")
    def _ordered(self) -> Closure:
        if self.end < self.start:
            raise ValueError("'to' must not be before 'from'")
        return self


class SpecialDay(_Model):
    date: Day
    name: Text | None = None
    hours: Shifts = Field(default=[], description="Opening hours that day; empty = closed.")


class Holidays(_Model):
    country: CountryCode | None = Field(default=None, description="Default: tenant.country.")
    subdivision: Subdivision | None = Field(default=None, description="Default: tenant.region.")
    custom: list[CustomHoliday] = []
    closures: list[Closure] = []
    special: list[SpecialDay] = []


AgentChannel = Literal["voice", "sms", "whatsapp", "email", "webchat"]
# What an agent takes at once when the staff member's file gives no ``capacity``; applied by
# the routing reader (the row stores NULL so that an absent capacity stays absent on export).
DEFAULT_CAPACITY: dict[str, int] = {"voice": 1, "sms": 3, "whatsapp": 3, "email": 5, "webchat": 3}


class StaffConfig(_Model):
    key: Key
    name: Text
    aliases: list[Text] = Field(default=[], description="Other ways callers say the name.")
    role: Text | None = Field(default=None, description="Job title, e.g. Odontóloga.")
    email: Email | None = None
    phone: Text | None = Field(default=None, description="For transfers; stored as E.164.")
    sip: Annotated[str, _text(254, pattern=r"^sips?:\S+$")] | None = None
    skills: dict[Key, Proficiency] = Field(default={}, description="Skill -> proficiency 1-5.")
    hours: WeeklyHours | None = None
    user_role: Literal["admin", "supervisor", "agent"] | None = Field(
        default=None, description="Gives the person a login with this role; needs email."
    )
    capacity: dict[AgentChannel, Annotated[int, Field(strict=True, ge=0, le=50)]] | None = Field(
        default=None,
        description=(
            "Conversations at once per channel (0-50); a channel left out takes none. "
            "Absent: voice 1, sms 3, whatsapp 3, email 5, webchat 3."
        ),
    )

    @field_serializer("skills")
    def _skills_sorted(self, value: dict[str, int]) -> dict[str, int]:
        return _sorted(value)  # type: ignore[no-any-return]

    # Sorted when read, not by a serializer: a field serializer defeats exclude_defaults, and an
    # absent capacity must stay absent on export.
    @field_validator("capacity")
    @classmethod
    def _capacity_sorted(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        return None if value is None else dict(sorted(value.items()))


class ServiceConfig(_Model):
    key: Key
    name: Localized
    description: Localized | None = None
    duration_minutes: Annotated[int, Field(strict=True, ge=1, le=24 * 60)] | None = None
    price: Amount | None = None
    price_from: bool = Field(default=False, strict=True, description="The price is a minimum.")
    bookable: bool = Field(default=True, strict=True)
    staff: list[Key] = Field(default=[], description="Keys of the staff who provide it.")


class FaqConfig(_Model):
    key: Key
    question: Localized
    answer: Localized
    tags: list[Key] = []


class OverflowStep(_Model):
    after_seconds: Seconds
    action: Literal["queue", "voicemail", "callback", "message", "widen"]
    queue: Key | None = Field(default=None, description="With action queue: where to move.")
    skills: list[Key] | None = Field(
        default=None,
        description="With action widen: the wider required skills; [] means any agent.",
    )

    @model_validator(mode="after")
    def _target(self) -> OverflowStep:
        if (self.action == "queue") != (self.queue is not None):
            raise ValueError("name a queue exactly when the action is 'queue'")
        if (self.action == "widen") != (self.skills is not None):
            raise ValueError("give skills exactly when the action is 'widen' ([] means any agent)")
        return self


ChannelKindName = Literal["voice", "sms", "whatsapp", "email", "webchat", "multi"]
# The ACD's distribution strategies (routing.model.Strategy; a test keeps them equal).
RoutingStrategy = Literal[
    "longest_idle", "least_occupied", "round_robin", "skills_weighted", "ring_all"
]


class QueueConfig(_Model):
    key: Key
    name: Text
    skills: list[Key] = Field(default=[], description="Skills an agent needs to be offered.")
    priority: Annotated[int, Field(strict=True, ge=0, le=100)] = 0
    sla_seconds: Seconds = 30
    sla_target: Annotated[float, Field(strict=True, ge=0, le=1)] = 0.8
    channels: list[ChannelKindName] = Field(default=[], description="Empty means every kind.")
    hours: WeeklyHours | None = None
    callback: bool = Field(default=False, strict=True)
    strategy: RoutingStrategy = Field(
        default="longest_idle", description="How the ACD picks among the eligible agents."
    )
    offer_timeout_seconds: Annotated[int, Field(strict=True, ge=5, le=600)] = Field(
        default=30, description="Seconds an agent has to accept an offer."
    )
    wrapup_seconds: Annotated[int, Field(strict=True, ge=0, le=3600)] = Field(
        default=0, description="The agent's wrap-up after each conversation from this queue."
    )
    aging_per_minute: Annotated[float, Field(strict=True, ge=0, le=100)] = Field(
        default=0.0, description="Priority points a conversation gains per minute of waiting."
    )
    min_proficiency: Proficiency = Field(
        default=1, description="The level (1-5) an agent needs in each of the queue's skills."
    )
    max_missed_offers: Annotated[int, Field(strict=True, ge=0, le=20)] = Field(
        default=3, description="Missed offers in a row before the agent is set away; 0 never."
    )
    overflow: list[OverflowStep] = Field(
        default=[], description="Steps taken in order while a conversation waits."
    )


Bonus = Annotated[int, Field(strict=True, ge=-1000, le=1000)]


class UrgencyBonus(_Model):
    """Priority points added to a conversation for its urgency."""

    low: Bonus = -10
    normal: Bonus = 0
    high: Bonus = 50
    urgent: Bonus = 100


class RoutingConfig(_Model):
    """The ACD's tenant-wide settings (queues carry their own strategy, timers and overflow)."""

    predictive: bool = Field(
        default=False,
        strict=True,
        description="Offer the eligible agent with the best history for the intent.",
    )
    predictive_share: Annotated[float, Field(strict=True, ge=0, le=1)] = Field(
        default=1.0, description="A/B test: the share of conversations routed predictively."
    )
    predictive_min_samples: Annotated[int, Field(strict=True, ge=1, le=10_000)] = Field(
        default=20, description="Outcomes an agent needs for an intent before being ranked."
    )
    vip_bonus: Annotated[int, Field(strict=True, ge=0, le=1000)] = Field(
        default=30, description="Priority points added for a VIP contact."
    )
    urgency_bonus: UrgencyBonus = UrgencyBonus()


class KpiConfig(_Model):
    """How this business's KPIs are computed (``analytics.kpis`` declares each variant)."""

    service_level_seconds: Annotated[int, Field(strict=True, ge=1, le=3600)] = Field(
        default=20, description="Service level: answered within this many seconds (the Y)."
    )
    service_level_target: Annotated[float, Field(strict=True, gt=0, le=1)] = Field(
        default=0.8, description="Service level: the share to answer in time (the X)."
    )
    service_level_method: Literal[
        "abandoned_count_against", "abandoned_excluded", "short_abandons_excluded"
    ] = Field(
        default="short_abandons_excluded",
        description="How abandoned contacts enter the service level (docs/kpis.md).",
    )
    short_abandon_seconds: Annotated[int, Field(strict=True, ge=0, le=600)] = Field(
        default=5, description="A caller who hangs up sooner is a short abandon."
    )
    fcr_days: Annotated[int, Field(strict=True, ge=1, le=90)] = Field(
        default=7, description="First contact resolution: no repeat for the same reason within."
    )


SurveyKind = Literal["csat", "nps", "ces"]


def _all_survey_channels() -> list[ChannelKindName]:
    return ["sms", "whatsapp", "email", "webchat", "voice"]


class SurveyConfig(_Model):
    """The satisfaction survey sent when an interaction closes."""

    enabled: bool = Field(default=False, strict=True)
    kind: SurveyKind = "csat"
    after: Literal["agent", "any"] = Field(
        default="agent",
        description="Survey only interactions a person handled, or also those the receptionist "
        "resolved alone.",
    )
    channels: list[ChannelKindName] = Field(
        default_factory=_all_survey_channels,
        description="Channels surveyed; a call's survey goes by SMS to the caller.",
    )
    expire_hours: Annotated[int, Field(strict=True, ge=1, le=720)] = 48
    whatsapp_template: Annotated[str, _text(512)] | None = Field(
        default=None,
        description="Approved template for a survey outside WhatsApp's 24-hour window.",
    )


class OutreachConfig(_Model):
    """Proactive messages: quiet hours, opt-out words and appointment reminders."""

    quiet_start: Annotated[str, _text(5, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = Field(
        default="21:00", description="No proactive message from this time (contact's zone)."
    )
    quiet_end: Annotated[str, _text(5, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = Field(
        default="09:00", description="...until this time, in the contact's time zone."
    )
    opt_out_keywords: list[Annotated[str, _text(40)]] = Field(
        default_factory=list, description="Words that opt a contact out, besides the built-in."
    )
    reminders: bool = Field(default=False, strict=True)
    reminder_hours: list[Annotated[int, Field(strict=True, ge=1, le=336)]] = Field(
        default_factory=lambda: [24], description="Hours before an appointment to remind."
    )


class PrivacyConfig(_Model):
    """Data protection: retention, the erasure blocking period, the call-recording notice."""

    transcripts_days: Annotated[int, Field(strict=True, ge=1, le=3650)] | None = Field(
        default=None, description="Scrub call transcripts older than this; empty: keep."
    )
    recordings_days: Annotated[int, Field(strict=True, ge=1, le=3650)] | None = Field(
        default=None, description="Forget call recordings older than this; empty: keep."
    )
    erasure_block_days: Annotated[int, Field(strict=True, ge=0, le=2190)] = Field(
        default=90,
        description="An erased contact's sealed copy is kept this long for legal claims "
        "(LOPDGDD art. 32), then destroyed.",
    )
    recording_notice: Localized | None = Field(
        default=None, description="Said first on every call when calls are recorded."
    )


class AccessConfig(_Model):
    """Who on the staff sees what."""

    agents_see: Literal["all", "own_and_queues"] = Field(
        default="all",
        description="own_and_queues: agents see only conversations assigned to them or waiting "
        "in their queues (supervisors and admins still see all).",
    )


class ChannelConfig(_Model):
    name: Key
    kind: ChannelKindName
    provider: Literal["twilio", "meta", "smtp", "imap", "webchat", "simulator"]
    address: Annotated[str, _text(254)]
    secret: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=255)] | None = (
        None
    )
    secret_env: Annotated[str, _text(100, pattern=r"^[A-Z_][A-Z0-9_]*$")] | None = Field(
        default=None, description="Environment variable holding the secret at apply time."
    )
    enabled: bool = Field(default=True, strict=True)
    settings: dict[str, JsonValue] = {}

    @model_validator(mode="after")
    def _one_secret(self) -> ChannelConfig:
        if self.secret is not None and self.secret_env is not None:
            raise ValueError("give either secret or secret_env, not both")
        return self

    @field_serializer("settings")
    def _settings_sorted(self, value: dict[str, Any]) -> dict[str, Any]:
        return _sorted(value)  # type: ignore[no-any-return]


class TenantDocument(_Model):
    """One tenant, described completely. Omitted lists are empty; apply deletes what is absent."""

    model_config = ConfigDict(title="Centralita tenant", extra="forbid", populate_by_name=True)

    version: Literal[1]
    tenant: TenantInfo
    profile: Profile = Profile()
    receptionist: Receptionist = Receptionist()
    hours: WeeklyHours = WeeklyHours()
    holidays: Holidays = Holidays()
    staff: list[StaffConfig] = []
    services: list[ServiceConfig] = []
    faq: list[FaqConfig] = []
    queues: list[QueueConfig] = []
    routing: RoutingConfig = RoutingConfig()
    kpis: KpiConfig = KpiConfig()
    surveys: SurveyConfig = SurveyConfig()
    outreach: OutreachConfig = OutreachConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    access: AccessConfig = AccessConfig()
    channels: list[ChannelConfig] = []

    @property
    def languages(self) -> list[str]:
        return list(self.receptionist.languages or [self.tenant.locale])

    def opening_schedule(self) -> WeeklySchedule:
        return self.hours.schedule()

    def holiday_calendar(self) -> HolidayCalendar:
        return HolidayCalendar.from_config(
            self.holidays.model_dump(mode="json", by_alias=True),
            country=self.tenant.country,
            subdivision=self.tenant.region,
            language=self.tenant.locale,
        )

    def to_data(self, *, include_secrets: bool = True) -> dict[str, Any]:
        """The canonical plain form: JSON types, stable key order, defaults left out."""
        data = self.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        if not include_secrets:
            for channel in data.get("channels", []):
                channel.pop("secret", None)
        return data


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of the tenant document."""
    schema = TenantDocument.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
