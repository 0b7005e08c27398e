"""``centralita privacy``: export, erase, unseal, destroy and the daily job by hand."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from centralita.bootstrap import build_container
from centralita.cli.main import cli
from centralita.config import Settings
from centralita.contacts import service as contacts_service
from tests.factories import make_tenant


async def _setup(settings: Settings) -> tuple[str, str]:
    container = build_container(settings, run_workers=False)
    try:
        kit = await make_tenant(container)
        async with container.sessions() as session, session.begin():
            contact = await contacts_service.create_contact(
                session, tenant_id=kit.tenant_id, name="Casimira Ulloa Pardo",
                addresses=[("phone", "+34655666777"), ("email", "cup@example.org")],
            )  # fmt: skip
        return kit.slug, contact.id
    finally:
        await container.stop()


def test_export_erase_unseal_destroy(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slug, contact_id = asyncio.run(_setup(settings))
    # the CLI builds its own Settings from the environment, as in production
    monkeypatch.setenv("CENTRALITA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CENTRALITA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CENTRALITA_SECRET_KEY", "cli-secret-key-0123456789abcdef")
    run = CliRunner()

    out = tmp_path / "export.zip"
    exported = run.invoke(cli, ["privacy", "export", "--tenant", slug, contact_id, "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read("contact.json"))["name"] == "Casimira Ulloa Pardo"

    refused = run.invoke(cli, ["privacy", "erase", "--tenant", slug, contact_id], input="n\n")
    assert refused.exit_code == 1  # not confirmed: nothing happens
    erased = run.invoke(cli, ["privacy", "erase", "--tenant", slug, contact_id, "--yes"])
    assert erased.exit_code == 0, erased.output
    erasure_id, status = erased.output.split()[:2]
    assert erasure_id.startswith("era_") and status == "blocked"
    again = run.invoke(cli, ["privacy", "erase", "--tenant", slug, contact_id, "--yes"])
    assert again.exit_code == 1 and "not found" in again.output

    sealed = tmp_path / "sealed.zip"
    opened = run.invoke(cli, ["privacy", "unseal", "--tenant", slug, erasure_id, "-o", str(sealed)])
    assert opened.exit_code == 0, opened.output
    archive = zipfile.ZipFile(io.BytesIO(sealed.read_bytes()))
    assert "cup@example.org" in archive.read("contact.json").decode()

    daily = run.invoke(cli, ["privacy", "retention-run"])
    assert daily.exit_code == 0, daily.output
    assert daily.output.startswith("erasures destroyed 0,")  # the 90 days have not passed

    destroyed = run.invoke(cli, ["privacy", "destroy", "--tenant", slug, erasure_id, "--yes"])
    assert destroyed.exit_code == 0 and "destroyed" in destroyed.output
    gone = run.invoke(cli, ["privacy", "unseal", "--tenant", slug, erasure_id, "-o", str(sealed)])
    assert gone.exit_code == 1 and "destroyed" in gone.output
    assert not list((tmp_path / "data" / "sealed").rglob("*.enc"))

    bad = run.invoke(cli, ["privacy", "erase", "--tenant", slug, contact_id, "--ground", "x"])
    assert bad.exit_code == 2
