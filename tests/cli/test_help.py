"""Every command and sub-command explains itself."""

from __future__ import annotations

import click
from click.testing import CliRunner

from centralita.cli.main import cli


def _commands(group: click.Group, prefix: list[str]) -> list[list[str]]:
    out = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out += _commands(command, [*prefix, name])
        else:
            out.append([*prefix, name])
    return out


def test_every_command_has_help() -> None:
    runner = CliRunner()
    paths = _commands(cli, [])
    names = {" ".join(p) for p in paths}
    for expected in (
        "demo",
        "serve",
        "worker",
        "db upgrade",
        "tenant validate",
        "tenant apply",
        "tenant export",
        "tenant schema",
        "user create",
        "contacts import",
        "contacts export",
    ):
        assert expected in names, f"missing command: {expected}"
    for path in paths:
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        help_text = result.output.split("Options:")[0]
        assert len(help_text.strip().splitlines()) >= 3, f"{path}: help says too little"


def test_serve_refuses_to_start_without_a_secret_key(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"CENTRALITA_DATA_DIR": str(tmp_path), "CENTRALITA_SECRET_KEY": ""}
    result = CliRunner().invoke(cli, ["serve"], env=env)
    assert result.exit_code != 0
    assert "CENTRALITA_SECRET_KEY is required" in result.output
