"""CSV import and export: round trip, matching, all-or-nothing, and the CLI."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from centralita.bootstrap import Container, build_container
from centralita.cli.main import cli
from centralita.contacts import csv_io
from centralita.contacts import service as contacts_service
from centralita.contacts.models import Contact
from centralita.events.models import OutboxEvent
from tests.conftest import Database, make_settings
from tests.factories import make_tenant

HEADER = (
    "name,language,phones,emails,whatsapp,web,tags,value,vip,"
    "consent_email,consent_sms,attr_city,attr_plan"
)
SOURCE = (
    f"{HEADER}\n"
    "Ana García,es,+34600111222;+34911222333,ana@example.com,34600111222,,vip;madrid,"
    "120.50,true,true,false,Madrid,gold\n"
    "Bo,en,,bo@example.com,,visitor-1,,0.00,false,,,London,\n"
    '\'=SUM(A1),,+34600999888,,,,,5.00,false,,,,"two\nlines"\n'
)


def _rows(text: str, drop: tuple[str, ...] = ()) -> list[dict[str, str]]:
    return [
        {k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(io.StringIO(text))
    ]


async def _import(db: AsyncSession, tenant_id: str, text: str, **kw: object) -> csv_io.ImportReport:
    parsed = csv_io.parse_contacts_csv(text, default_region="ES")
    report = await csv_io.import_contacts(db, tenant_id=tenant_id, parsed=parsed, **kw)
    await db.commit()
    return report


async def _export(db: AsyncSession, tenant_id: str) -> str:
    out = io.StringIO()
    await csv_io.export_contacts(db, tenant_id=tenant_id, out=out)
    return out.getvalue()


async def _count(db: AsyncSession, tenant_id: str) -> int:
    return int(
        await db.scalar(
            select(func.count()).select_from(Contact).where(Contact.tenant_id == tenant_id)
        )
        or 0
    )


async def test_import_then_export_gives_the_same_data(
    container: Container, db: AsyncSession
) -> None:
    kit = await make_tenant(container)
    report = await _import(db, kit.tenant_id, SOURCE)
    assert (report.created, report.updated, report.problems) == (3, 0, [])
    exported = await _export(db, kit.tenant_id)
    assert exported.splitlines()[0] == "id," + HEADER
    assert _rows(exported, drop=("id",)) == _rows(SOURCE)
    ana = await contacts_service.find_by_address(
        db, tenant_id=kit.tenant_id, kind="phone", value="+34911222333"
    )
    assert ana is not None and ana.consent == {"email": True, "sms": False}
    assert ana.attributes == {"city": "Madrid", "plan": "gold"} and ana.tags == ["vip", "madrid"]

    # Importing the export again matches every row by id: nothing changes.
    again = await _import(db, kit.tenant_id, exported)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert await _export(db, kit.tenant_id) == exported


async def test_import_updates_the_contact_that_owns_an_address(
    container: Container, db: AsyncSession
) -> None:
    kit = await make_tenant(container)
    existing = await contacts_service.create_contact(
        db,
        tenant_id=kit.tenant_id,
        name="Old",
        addresses=[("phone", "+34600111222")],
        attributes={"keep": "me"},
    )
    await db.commit()
    report = await _import(
        db, kit.tenant_id, "name,phones,emails,attr_plan\nNew,600 111 222,new@example.com,gold\n"
    )
    assert (report.created, report.updated) == (0, 1)
    await db.refresh(existing)
    assert existing.name == "New" and existing.attributes == {"keep": "me", "plan": "gold"}
    assert sorted(a.value for a in existing.addresses) == ["+34600111222", "new@example.com"]
    assert await _count(db, kit.tenant_id) == 1


async def test_bad_rows_are_reported_by_line_and_nothing_is_written(
    container: Container, db: AsyncSession
) -> None:
    kit = await make_tenant(container)
    a = await contacts_service.create_contact(
        db, tenant_id=kit.tenant_id, addresses=[("email", "a@example.com")]
    )
    b = await contacts_service.create_contact(
        db, tenant_id=kit.tenant_id, addresses=[("email", "b@example.com")]
    )
    await db.commit()
    b_id = b.id
    events_before = await db.scalar(select(func.count()).select_from(OutboxEvent))
    text = (
        "id,name,phones,emails\n"
        ",Good,+34600111222,\n"  # 2
        ",Bad phone,12345,\n"  # 3
        "ct_unknown,Who,,\n"  # 4
        ",Twice,+34600111222,\n"  # 5: the same number as line 2
        ",Both,,a@example.com;b@example.com\n"  # 6: two existing contacts
        f"{a.id},Steal,,b@example.com\n"  # 7: b's address on a's row
        ",Also good,,c@example.com\n"  # 8
    )
    parsed = csv_io.parse_contacts_csv(text, default_region="ES")
    with pytest.raises(csv_io.CsvRejected) as info:
        await csv_io.import_contacts(db, tenant_id=kit.tenant_id, parsed=parsed)
    await db.rollback()
    problems = [(p.line, p.field) for p in info.value.report.problems]
    assert problems == [(3, "phones"), (4, "id"), (5, "phones"), (6, "emails"), (7, "emails")]
    assert "line 2" in str(info.value.report.problems[2])
    assert b_id in info.value.report.problems[4].message
    assert await _count(db, kit.tenant_id) == 2
    assert await db.scalar(select(func.count()).select_from(OutboxEvent)) == events_before

    report = await _import(db, kit.tenant_id, text, skip_invalid=True)
    assert (report.created, report.skipped_lines) == (2, [3, 4, 5, 6, 7])
    assert await _count(db, kit.tenant_id) == 4


async def test_a_bad_header_rejects_the_file(container: Container, db: AsyncSession) -> None:
    kit = await make_tenant(container)
    parsed = csv_io.parse_contacts_csv("name,favourite_colour\nAna,red\n")
    with pytest.raises(csv_io.CsvRejected) as info:
        await csv_io.import_contacts(db, tenant_id=kit.tenant_id, parsed=parsed, skip_invalid=True)
    assert info.value.report.problems[0].field == "favourite_colour"


def test_cli_import_and_export(database: Database, tmp_path: Path) -> None:
    settings = make_settings(database, tmp_path)

    async def tenant() -> str:
        container = build_container(settings, run_workers=False)
        kit = await make_tenant(container)
        await container.engine.dispose()
        return kit.slug

    slug = asyncio.run(tenant())
    env = {"CENTRALITA_DATABASE_URL": database.url, "CENTRALITA_DATA_DIR": str(tmp_path)}
    runner = CliRunner(env=env)
    bad = tmp_path / "bad.csv"
    bad.write_text("name,phones\nAna,600111444\nBo,12\n", encoding="utf-8")
    result = runner.invoke(cli, ["contacts", "import", slug, str(bad)])
    assert result.exit_code == 1, result.output
    assert "line 3: phones:" in result.stderr and "nothing was imported" in result.stderr

    result = runner.invoke(cli, ["contacts", "import", slug, str(bad), "--skip-invalid"])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.stdout and "line 3: phones:" in result.stderr

    good = tmp_path / "good.csv"
    good.write_text(SOURCE, encoding="utf-8")
    result = runner.invoke(cli, ["contacts", "import", slug, str(good)])
    assert result.exit_code == 0, result.output
    assert "3 created" in result.stdout

    out = tmp_path / "out.csv"
    result = runner.invoke(cli, ["contacts", "export", slug, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert _rows(out.read_text(encoding="utf-8"), drop=("id",))[1:] == _rows(SOURCE)
    result = runner.invoke(cli, ["contacts", "export", slug])
    assert result.stdout == out.read_text(encoding="utf-8")

    result = runner.invoke(cli, ["contacts", "export", "no-such-tenant"])
    assert result.exit_code == 1 and "not found" in result.stderr
    result = runner.invoke(cli, ["contacts", "import", "--help"])
    assert "consent_X" in result.stdout
