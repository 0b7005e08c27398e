"""``centralita privacy``: export or erase a contact, run the daily job, open a sealed copy."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.bootstrap import Container, build_container
from centralita.cli.context import settings_from
from centralita.core.errors import DomainError
from centralita.privacy import jobs, service
from centralita.privacy.models import GROUNDS
from centralita.privacy.seal import SealedStore
from centralita.tenants import service as tenants_service

T = TypeVar("T")

tenant_option = click.option("--tenant", "slug", required=True, help="The tenant's slug.")


def _sealed(container: Container) -> SealedStore:
    settings = container.settings
    return service.sealed_store(settings.data_dir, settings.secret_key.get_secret_value())


def _run(
    ctx: click.Context,
    slug: str | None,
    work: Callable[[Container, AsyncSession, str | None], Awaitable[T]],
) -> T:
    """One committed transaction (rolled back on error), outbox relayed before exit."""

    async def go() -> T:
        container = build_container(settings_from(ctx), run_workers=False, subscribe=False)
        try:
            async with container.sessions() as session, session.begin():
                tenant_id = None
                if slug is not None:
                    tenant_id = (await tenants_service.get_by_slug(session, slug=slug)).id
                result = await work(container, session, tenant_id)
            return result
        except DomainError as exc:
            raise click.ClickException(exc.detail) from exc
        finally:
            await container.engine.dispose()

    return asyncio.run(go())


@click.group()
def privacy() -> None:
    """Data protection: export, erasure (block, then destroy), retention (docs/privacy.md)."""


@privacy.command("export")
@tenant_option
@click.argument("contact_id")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
    help="Where to write the ZIP archive.",
)  # fmt: skip
@click.pass_context
def export_command(ctx: click.Context, slug: str, contact_id: str, output: Path) -> None:
    """Write everything held about a contact to one ZIP archive."""

    async def work(c: Container, session: AsyncSession, tenant_id: str | None) -> bytes:
        assert tenant_id is not None
        return await service.export_contact(
            session, tenant_id=tenant_id, contact_id=contact_id, blobs=c.blobs, actor="cli",
            now=c.clock(),
        )  # fmt: skip

    data = _run(ctx, slug, work)
    output.write_bytes(data)
    click.echo(f"{output}: {len(data)} bytes")


@privacy.command("erase")
@tenant_option
@click.argument("contact_id")
@click.option("--ground", type=click.Choice(GROUNDS), default="request", show_default=True)
@click.option(
    "--destroy-now", is_flag=True,
    help="Keep no sealed copy for legal claims: destroy at once.",
)  # fmt: skip
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def erase_command(
    ctx: click.Context, slug: str, contact_id: str, ground: str, destroy_now: bool, yes: bool
) -> None:
    """Erase a contact: out of the live data now, sealed copy destroyed after the period."""
    if not yes:
        click.confirm(f"Erase contact {contact_id} of {slug}? This cannot be undone", abort=True)

    async def work(c: Container, session: AsyncSession, tenant_id: str | None) -> str:
        assert tenant_id is not None
        row = await service.block_contact(
            session, tenant_id=tenant_id, contact_id=contact_id, actor="cli", now=c.clock(),
            sealed=_sealed(c), blobs=c.blobs, redis_url=c.settings.redis_url, ground=ground,
            destroy_now=destroy_now,
        )  # fmt: skip
        return f"{row.id}  {row.status}  destroy after {row.destroy_after.isoformat()}"

    click.echo(_run(ctx, slug, work))


@privacy.command("destroy")
@tenant_option
@click.argument("erasure_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def destroy_command(ctx: click.Context, slug: str, erasure_id: str, yes: bool) -> None:
    """End a block early: destroy the sealed copy now (the legal hold is over)."""
    if not yes:
        click.confirm(f"Destroy the sealed copy of {erasure_id}? This cannot be undone", abort=True)

    async def work(c: Container, session: AsyncSession, tenant_id: str | None) -> str:
        assert tenant_id is not None
        row = await service.destroy_now(
            session, tenant_id=tenant_id, erasure_id=erasure_id, sealed=_sealed(c), actor="cli",
            now=c.clock(),
        )  # fmt: skip
        return f"{row.id}  {row.status}"

    click.echo(_run(ctx, slug, work))


@privacy.command("retention-run")
@click.pass_context
def retention_command(ctx: click.Context) -> None:
    """Run the daily job now: destroy erasures past their period, apply retention."""

    async def go() -> jobs.DailyRun:
        container = build_container(settings_from(ctx), run_workers=False, subscribe=False)
        try:
            return await jobs.run_daily(
                container.sessions, sealed=_sealed(container), now=container.clock()
            )
        finally:
            await container.engine.dispose()

    result = asyncio.run(go())
    click.echo(
        f"erasures destroyed {result.destroyed}, transcripts scrubbed {result.transcripts}, "
        f"recordings forgotten {result.recordings}"
    )


@privacy.command("unseal")
@tenant_option
@click.argument("erasure_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.pass_context
def unseal_command(ctx: click.Context, slug: str, erasure_id: str, output: Path) -> None:
    """Decrypt a blocked erasure's sealed copy, for a court or an authority (audited)."""

    async def work(c: Container, session: AsyncSession, tenant_id: str | None) -> bytes:
        assert tenant_id is not None
        return await service.unseal(
            session, tenant_id=tenant_id, erasure_id=erasure_id, sealed=_sealed(c), actor="cli"
        )

    data = _run(ctx, slug, work)
    output.write_bytes(data)
    click.echo(f"{output}: {len(data)} bytes")
