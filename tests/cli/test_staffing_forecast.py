"""`centralita staffing forecast`: next week's contacts and agents from a tenant's history."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from centralita.bootstrap import build_container
from centralita.cli.main import cli
from centralita.config import Settings
from centralita.core.clock import utcnow
from tests.factories import make_tenant
from tests.staffing.history import add_contact, add_queue

MADRID = ZoneInfo("Europe/Madrid")


def _past_mondays(count: int) -> list[datetime]:
    """10:05 in Madrid on each of the last ``count`` Mondays before today."""
    today = utcnow().astimezone(MADRID).date()
    last = today - timedelta(days=(today.weekday() - 0) % 7 or 7)
    return [
        datetime.combine(last - timedelta(weeks=k), time(10, 5), tzinfo=MADRID)
        for k in range(count)
    ]


async def _seed(settings: Settings) -> str:
    container = build_container(settings, run_workers=False, subscribe=False)
    try:
        kit = await make_tenant(container)
        async with container.sessions() as session, session.begin():
            queue = await add_queue(session, kit.tenant_id, "recepcion", "Recepción")
            for monday in _past_mondays(4):
                for minute in (0, 9):
                    await add_contact(session, kit.tenant_id, monday + timedelta(minutes=minute),
                                      queue_id=queue, wait=5, talk=170)  # fmt: skip
            # the receptionist's own conversations need nobody: they are not forecast
            await add_contact(session, kit.tenant_id, _past_mondays(1)[0], bot_only=True)
        return kit.slug
    finally:
        await container.engine.dispose()


def _env(settings: Settings) -> dict[str, str]:
    return {
        "CENTRALITA_DATABASE_URL": settings.database_url,
        "CENTRALITA_DATA_DIR": str(settings.data_dir),
        "CENTRALITA_ENVIRONMENT": "test",
        "CENTRALITA_SECRET_KEY": "test-secret-key-0123456789abcdef",
    }


def test_the_forecast_reads_the_tenants_history(settings: Settings) -> None:
    slug = asyncio.run(_seed(settings))
    runner = CliRunner()
    result = runner.invoke(
        cli, ["staffing", "forecast", "--tenant", slug, "--weeks", "4", "--json"],
        env=_env(settings),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["tenant"] == slug and data["weeks_used"] == 4
    assert data["aht_seconds"] == pytest.approx(170) and data["aht_measured"] is True
    assert data["target"] == 0.8 and data["threshold_seconds"] == 20  # the tenant's defaults
    week = datetime.fromisoformat(data["week_start"])
    assert week.weekday() == 0 and week > utcnow()
    assert len(data["intervals"]) == 7 * 48
    busy = [i for i in data["intervals"] if i["contacts"]]
    assert [(i["start"][11:16], i["contacts"], i["agents"]) for i in busy] == [("10:00", 2.0, 1)]
    assert data["total_contacts"] == pytest.approx(2.0)
    assert data["accuracy"]["wape"] == 0.0 and data["accuracy"]["naive_wape"] == 0.0

    text = runner.invoke(
        cli, ["staffing", "forecast", "--tenant", slug, "--target", "0.95", "--shrinkage", "0.5"],
        env=_env(settings),
    )  # fmt: skip
    assert text.exit_code == 0, text.output
    assert "2.0 contacts forecast from 4 week(s)" in text.output
    assert "AHT 170 s (measured)" in text.output and "target 95%" in text.output
    assert "10:00" in text.output


def test_unknown_tenants_and_bad_figures_are_clear_errors(settings: Settings) -> None:
    asyncio.run(_seed(settings))
    runner = CliRunner()
    result = runner.invoke(cli, ["staffing", "forecast", "--tenant", "nobody"], env=_env(settings))
    assert result.exit_code == 1 and "not found" in result.output
    result = runner.invoke(cli, ["staffing", "forecast", "--tenant", "x", "--weeks", "0"],
                           env=_env(settings))  # fmt: skip
    assert result.exit_code == 2 and "weeks" in result.output


def test_the_calculator_still_needs_its_figures() -> None:
    result = CliRunner().invoke(cli, ["staffing"])
    assert result.exit_code == 2 and "--calls" in result.output
    result = CliRunner().invoke(cli, ["staffing", "--calls", "100"])
    assert result.exit_code == 2 and "--aht" in result.output
