"""One place to ask for the current time, always timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Normalise naive (assumed UTC) or aware datetimes to aware UTC."""
    tz = value.tzinfo
    if tz is UTC:  # what the database drivers give back: every stored time passes here
        return value
    if tz is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
