"""The supervisor's KPI pages (``/supervisor/kpis`` and its drill-down) and the staffing page
(``/supervisor/staffing``): server-rendered, with the charts drawn as SVG by ``charts``.

Supervisors and admins only; agents get the wallboard's 403 page. Periods are whole local days
(the tenant's zone), ``end`` included, as in the KPI API whose CSV export the page links to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.access import service as access_service
from centralita.access.models import Role
from centralita.access.principal import Principal
from centralita.analytics import charts, kpis, live
from centralita.analytics import service as analytics_service
from centralita.analytics.charts import Datum
from centralita.analytics.kpis import DIMENSIONS, Record
from centralita.api.deps import SESSION_COOKIE, ContainerDep
from centralita.bootstrap import Container
from centralita.core.errors import DomainError
from centralita.staffing import service as staffing_service
from centralita.staffing.calculator import plan
from centralita.tenants import service as tenants_service
from centralita.tenants.models import Queue, StaffMember
from centralita.web.deps import Signer, WebPrincipal
from centralita.web.i18n import strings
from centralita.web.rendering import page_language, redirect, render

router = APIRouter(include_in_schema=False)

MAX_DAYS = 366
DRILL_LIMIT = 500
HEADLINE = (
    "contacts", "handled", "aht", "asa", "abandonment_rate", "service_level", "occupancy",
    "fcr", "csat", "nps", "ces", "clv", "ai_containment", "messages_taken", "ack_seconds",
    "spam_filtered", "appointments_booked",
)  # fmt: skip
TABLE = (
    "contacts", "handled", "aht", "asa", "abandonment_rate", "service_level", "fcr", "csat",
    "nps", "ces", "ai_containment", "spam_filtered", "appointments_booked",
)  # fmt: skip
RATIOS = frozenset(
    {"abandonment_rate", "service_level", "occupancy", "fcr", "csat", "ai_containment"}
)
SECONDS = frozenset({"aht", "asa", "ack_seconds"})
EMPTY = "—"


# ---- formatting ---------------------------------------------------------------------------------


def number(value: float, lang: str, digits: int = 0) -> str:
    text = f"{value:,.{digits}f}"
    if lang == "es":  # 1.234,5
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def percent(value: float | None, lang: str, digits: int = 1) -> str:
    return EMPTY if value is None else number(value * 100, lang, digits) + " %"


def duration(seconds: float | None, lang: str) -> str:
    if seconds is None:
        return EMPTY
    if seconds < 60:
        return f"{number(seconds, lang)} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def format_kpi(key: str, value: float | None, lang: str) -> str:
    """A KPI value as the pages show it; ``None`` (no data) is a dash, never 0."""
    if value is None:
        return EMPTY
    if key in RATIOS:
        return percent(value, lang)
    if key in SECONDS:
        return duration(value, lang)
    if key == "nps":
        return ("+" if value > 0 else "") + number(value, lang)
    if key in ("ces", "clv"):
        return number(value, lang, 2 if key == "clv" else 1)
    return number(value, lang)


# ---- access -------------------------------------------------------------------------------------


def _signed_out(request: Request, container: Container) -> Response:
    response = redirect(request, "/login")
    if request.cookies.get(SESSION_COOKIE):
        response.delete_cookie(
            SESSION_COOKIE, path="/", secure=container.settings.cookie_secure, httponly=True,
            samesite="lax",
        )  # fmt: skip
    return response


@dataclass(frozen=True)
class _Page:
    context: dict[str, Any]
    lang: str
    tz: ZoneInfo


async def _open(
    request: Request, principal: Principal | None, container: Container
) -> _Page | Response:
    """The page's user, tenant and language; or the sign-in redirect, or the 403 page."""
    if principal is None or principal.user_id is None:
        return _signed_out(request, container)
    async with container.sessions() as session:
        user = await access_service.get_user(
            session, tenant_id=principal.tenant_id, user_id=principal.user_id
        )
        tenant = await tenants_service.get_tenant(session, tenant_id=principal.tenant_id)
    lang = page_language(request, tenant_locale=tenant.locale)
    context: dict[str, Any] = {"user": user, "tenant": tenant}
    if not principal.at_least(Role.SUPERVISOR):
        return render(request, "kpis_forbidden.html", context, lang=lang, status_code=403)
    return _Page(context, lang, ZoneInfo(tenant.timezone))


# ---- periods and links --------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole local days, ``end`` included; ``error`` is the label of what was wrong."""

    start: date
    end: date
    error: str | None = None

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        first = datetime.combine(self.start, time(0), tzinfo=tz)
        return first, datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=tz)

    def query(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def period_from(params: Mapping[str, str], today: date) -> Period:
    """The page's period: today by default; a reversed or too long range says so."""
    try:
        start = date.fromisoformat(params.get("start") or today.isoformat())
        end = date.fromisoformat(params.get("end") or start.isoformat())
    except ValueError:
        return Period(today, today, "kp_err_date")
    if end < start:
        return Period(start, end, "kp_err_reversed")
    if (end - start).days >= MAX_DAYS:
        return Period(start, end, "kp_err_range")
    return Period(start, end)


def drill_href(period: Period, filters: Mapping[str, str]) -> str:
    return "/supervisor/kpis/drill?" + urlencode({**period.query(), **filters})


def csv_href(period: Period, filters: Mapping[str, str]) -> str:
    return "/api/v1/kpis/interactions.csv?" + urlencode({**period.query(), **filters})


def _group_label(dimension: str, row: analytics_service.ReportRow, t: Mapping[str, str]) -> str:
    if row.key == kpis.NONE_KEY:
        return t["kp_none"]
    if dimension == "channel":
        return t.get(f"ch_{row.key}", row.key)
    return row.label


# ---- the KPI page -------------------------------------------------------------------------------


def _charts(
    report: analytics_service.Report, labels: list[str], hrefs: list[str], lang: str,
    t: Mapping[str, str],
) -> list[tuple[str, str]]:  # fmt: skip
    """(heading, svg) pairs: contacts, service level against its target, AHT and CSAT."""
    rows = report.rows

    def data(key: str) -> list[Datum]:
        return [
            Datum(label, row.kpis.get(key), href)
            for label, row, href in zip(labels, rows, hrefs, strict=True)
        ]

    over_time = report.group_by in ("hour", "day")
    draw = charts.line_chart if over_time else charts.bar_chart
    target = report.options.service_level_target
    return [
        (t["kp_chart_contacts"], draw(data("contacts"), title=t["kp_chart_contacts"],
                                      chart_id="chart-contacts",
                                      fmt=lambda v: number(v, lang))),
        (t["kp_chart_sl"], draw(data("service_level"), title=t["kp_chart_sl"],
                                chart_id="chart-sl", fmt=lambda v: percent(v, lang, 0),
                                target=target, target_label=t["kp_target"], top=1.0)),
        (t["kp_chart_aht"], draw(data("aht"), title=t["kp_chart_aht"], chart_id="chart-aht",
                                 fmt=lambda v: duration(v, lang))),
        (t["kp_chart_csat"], draw(data("csat"), title=t["kp_chart_csat"],
                                  chart_id="chart-csat", fmt=lambda v: percent(v, lang, 0),
                                  top=1.0)),
    ]  # fmt: skip


@router.get("/supervisor/kpis")
async def kpis_page(
    request: Request, principal: WebPrincipal, container: ContainerDep, _: Signer
) -> Response:
    """KPIs over a period, in total and per group, with charts and drill-down links."""
    page = await _open(request, principal, container)
    if isinstance(page, Response):
        return page
    t, lang = strings(page.lang), page.lang
    params = request.query_params
    period = period_from(params, container.clock().astimezone(page.tz).date())
    group_by = params.get("group_by") or "queue"
    notice = None
    if group_by not in DIMENSIONS:
        group_by, notice = "queue", "kp_err_group"
    context = {
        **page.context, "period": period, "group_by": group_by, "dimensions": DIMENSIONS,
        "notice": notice, "report": None, "definitions": HEADLINE, "kpi_keys": TABLE,
    }  # fmt: skip
    if period.error is None:
        start, end = period.bounds(page.tz)
        today = container.clock().astimezone(page.tz).date()
        if period.start == period.end == today:  # the live view: a snapshot (analytics.live)
            report = await live.for_container(container).today(page.context["tenant"].id,
                                                               group_by)  # fmt: skip
        else:
            async with container.sessions() as session:
                report = await analytics_service.report(
                    session, tenant_id=page.context["tenant"].id, start=start, end=end,
                    group_by=group_by, now=container.clock(),
                )  # fmt: skip
        labels = [_group_label(group_by, row, t) for row in report.rows]
        hrefs = [drill_href(period, {group_by: row.key}) for row in report.rows]
        context.update(
            report=report,
            headline=[(k, format_kpi(k, report.total.kpis.get(k), lang)) for k in HEADLINE],
            rows=[
                (label, href, [format_kpi(k, row.kpis.get(k), lang) for k in TABLE])
                for label, href, row in zip(labels, hrefs, report.rows, strict=True)
            ],
            total=[format_kpi(k, report.total.kpis.get(k), lang) for k in TABLE],
            charts=_charts(report, labels, hrefs, lang, t) if report.rows else [],
            csv_href=csv_href(period, {}),
            total_href=drill_href(period, {}),
            sl_target=percent(report.options.service_level_target, lang, 0),
            sl_seconds=report.options.service_level_seconds,
        )
    return render(request, "kpis.html", context, lang=page.lang)


# ---- the drill-down -----------------------------------------------------------------------------


async def _names(session: AsyncSession, tenant_id: str) -> tuple[dict[str, str], dict[str, str]]:
    """Queue and staff names by id (the reporting read model's labels)."""
    queues = await session.execute(select(Queue.id, Queue.name).where(Queue.tenant_id == tenant_id))
    staff = await session.execute(
        select(StaffMember.id, StaffMember.name).where(StaffMember.tenant_id == tenant_id)
    )
    return {k: v for k, v in queues}, {k: v for k, v in staff}


def _outcome(record: Record) -> str:
    if record.spam:
        return "kp_out_spam"
    if record.abandoned:
        return "kp_out_abandoned"
    if record.answered:
        return "kp_out_answered"
    return "kp_out_contained" if record.contained else "kp_out_waiting"


def _survey(record: Record) -> str:
    scores = [(name, score) for name, score in
              (("CSAT", record.csat), ("NPS", record.nps), ("CES", record.ces))
              if score is not None]  # fmt: skip
    return " · ".join(f"{name} {score}" for name, score in scores) or EMPTY


def drill_row(
    record: Record, tz: ZoneInfo, lang: str, queues: Mapping[str, str], staff: Mapping[str, str]
) -> dict[str, str]:
    t = strings(lang)
    return {
        "time": record.arrived_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        "channel": t.get(f"ch_{record.channel}", record.channel),
        "queue": queues.get(record.queue_id or "", record.queue_id or EMPTY),
        "agent": staff.get(record.agent_id or "", record.agent_id or EMPTY),
        "intent": t.get(f"int_{record.intent}", record.intent) if record.intent else EMPTY,
        "wait": duration(record.wait_seconds, lang) if record.queued_at else EMPTY,
        "talk": duration(record.talk_seconds, lang),
        "outcome": t[_outcome(record)],
        "survey": _survey(record),
        "conversation_id": record.conversation_id,
    }


@router.get("/supervisor/kpis/drill")
async def kpis_drill_page(
    request: Request, principal: WebPrincipal, container: ContainerDep, _: Signer
) -> Response:
    """The interactions behind a figure of the KPI page, each linked to its conversation."""
    page = await _open(request, principal, container)
    if isinstance(page, Response):
        return page
    params = request.query_params
    period = period_from(params, container.clock().astimezone(page.tz).date())
    filters = {d: params[d] for d in DIMENSIONS if params.get(d)}
    back = {**period.query(), "group_by": next(iter(filters), params.get("group_by") or "queue")}
    context: dict[str, Any] = {
        **page.context, "period": period, "filters": filters, "rows": None,
        "back_href": "/supervisor/kpis?" + urlencode(back), "error": None,
        "csv_href": csv_href(period, filters),
    }  # fmt: skip
    if period.error is None:
        start, end = period.bounds(page.tz)
        tenant_id = page.context["tenant"].id
        try:
            async with container.sessions() as session:
                found = await analytics_service.records(
                    session, tenant_id=tenant_id, start=start, end=end, filters=filters,
                    now=container.clock(),
                )  # fmt: skip
                queues, staff = await _names(session, tenant_id)
        except DomainError as exc:
            context["error"] = exc.detail
        else:
            shown = sorted(found, key=lambda r: r.arrived_at, reverse=True)[:DRILL_LIMIT]
            context.update(
                rows=[drill_row(r, page.tz, page.lang, queues, staff) for r in shown],
                total=len(found),
                capped=len(found) > DRILL_LIMIT,
                filter_labels=_filter_labels(filters, page.lang, queues, staff),
            )
    return render(request, "kpis_drill.html", context, lang=page.lang)


def _filter_labels(
    filters: Mapping[str, str], lang: str, queues: Mapping[str, str], staff: Mapping[str, str]
) -> list[tuple[str, str]]:
    t = strings(lang)
    names = {"queue": queues, "agent": staff}
    out = []
    for dimension, key in filters.items():
        value = t["kp_none"] if key == kpis.NONE_KEY else names.get(dimension, {}).get(key, key)
        if dimension == "channel":
            value = t.get(f"ch_{key}", key)
        elif dimension == "intent":
            value = t.get(f"int_{key}", key)
        elif dimension == "hour" and key != kpis.NONE_KEY:
            value = f"{key}:00"
        out.append((t[f"kp_dim_{dimension}"], value))
    return out


# ---- the staffing page --------------------------------------------------------------------------

CALCULATOR = (
    ("calls", "sf_calls"), ("interval", "sf_interval"), ("aht", "sf_aht"),
    ("target", "sf_target"), ("threshold", "sf_threshold"), ("shrinkage", "sf_shrinkage"),
    ("patience", "sf_patience"), ("agents", "sf_agents_in"),
)  # fmt: skip
_OPTIONAL = frozenset({"patience", "agents"})


@dataclass(frozen=True)
class Calculation:
    """The calculator's form as typed, its numbers once parsed, and the answer or the problem."""

    form: dict[str, str]
    numbers: dict[str, float | None]
    answer: dict[str, Any] | None = None
    error: str | None = None


def calculate(params: Mapping[str, str], options: kpis.Options, lang: str) -> Calculation:
    """Run the Erlang calculator on the form's values (nothing to do until ``calls`` is sent)."""
    t = strings(lang)
    form = {"calls": "", "interval": "1800", "aht": "", "target": str(options.service_level_target),
            "threshold": str(options.service_level_seconds), "shrinkage": "0", "patience": "",
            "agents": ""}  # fmt: skip
    if "calls" not in params:
        return Calculation(form, {})
    for name, _ in CALCULATOR:  # what is left out or blank keeps its default
        typed = params.get(name, "").strip()
        if typed or not form[name]:
            form[name] = typed
    numbers: dict[str, float | None] = {}
    for name, label in CALCULATOR:
        text = form[name].replace(",", ".")
        if not text and name in _OPTIONAL:
            numbers[name] = None
            continue
        try:
            numbers[name] = float(text)
        except ValueError:
            return Calculation(form, {}, error=t["sf_err_number"].format(field=t[label]))
    agents = numbers["agents"]
    if agents is not None and not agents.is_integer():
        return Calculation(form, {}, error=t["sf_err_number"].format(field=t["sf_agents_in"]))
    values = {k: v for k, v in numbers.items() if v is not None}
    try:
        answer = plan(
            values["calls"], values["interval"], values["aht"], values["target"],
            values["threshold"], values["shrinkage"], numbers["patience"],
            None if agents is None else int(agents),
        )  # fmt: skip
    except (ValueError, TypeError) as exc:
        if "without bound" in str(exc):
            traffic = values["calls"] * values["aht"] / values["interval"]
            return Calculation(
                form, numbers, error=t["sf_err_unstable"].format(traffic=number(traffic, lang, 2))
            )
        return Calculation(form, numbers, error=t["sf_err_input"].format(detail=exc))
    return Calculation(form, numbers, answer=answer)


def _answer_lines(answer: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    t = strings(lang)
    lines = [
        (t["sf_model"], "Erlang A" if answer["model"] == "erlang_a" else "Erlang C"),
        (t["sf_agents"], str(answer["agents"])),
        (t["sf_rostered"], str(answer["rostered"])),
        (t["sf_traffic"], number(answer["traffic_erlangs"], lang, 2)),
        (t["sf_pwait"], percent(answer["p_wait"], lang)),
        (t["sf_sl"], percent(answer["service_level"], lang)),
        (t["sf_asa"], duration(answer["asa_seconds"], lang)),
        (t["sf_occupancy"], percent(answer["occupancy"], lang)),
    ]
    if "p_abandon" in answer:
        lines.append((t["sf_abandon"], percent(answer["p_abandon"], lang)))
    return lines


def _slot_label(moment: datetime, lang: str) -> str:
    return f"{strings(lang)[f'sf_wd_{moment.weekday()}']} {moment:%H:%M}"


def forecast_context(found: staffing_service.StaffingPlan, lang: str) -> dict[str, Any]:
    """The forecast's figures, charts and busy intervals, formatted for the page."""
    t = strings(lang)
    forecast = found.forecast
    days: dict[date, float] = {}
    for slot in forecast.slots:
        days[slot.start.date()] = days.get(slot.start.date(), 0.0) + slot.calls
    per_day = [Datum(f"{t[f'sf_wd_{d.weekday()}']} {d.day}", v) for d, v in days.items()]
    # Only the hours of the day that see contacts: 336 half hours would be unreadable.
    open_slots = [i.slot.slot for i in found.intervals if i.slot.calls > 0]
    first, last = min(open_slots, default=0), max(open_slots, default=-1)
    agents = [
        Datum(_slot_label(i.slot.start, lang), i.agents)
        for i in found.intervals
        if first <= i.slot.slot <= last
    ]
    step = timedelta(minutes=forecast.slot_minutes)
    busy = [
        {
            "interval": f"{_slot_label(i.slot.start, lang)}–{i.slot.start + step:%H:%M}",
            "date": i.slot.start.date().isoformat(),
            "contacts": number(i.slot.calls, lang, 1),
            "naive": number(i.slot.naive, lang),
            "agents": EMPTY if i.agents is None else str(i.agents),
            "rostered": EMPTY if i.rostered is None else str(i.rostered),
            "service_level": percent(i.service_level, lang),
        }
        for i in found.intervals
        if i.slot.calls > 0
    ]
    accuracy = forecast.accuracy
    peak = found.peak
    return {
        "week_of": forecast.start.date().isoformat(),
        "weeks_used": forecast.weeks_used,
        "total": number(forecast.total, lang, 1),
        "peak": f"{peak.agents} ({_slot_label(peak.slot.start, lang)})" if peak else "0",
        "aht": duration(found.aht_seconds, lang),
        "aht_measured": found.aht_measured,
        "wape": percent(accuracy.wape, lang) if accuracy else None,
        "naive_wape": percent(accuracy.naive_wape, lang) if accuracy else None,
        "day_chart": charts.bar_chart(per_day, title=t["sf_chart_day"], chart_id="chart-days",
                                      fmt=lambda v: number(v, lang, 1)),
        "agents_chart": charts.line_chart(agents, title=t["sf_chart_agents"],
                                          chart_id="chart-agents",
                                          fmt=lambda v: number(v, lang)),
        "busy": busy,
    }  # fmt: skip


@router.get("/supervisor/staffing")
async def staffing_page(
    request: Request, principal: WebPrincipal, container: ContainerDep, _: Signer
) -> Response:
    """The Erlang calculator and next week's forecast of contacts and agents."""
    page = await _open(request, principal, container)
    if isinstance(page, Response):
        return page
    tenant_id = page.context["tenant"].id
    async with container.sessions() as session:
        options = await analytics_service.options_for(session, tenant_id=tenant_id)
        calc = calculate(request.query_params, options, page.lang)
        usable = calc.error is None and calc.answer is not None
        numbers = calc.numbers if usable else {}
        try:
            found = await staffing_service.plan_next_week(
                session, tenant_id=tenant_id, now=container.clock(),
                target=numbers.get("target"), threshold_seconds=numbers.get("threshold"),
                shrinkage=numbers.get("shrinkage") or 0.0,
                patience_seconds=numbers.get("patience"),
            )  # fmt: skip
            forecast, forecast_error = forecast_context(found, page.lang), None
        except ValueError as exc:
            forecast, forecast_error = None, str(exc)
    context = {
        **page.context, "calc": calc, "fields": CALCULATOR, "forecast": forecast,
        "forecast_error": forecast_error,
        "answer": _answer_lines(calc.answer, page.lang) if calc.answer else None,
    }  # fmt: skip
    return render(request, "staffing.html", context, lang=page.lang)
