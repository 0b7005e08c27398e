"""Next week's staffing plan from a tenant's history: the thin shell around ``forecast``.

Reads the past weeks' interactions through ``analytics.service`` (the reporting read model),
then leaves the arithmetic to the pure ``forecast`` and ``erlang`` modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from centralita.analytics import kpis
from centralita.analytics import service as analytics_service
from centralita.core.clock import as_utc
from centralita.staffing.forecast import Forecast, IntervalStaffing, forecast_week, staff_forecast
from centralita.tenants import service as tenants_service

DEFAULT_AHT_SECONDS = 180.0  # when the history has no handled contact to measure


@dataclass(frozen=True)
class StaffingPlan:
    """The forecast week, the agents per interval and the figures they were computed with."""

    forecast: Forecast
    intervals: list[IntervalStaffing]
    history_start: datetime
    history_end: datetime
    aht_seconds: float
    aht_measured: bool  # False: no handled contact in the history, DEFAULT_AHT_SECONDS used
    target: float
    threshold_seconds: float
    shrinkage: float
    patience_seconds: float | None

    @property
    def peak(self) -> IntervalStaffing | None:
        busiest = max(self.intervals, key=lambda i: i.agents or 0, default=None)
        return busiest if busiest is not None and busiest.agents else None


def next_monday(now: datetime, tz: ZoneInfo) -> datetime:
    """Local midnight of the first Monday after today (a week from today on a Monday)."""
    today = as_utc(now).astimezone(tz).date()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime.combine(monday, time(0), tzinfo=tz)


async def plan_next_week(
    session: AsyncSession,
    *,
    tenant_id: str,
    now: datetime,
    weeks: int = 4,
    target: float | None = None,
    threshold_seconds: float | None = None,
    shrinkage: float = 0.0,
    patience_seconds: float | None = None,
    slot_minutes: int = 30,
) -> StaffingPlan:
    """Forecast next week (Monday to Sunday) from the contacts that reached a person (inbound,
    not spam, not contained by the receptionist) in the ``weeks`` weeks before today, by the
    time they were queued, and staff it; the target and threshold default to the tenant's
    service-level settings, the AHT to the history's. Raises ``ValueError`` for bad inputs.
    """
    if weeks < 1 or weeks > 52:
        raise ValueError(f"weeks must be between 1 and 52, got {weeks}")
    tenant = await tenants_service.get_tenant(session, tenant_id=tenant_id)
    tz = ZoneInfo(tenant.timezone)
    options = await analytics_service.options_for(session, tenant_id=tenant_id)
    local_today = as_utc(now).astimezone(tz).date()
    history_end = datetime.combine(local_today, time(0), tzinfo=tz)
    history_start = history_end - timedelta(weeks=weeks + 1)  # one more week: the holdout
    found = await analytics_service.records(
        session, tenant_id=tenant_id, start=history_start, end=history_end, now=now
    )
    # Agents answer what reaches a person: not spam, not what the receptionist contained.
    wanted = [r for r in found if r.direction == "inbound" and not r.spam and not r.contained]
    aht = kpis.compute(wanted, options)["aht"]
    forecast = forecast_week(
        [r.queued_at or r.arrived_at for r in wanted],
        start=next_monday(now, tz),
        history_end=history_end,
        weeks=weeks,
        slot_minutes=slot_minutes,
    )
    target = options.service_level_target if target is None else target
    threshold = (
        float(options.service_level_seconds) if threshold_seconds is None else threshold_seconds
    )
    aht_seconds = aht if aht else DEFAULT_AHT_SECONDS
    intervals = staff_forecast(
        forecast,
        aht_seconds=aht_seconds,
        target=target,
        threshold_seconds=threshold,
        shrinkage=shrinkage,
        patience_seconds=patience_seconds,
    )
    return StaffingPlan(
        forecast=forecast,
        intervals=intervals,
        history_start=history_start,
        history_end=history_end,
        aht_seconds=aht_seconds,
        aht_measured=bool(aht),
        target=target,
        threshold_seconds=threshold,
        shrinkage=shrinkage,
        patience_seconds=patience_seconds,
    )
