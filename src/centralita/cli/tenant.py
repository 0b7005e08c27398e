"""``centralita tenant``: configuration as code (schema, validate, apply, export)."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from centralita.tenants.config.errors import ConfigErrors
from centralita.tenants.config.loader import load_tenant_file
from centralita.tenants.config.schema import TenantDocument, json_schema

if TYPE_CHECKING:
    from centralita.bootstrap import Container
    from centralita.tenants.config.apply import ApplyReport

T = TypeVar("T")


@click.group()
def tenant() -> None:
    """Validate, apply, export tenant YAML files and print their JSON Schema.

    One YAML file describes one tenant: profile, hours, holidays, staff, services, FAQ,
    queues, channels and receptionist behaviour. The demo tenants are such files.
    """


def render_schema() -> str:
    """The JSON Schema as published in docs/tenant.schema.json."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


@tenant.command()
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file."
)
def schema(output: Path | None) -> None:
    """Print the JSON Schema of tenant files (for editors and CI)."""
    text = render_schema()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


def _load(path: Path, *, err: bool) -> TenantDocument | None:
    try:
        return load_tenant_file(path)
    except ConfigErrors as exc:
        for error in exc.errors:
            click.echo(str(error), err=err)
    except (OSError, UnicodeDecodeError) as exc:
        click.echo(f"{path}: cannot read: {exc}", err=err)
    return None


@tenant.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check tenant FILES without touching the database.

    Prints each error as FILE:LINE:COLUMN: FIELD: MESSAGE and exits with status 1 if any file
    has one.
    """
    failed = False
    for path in files:
        doc = _load(path, err=False)
        if doc is None:
            failed = True
        else:
            click.echo(f"{path}: ok (tenant {doc.tenant.slug})")
    if failed:
        raise SystemExit(1)


@tenant.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would change, then roll back.")
@click.pass_context
def apply(ctx: click.Context, file: Path, dry_run: bool) -> None:
    """Create or update the tenant described by FILE, declaratively.

    Staff, services, FAQ entries, queues and channels missing from FILE are deleted. Applying
    the same file again changes nothing. A channel's secret_env is read from this process's
    environment; when unset, the stored secret is kept.
    """
    doc = _load(file, err=True)
    if doc is None:
        raise SystemExit(1)
    environ = dict(os.environ)  # only for secret_env: the settings come from config.py
    report = _run(ctx, lambda c: _apply(c, doc, dry_run=dry_run, environ=environ))
    for line in report.lines():
        click.echo(line)
    if report.changed:
        total = len(report.created) + len(report.updated) + len(report.deleted)
        verb = "would change" if dry_run else "changed"
        suffix = " (dry run, nothing saved)" if dry_run else ""
        click.echo(f"{doc.tenant.slug}: {verb} {total} item(s){suffix}")
    else:
        click.echo(f"{doc.tenant.slug}: up to date")


@tenant.command()
@click.argument("slug")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file."
)
@click.option(
    "--include-secrets",
    is_flag=True,
    help="Write channel secrets literally (otherwise only secret_env names are kept).",
)
@click.pass_context
def export(ctx: click.Context, slug: str, output: Path | None, include_secrets: bool) -> None:
    """Write tenant SLUG out as a YAML file.

    Applying the file (on this or an empty database) reproduces the tenant exactly; secrets
    need --include-secrets for that.
    """
    text = _run(ctx, lambda c: _export(c, slug, include_secrets=include_secrets))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@tenant.command()
@click.argument("slug")
@click.pass_context
def hooks(ctx: click.Context, slug: str) -> None:
    """List tenant SLUG's channel accounts and the webhook URL to give each provider."""
    for line in _run(ctx, lambda c: _hooks(c, slug)):
        click.echo(line)


async def _hooks(container: Container, slug: str) -> list[str]:
    from sqlalchemy import select

    from centralita.channels.models import ChannelAccount
    from centralita.core.errors import NotFound
    from centralita.tenants import service as tenants_service

    async with container.sessions() as session:
        try:
            found = await tenants_service.get_by_slug(session, slug=slug)
        except NotFound as exc:
            raise click.ClickException(exc.detail) from None
        rows = await session.scalars(
            select(ChannelAccount)
            .where(ChannelAccount.tenant_id == found.id)
            .order_by(ChannelAccount.name)
        )
        base = container.settings.public_base_url.rstrip("/")
        return [
            f"{a.name:<12} {a.kind:<9} {a.provider:<10} "
            f"{'enabled ' if a.enabled else 'disabled'} {base}/hooks/{a.id}"
            for a in rows.all()
        ]


async def _apply(
    container: Container, doc: TenantDocument, *, dry_run: bool, environ: dict[str, str]
) -> ApplyReport:
    from centralita.tenants.config.apply import apply_document

    async with container.sessions() as session:
        transaction = await session.begin()
        report = await apply_document(session, doc, actor="cli", environ=environ)
        if dry_run:
            await transaction.rollback()
        else:
            await transaction.commit()
        return report


async def _export(container: Container, slug: str, *, include_secrets: bool) -> str:
    from centralita.core.errors import NotFound
    from centralita.tenants import service as tenants_service
    from centralita.tenants.config.export import dump_yaml, export_document

    async with container.sessions() as session:
        try:
            found = await tenants_service.get_by_slug(session, slug=slug)
        except NotFound as exc:
            raise click.ClickException(exc.detail) from None
        try:
            data = await export_document(
                session, tenant_id=found.id, include_secrets=include_secrets
            )
        except ConfigErrors as exc:  # rows edited elsewhere into something the schema refuses
            raise click.ClickException(f"cannot export {slug}:\n{exc}") from None
        return dump_yaml(data)


def _run(ctx: click.Context, fn: Callable[[Container], Awaitable[T]]) -> T:
    """Run ``fn`` on the configured database; database errors become one readable line."""
    # Imported here so that `schema` and `validate` never load the database layer.
    from sqlalchemy.exc import DBAPIError

    from centralita.cli.context import run_with_container, settings_from

    try:
        return run_with_container(settings_from(ctx), fn)
    except DBAPIError as exc:
        raise click.ClickException(
            f"database error: {exc.orig}. Is the database migrated to the latest schema?"
        ) from None
