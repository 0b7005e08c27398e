"""``centralita campaign``: create from YAML, preview, start, status with a progress bar."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from centralita.bootstrap import build_container
from centralita.campaigns import runner
from centralita.cli.campaign import bar
from centralita.cli.main import cli
from centralita.config import Settings
from centralita.contacts import service as contacts_service
from centralita.core.clock import utcnow
from tests.factories import make_tenant

YAML = """
name: Promo CLI
channel: sms
body: "Hola {first_name}"
segment:
  tags: {any: [promo]}
pace_per_minute: 10
"""


async def _setup(settings: Settings) -> str:
    container = build_container(settings, run_workers=False)
    try:
        kit = await make_tenant(container)
        async with container.sessions() as session, session.begin():
            for i, name in enumerate(("Ana", "Bea", None)):
                await contacts_service.create_contact(
                    session, tenant_id=kit.tenant_id, name=name, tags=["promo"],
                    consent={"marketing": True}, addresses=[("phone", f"+3460000020{i}")],
                )  # fmt: skip
        return kit.slug
    finally:
        await container.stop()


async def _tick(settings: Settings) -> None:
    container = build_container(settings, run_workers=False)
    # outside the default quiet hours (21:00-09:00 Madrid), whatever the real time
    now = utcnow()
    madrid = now.astimezone(ZoneInfo("Europe/Madrid"))
    if not 9 <= madrid.hour < 20:
        now = now + timedelta(hours=(12 - madrid.hour) % 24)
    try:
        await runner.tick(container.sessions, now=now)
    finally:
        await container.engine.dispose()


def test_create_preview_start_and_status(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug = asyncio.run(_setup(settings))
    # the CLI builds its own Settings from the environment, as in production
    monkeypatch.setenv("CENTRALITA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CENTRALITA_DATA_DIR", str(tmp_path / "data"))
    spec = tmp_path / "campaign.yaml"
    spec.write_text(YAML, encoding="utf-8")
    run = CliRunner()

    created = run.invoke(cli, ["campaign", "create", "--tenant", slug, "--file", str(spec)])
    assert created.exit_code == 0, created.output
    campaign_id = created.output.strip()
    assert campaign_id.startswith("cmp_")

    preview = run.invoke(cli, ["campaign", "preview", "--tenant", slug, campaign_id])
    assert preview.exit_code == 0, preview.output
    assert "matched 3, eligible 2" in preview.output
    assert "skipped missing_variable: 1" in preview.output and "Ana: Hola Ana" in preview.output

    started = run.invoke(cli, ["campaign", "start", "--tenant", slug, campaign_id])
    assert started.exit_code == 0 and f"{campaign_id}: running" in started.output
    again = run.invoke(cli, ["campaign", "start", "--tenant", slug, campaign_id])
    assert again.exit_code == 1 and "cannot be started" in again.output

    asyncio.run(_tick(settings))  # the tenant has no SMS account: skipped, no_address
    args = ["campaign", "status", "--tenant", slug, campaign_id, "--follow", "--interval", "0"]
    status = run.invoke(cli, args)
    assert status.exit_code == 0, status.output
    assert status.output.startswith("completed  [" + "#" * 30 + "] 3/3")
    assert "skipped no_address: 2" in status.output

    listed = run.invoke(cli, ["campaign", "list", "--tenant", slug])
    assert campaign_id in listed.output and "Promo CLI" in listed.output

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: X\nbody: 'Hola {nombre}'\n", encoding="utf-8")
    refused = run.invoke(cli, ["campaign", "create", "--tenant", slug, "--file", str(bad)])
    assert refused.exit_code == 1 and "{nombre}" in refused.output


def test_progress_bar_text() -> None:
    assert bar({"total": 0}).startswith("[" + "-" * 30 + "] 0/0")
    half = bar({"total": 10, "pending": 5, "sent": 5}, width=10)
    assert half.startswith("[#####-----]  5/10  sent 5")
