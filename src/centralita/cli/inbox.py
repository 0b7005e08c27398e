"""``centralita inbox``: accepted webhooks waiting to be stored, and those given up on."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from centralita.bootstrap import build_container
from centralita.channels import inbox as channels_inbox
from centralita.cli.context import settings_from
from centralita.tenants import service as tenants_service


@click.group()
def inbox() -> None:
    """Inbox mode's accepted webhooks (docs/reliability.md, "Inbox mode")."""


async def _with_session(ctx: click.Context, work: Any) -> Any:
    container = build_container(settings_from(ctx), run_workers=False, subscribe=False)
    try:
        async with container.sessions() as session, session.begin():
            return await work(container, session)
    finally:
        await container.engine.dispose()


@inbox.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """How many requests wait to be stored, and how many were given up on."""

    async def work(container: Any, session: Any) -> tuple[int, int]:
        return await channels_inbox.pending_count(session)

    pending, dead = asyncio.run(_with_session(ctx, work))
    click.echo(f"pending {pending}\ndead {dead}")


@inbox.command()
@click.option("--tenant", "slug", default=None, help="Only this tenant's (its slug).")
@click.option("--limit", default=100, show_default=True)
@click.pass_context
def dead(ctx: click.Context, slug: str | None, limit: int) -> None:
    """List the requests given up on, with their last error."""

    async def work(container: Any, session: Any) -> list[str]:
        tenant_id = None
        if slug is not None:
            tenant_id = (await tenants_service.get_by_slug(session, slug=slug)).id
        rows = await channels_inbox.dead_requests(session, tenant_id=tenant_id, limit=limit)
        return [
            f"{r.id}\t{r.tenant_id}\t{r.channel_account_id}\t{r.received_at.isoformat()}\t"
            f"{r.attempts}\t{(r.last_error or '').splitlines()[0] if r.last_error else ''}"
            for r in rows
        ]

    for line in asyncio.run(_with_session(ctx, work)):
        click.echo(line)


@inbox.command()
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="Every dead request.")
@click.pass_context
def retry(ctx: click.Context, ids: tuple[int, ...], everything: bool) -> None:
    """Put dead requests back in line once their cause is fixed."""
    if not ids and not everything:
        raise click.UsageError("name the requests' ids, or pass --all")

    async def work(container: Any, session: Any) -> int:
        return await channels_inbox.retry_dead(
            session, now=container.clock(), ids=None if everything else list(ids)
        )

    click.echo(f"{asyncio.run(_with_session(ctx, work))} requests back in line")
