"""``centralita campaign``: list, create from YAML, preview, start and follow campaigns.

Sending is the server's job (its campaign runner); these commands change and read the
database the server uses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.bootstrap import build_container
from centralita.campaigns import service as campaigns_service
from centralita.campaigns.schemas import CampaignCreate
from centralita.config import load_settings
from centralita.core.clock import utcnow
from centralita.core.errors import DomainError
from centralita.tenants import service as tenants_service

T = TypeVar("T")
FINAL = ("completed", "cancelled")

EXAMPLE = """
\b
campaign.yaml:
  name: Limpiezas de noviembre
  channel: sms                      # sms | whatsapp | email
  body: "Hola {first_name}: 20% en limpiezas. Responde BAJA para no recibir más."
  segment:
    tags: {any: [promo]}
    last_contact: {within_days: 365}
  pace_per_minute: 30
  max_attempts: 3
  start_at: 2026-11-23T10:00:00+01:00   # optional: schedule instead of sending now
"""


def _run(slug: str, work: Callable[[AsyncSession, str], Awaitable[T]]) -> T:
    async def go() -> T:
        container = build_container(load_settings(), run_workers=False, subscribe=False)
        try:
            # one transaction: committed on success (reads change nothing), rolled back on error
            async with container.sessions() as session, session.begin():
                tenant = await tenants_service.get_by_slug(session, slug=slug)
                return await work(session, tenant.id)
        except DomainError as exc:
            raise click.ClickException(exc.detail) from exc
        finally:
            await container.engine.dispose()

    return asyncio.run(go())


def bar(progress: dict[str, Any], width: int = 30) -> str:
    """``[#########-----------]  9/20  sent 7 · delivered 1 · failed 0 · skipped 1 · ...``"""
    total = int(progress.get("total") or 0)
    done = total - int(progress.get("pending") or 0)
    filled = round(width * done / total) if total else 0
    parts = " · ".join(
        f"{k} {progress.get(k, 0)}" for k in ("sent", "delivered", "failed", "skipped", "pending")
    )
    return f"[{'#' * filled}{'-' * (width - filled)}] {done:>{len(str(total))}}/{total}  {parts}"


tenant_option = click.option("--tenant", "slug", required=True, help="The tenant's slug.")


@click.group()
def campaign() -> None:
    """Proactive campaigns: segments, pacing, quiet hours, opt-outs (docs/campaigns.md)."""


@campaign.command("list")
@tenant_option
def list_command(slug: str) -> None:
    """The tenant's campaigns, newest first."""

    async def work(session: AsyncSession, tenant_id: str) -> list[str]:
        lines = []
        for c in await campaigns_service.list_campaigns(session, tenant_id=tenant_id):
            p = await campaigns_service.progress(session, campaign=c)
            lines.append(f"{c.id}  {c.status:<10} {c.channel:<8} {c.name}\n    {bar(p)}")
        return lines

    lines = _run(slug, work)
    click.echo("\n".join(lines) if lines else "no campaigns")


@campaign.command("create", epilog=EXAMPLE)
@tenant_option
@click.option(
    "--file", "file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def create_command(slug: str, file: Path) -> None:
    """Create a draft campaign from a YAML file; prints its id."""
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
        spec = CampaignCreate.model_validate(raw)
    except (yaml.YAMLError, ValueError) as exc:
        raise click.ClickException(f"{file}: {exc}") from exc

    async def work(session: AsyncSession, tenant_id: str) -> str:
        created = await campaigns_service.create_campaign(
            session, tenant_id=tenant_id, created_by="cli", now=utcnow(), **spec.model_dump()
        )
        return created.id

    click.echo(_run(slug, work))


@campaign.command("preview")
@tenant_option
@click.argument("campaign_id")
def preview_command(slug: str, campaign_id: str) -> None:
    """How many the campaign reaches, why the others are skipped, and sample texts."""

    async def work(session: AsyncSession, tenant_id: str) -> campaigns_service.Preview:
        return await campaigns_service.preview(
            session, tenant_id=tenant_id, campaign_id=campaign_id, now=utcnow()
        )

    result = _run(slug, work)
    click.echo(f"matched {result.matched}, eligible {result.eligible}")
    for reason, n in sorted(result.skipped.items()):
        click.echo(f"  skipped {reason}: {n}")
    for sample in result.sample:
        click.echo(f"  {sample['name'] or sample['contact_id']}: {sample['text']}")
    if result.message:
        click.echo(result.message, err=True)


@campaign.command("start")
@tenant_option
@click.argument("campaign_id")
def start_command(slug: str, campaign_id: str) -> None:
    """Start (or schedule, or resume) a campaign; the server's runner sends it."""

    async def work(session: AsyncSession, tenant_id: str) -> str:
        started = await campaigns_service.start_campaign(
            session, tenant_id=tenant_id, campaign_id=campaign_id, now=utcnow()
        )
        return started.status

    click.echo(f"{campaign_id}: {_run(slug, work)}")


@campaign.command("status")
@tenant_option
@click.argument("campaign_id")
@click.option("--follow", is_flag=True, help="Keep showing progress until it ends.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between updates.")
def status_command(slug: str, campaign_id: str, follow: bool, interval: float) -> None:
    """A campaign's status and progress bar."""

    async def work(session: AsyncSession, tenant_id: str) -> tuple[str, dict[str, Any]]:
        c = await campaigns_service.get_campaign(
            session, tenant_id=tenant_id, campaign_id=campaign_id
        )
        return c.status, await campaigns_service.progress(session, campaign=c)

    while True:
        status, progress = _run(slug, work)
        line = f"{status:<10} {bar(progress)}"
        click.echo(line)
        if not follow or status in FINAL:
            break
        time.sleep(interval)
    by_reason = progress.get("skipped_by_reason") or {}
    for reason, n in sorted(by_reason.items()):
        click.echo(f"  skipped {reason}: {n}")
