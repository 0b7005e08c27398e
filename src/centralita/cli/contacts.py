"""``centralita contacts``: import and export contacts as CSV."""

from __future__ import annotations

import asyncio
import io
import re
import sys
from pathlib import Path

import click

from centralita.bootstrap import build_container
from centralita.config import load_settings
from centralita.contacts import csv_io
from centralita.core.errors import DomainError
from centralita.tenants import service as tenants_service

COLUMNS_HELP = """
\b
Columns (all optional, any order; the header row is required):
  id          contact id; on import, updates that contact
  name        full name
  language    language code: es, en, pt-BR ...
  phones      phone numbers; without a country code they are read in
              --default-region (default: the tenant's country)
  emails      email addresses
  whatsapp    WhatsApp ids (the number in international form)
  web         web chat visitor ids
  tags        tags
  value       customer lifetime value, e.g. 1250.00 (dot for decimals)
  vip         true/false
  consent_X   consent flag X, true/false (e.g. consent_sms)
  attr_X      attribute X, as text (e.g. attr_plan)
phones, emails, whatsapp, web and tags hold several values separated by ';'.
"""


@click.group()
def contacts() -> None:
    """Import and export contacts as CSV."""


@contacts.command("import", epilog=COLUMNS_HELP)
@click.argument("tenant_slug")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the good rows and report the bad ones (default: one bad row imports nothing).",
)
@click.option(
    "--default-region",
    metavar="CC",
    help="Country (ISO 3166 alpha-2) for phone numbers without a country code.",
)
def import_command(
    tenant_slug: str, file: Path, skip_invalid: bool, default_region: str | None
) -> None:
    """Import contacts from a UTF-8 CSV FILE into the tenant TENANT_SLUG.

    A row with an id updates that contact; a row whose addresses belong to an existing
    contact updates it; any other row creates a contact. Empty cells leave fields as they
    are; addresses are added, never removed. Every row is checked first: by default any
    problem imports nothing, and each problem is reported with its line number.
    """
    if default_region and not re.fullmatch(r"[A-Za-z]{2}", default_region):
        raise click.BadParameter(
            "use a two-letter country code such as ES", param_hint="--default-region"
        )
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{file} is not UTF-8 text ({exc})") from exc
    report = asyncio.run(_import(tenant_slug, text, skip_invalid, default_region))
    for problem in report.problems:
        click.echo(str(problem), err=True)
    click.echo(
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(report.skipped_lines)} row(s) skipped"
    )


async def _import(
    slug: str, text: str, skip_invalid: bool, default_region: str | None
) -> csv_io.ImportReport:
    container = build_container(load_settings(), run_workers=False)
    try:
        async with container.sessions() as session, session.begin():
            tenant = await tenants_service.get_by_slug(session, slug=slug)
            region = (default_region or tenant.country or "").upper() or None
            parsed = csv_io.parse_contacts_csv(text, default_region=region)
            with click.progressbar(
                length=len(parsed.rows), label="Importing", file=sys.stderr
            ) as bar:
                return await csv_io.import_contacts(
                    session,
                    tenant_id=tenant.id,
                    parsed=parsed,
                    skip_invalid=skip_invalid,
                    actor="cli",
                    on_row=lambda: bar.update(1),
                )
    except csv_io.CsvRejected as exc:
        for problem in exc.report.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(
            f"{len(exc.report.skipped_lines)} row(s) have problems; nothing was imported "
            f"(fix them, or use --skip-invalid to import the others)"
        ) from exc
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        await container.engine.dispose()


@contacts.command("export", epilog=COLUMNS_HELP)
@click.argument("tenant_slug")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of standard output.",
)
def export_command(tenant_slug: str, output: Path | None) -> None:
    """Export the contacts of TENANT_SLUG as UTF-8 CSV (merged contacts are left out)."""
    text, count = asyncio.run(_export(tenant_slug))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{count} contact(s) written to {output}", err=True)


async def _export(slug: str) -> tuple[str, int]:
    container = build_container(load_settings(), run_workers=False)
    out = io.StringIO()
    try:
        async with container.sessions() as session:
            tenant = await tenants_service.get_by_slug(session, slug=slug)
            total = await csv_io.count_exportable(session, tenant_id=tenant.id)
            with click.progressbar(length=total, label="Exporting", file=sys.stderr) as bar:
                count = await csv_io.export_contacts(
                    session, tenant_id=tenant.id, out=out, on_row=lambda: bar.update(1)
                )
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc
    finally:
        await container.engine.dispose()
    return out.getvalue(), count
