"""When to send: quiet hours in the contact's zone, the pace per tick, retry backoff and
appointment-reminder moments. Pure; every function takes ``now``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

RETRY_BASE = timedelta(minutes=5)
RETRY_MAX = timedelta(hours=6)


@dataclass(frozen=True)
class QuietHours:
    """No proactive message from ``start`` until ``end`` local time; the window may cross
    midnight (21:00-09:00). ``start == end`` means no quiet hours."""

    start: time
    end: time

    @classmethod
    def parse(cls, start: str, end: str) -> QuietHours:
        return cls(time.fromisoformat(start), time.fromisoformat(end))

    def contains(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def zone(name: str | None, fallback: str) -> ZoneInfo:
    """The contact's zone (``attributes.timezone``) when it is a valid IANA name, else the
    tenant's, else UTC."""
    for candidate in (name, fallback):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def next_allowed(now: datetime, tz: ZoneInfo, quiet: QuietHours) -> datetime:
    """``now`` when it is outside quiet hours in ``tz``, else the (UTC) moment they end."""
    local = now.astimezone(tz)
    if not quiet.contains(local.time().replace(tzinfo=None)):
        return now
    end = datetime.combine(local.date(), quiet.end, tzinfo=tz)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), quiet.end, tzinfo=tz)
    result: datetime = end.astimezone(UTC)
    return result


def send_budget(*, pace_per_minute: int, sent_last_minute: int, in_flight: int) -> int:
    """How many to hand to delivery this tick: at most ``pace_per_minute`` in any minute, and
    never more than a minute's worth still waiting in the outbox (``in_flight``)."""
    if pace_per_minute <= 0:
        return 0
    return max(0, min(pace_per_minute - sent_last_minute, pace_per_minute - in_flight))


def retry_at(now: datetime, attempts: int) -> datetime:
    """When to try again after ``attempts`` failed tries: 5 min, 10, 20 ... at most 6 h."""
    delay: timedelta = RETRY_BASE * int(2 ** max(0, attempts - 1))
    return now + min(delay, RETRY_MAX)


def reminder_due(
    *, start_at: datetime, booked_at: datetime, hours_before: int, now: datetime
) -> bool:
    """True while a reminder ``hours_before`` the appointment should go out: its moment has
    come, the appointment has not started, and it was booked before that moment (somebody who
    books for tomorrow morning at 11 pm needs no "24 h before" reminder)."""
    moment = start_at - timedelta(hours=hours_before)
    return booked_at < moment <= now < start_at
