"""``centralita tenant``: schema, validate, apply and export through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from centralita.cli.main import cli
from centralita.demo import demo_tenant_files, demo_tenant_text
from centralita.tenants.config.loader import load_tenant_file
from centralita.tenants.config.schema import json_schema
from tests.conftest import Database

CLINIC = "clinica-dental-sonrisa"


@pytest.fixture
def demo_file(tmp_path: Path) -> Path:
    path = tmp_path / f"{CLINIC}.yaml"
    path.write_text(demo_tenant_text(CLINIC), encoding="utf-8")
    return path


def runner_for(database: Database, tmp_path: Path) -> CliRunner:
    return CliRunner(
        env={
            "CENTRALITA_ENV_FILE": None,  # type: ignore[dict-item]
            "CENTRALITA_DATABASE_URL": database.url,
            "CENTRALITA_DATA_DIR": str(tmp_path / "data"),
            "CENTRALITA_ENVIRONMENT": "test",
            "SONRISA_TWILIO_AUTH_TOKEN": "tok-from-env",
        }
    )


def test_schema_prints_the_json_schema(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["tenant", "schema"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == json_schema()
    out = tmp_path / "schema.json"
    assert CliRunner().invoke(cli, ["tenant", "schema", "-o", str(out)]).exit_code == 0
    assert json.loads(out.read_text()) == json_schema()


def test_validate_names_the_file_line_and_field(tmp_path: Path, demo_file: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: 1\n"
        "tenant: {slug: x, name: X, timezone: Mars/Olympus}\n"
        "staff:\n"
        "  - key: a\n"
        "    name: Ana\n"
        "    telefono: 600000101\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["tenant", "validate", str(demo_file), str(bad)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"{demo_file}: ok (tenant {CLINIC})"
    assert lines[1].startswith(f"{bad}:2:38: tenant.timezone: unknown time zone 'Mars/Olympus'")
    assert lines[2].startswith(
        f"{bad}:6:5: staff[0].telefono: unknown field; expected one of: key, name, aliases,"
    )


def test_validate_accepts_every_demo_file_and_reports_unreadable_ones(tmp_path: Path) -> None:
    paths = []
    for file in demo_tenant_files():
        paths.append(tmp_path / file.name)
        paths[-1].write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    ok = CliRunner().invoke(cli, ["tenant", "validate", *map(str, paths)])
    assert ok.exit_code == 0, ok.output
    missing = CliRunner().invoke(cli, ["tenant", "validate", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 1 and "cannot read" in missing.stdout


def test_every_command_explains_itself() -> None:
    for command, words in [
        ("schema", "JSON Schema"),
        ("validate", "FILE:LINE:COLUMN: FIELD: MESSAGE"),
        ("apply", "--dry-run"),
        ("export", "--include-secrets"),
    ]:
        result = CliRunner().invoke(cli, ["tenant", command, "--help"])
        assert result.exit_code == 0 and words in result.stdout


def test_apply_then_export(database: Database, tmp_path: Path, demo_file: Path) -> None:
    runner = runner_for(database, tmp_path)
    dry = runner.invoke(cli, ["tenant", "apply", str(demo_file), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"+ tenant:{CLINIC}" in dry.stdout and "(dry run, nothing saved)" in dry.stdout
    gone = runner.invoke(cli, ["tenant", "export", CLINIC])
    assert gone.exit_code == 1 and f"tenant {CLINIC!r} not found" in gone.stderr

    applied = runner.invoke(cli, ["tenant", "apply", str(demo_file)])
    assert applied.exit_code == 0, applied.output
    assert f"+ tenant:{CLINIC}" in applied.stdout and "+ staff:garcia" in applied.stdout
    again = runner.invoke(cli, ["tenant", "apply", str(demo_file)])
    assert again.stdout.strip() == f"{CLINIC}: up to date"

    out = tmp_path / "exported.yaml"
    exported = runner.invoke(cli, ["tenant", "export", CLINIC, "-o", str(out), "--include-secrets"])
    assert exported.exit_code == 0, exported.output
    doc = load_tenant_file(out)
    assert {c.name: c.secret for c in doc.channels}["telefono"] == "tok-from-env"

    plain = runner.invoke(cli, ["tenant", "export", CLINIC])
    assert plain.exit_code == 0
    assert "secret:" not in plain.stdout and "secret_env: SONRISA_TWILIO_AUTH_TOKEN" in plain.stdout


def test_hooks_lists_each_channel_and_its_webhook_url(
    database: Database, tmp_path: Path, demo_file: Path
) -> None:
    runner = runner_for(database, tmp_path)
    assert runner.invoke(cli, ["tenant", "apply", str(demo_file)]).exit_code == 0
    result = runner.invoke(cli, ["tenant", "hooks", CLINIC])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines()}
    assert lines["simulator"][1:4] == ["multi", "simulator", "enabled"]
    assert lines["telefono"][1:4] == ["voice", "twilio", "disabled"]
    assert lines["telefono"][4].startswith("http://127.0.0.1:8000/hooks/chn_")
    missing = runner.invoke(cli, ["tenant", "hooks", "nobody"])
    assert missing.exit_code == 1 and "not found" in missing.stderr


def test_apply_refuses_an_invalid_file(database: Database, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ntenant: {slug: x, name: X, timezone: UTC}\nhours: 9\n")
    result = runner_for(database, tmp_path).invoke(cli, ["tenant", "apply", str(bad)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{bad}:3:8: hours: ")


def test_settings_may_come_from_the_env_file(
    database: Database, tmp_path: Path, demo_file: Path
) -> None:
    env_file = tmp_path / "centralita.env"
    env_file.write_text(f"CENTRALITA_DATABASE_URL={database.url}\n", encoding="utf-8")
    runner = CliRunner(env={"CENTRALITA_ENV_FILE": None, "CENTRALITA_DATABASE_URL": None})  # type: ignore[dict-item]
    args = ["--env-file", str(env_file), "tenant"]
    assert runner.invoke(cli, [*args, "apply", str(demo_file)]).exit_code == 0
    exported = runner.invoke(cli, [*args, "export", CLINIC])
    assert exported.exit_code == 0 and f"slug: {CLINIC}" in exported.stdout


def test_an_unmigrated_database_is_one_readable_error(tmp_path: Path, demo_file: Path) -> None:
    runner = CliRunner(
        env={
            "CENTRALITA_ENV_FILE": None,  # type: ignore[dict-item]
            "CENTRALITA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}",
        }
    )
    result = runner.invoke(cli, ["tenant", "apply", str(demo_file)])
    assert result.exit_code == 1
    assert "Is the database migrated" in result.stderr
