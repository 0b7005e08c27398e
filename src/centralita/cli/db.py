"""``centralita db``: schema migrations."""

from __future__ import annotations

import click

from centralita.cli.context import settings_from
from centralita.db import migrate


@click.group()
def db() -> None:
    """Database schema migrations (Alembic)."""


@db.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_context
def upgrade(ctx: click.Context, revision: str) -> None:
    """Create or upgrade the schema of the configured database."""
    settings = settings_from(ctx)
    migrate.upgrade(settings.database_url, revision)
    click.echo(f"database at revision {revision}")


@db.command()
@click.pass_context
def current(ctx: click.Context) -> None:
    """Show the database's current revision."""
    migrate.current(settings_from(ctx).database_url)
