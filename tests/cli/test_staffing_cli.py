"""`centralita staffing` reproduces the published Erlang C and Erlang A figures (issue 6)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from centralita.cli.main import cli


def _run(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["staffing", *args, "--json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output))


def test_the_textbook_load_needs_14_agents_and_20_rostered() -> None:
    found = _run("--calls", "100", "--interval", "1800", "--aht", "180", "--target", "0.8",
                 "--threshold", "20", "--shrinkage", "0.3")  # fmt: skip
    assert found["model"] == "erlang_c" and found["agents"] == 14 and found["rostered"] == 20
    assert found["p_wait"] == pytest.approx(0.1741, abs=1e-4)
    assert found["service_level"] == pytest.approx(0.8884, abs=1e-4)
    assert found["asa_seconds"] == pytest.approx(7.84, abs=5e-3)
    assert found["occupancy"] == pytest.approx(10 / 14, abs=1e-4)


def test_250_calls_an_hour_at_330_seconds_need_28_agents() -> None:
    found = _run("--calls", "250", "--interval", "3600", "--aht", "330", "--target", "0.8",
                 "--threshold", "30")  # fmt: skip
    assert found["agents"] == 28


def test_erlang_a_with_five_minutes_of_patience() -> None:
    found = _run("--calls", "100", "--interval", "1800", "--aht", "180", "--threshold", "20",
                 "--patience", "300", "--agents", "14")  # fmt: skip
    assert found["model"] == "erlang_a"
    assert found["p_wait"] == pytest.approx(0.14526, abs=1e-4)
    assert found["p_abandon"] == pytest.approx(0.013984, abs=1e-4)
    assert found["service_level"] == pytest.approx(0.916792, abs=1e-4)


def test_traffic_above_capacity_and_bad_numbers_are_clear_errors() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["staffing", "--calls", "100", "--aht", "180", "--agents", "9"])
    assert result.exit_code == 2 and "grows without bound" in result.output
    result = runner.invoke(cli, ["staffing", "--calls", "100", "--aht", "180",
                                 "--shrinkage", "1.2"])  # fmt: skip
    assert result.exit_code == 2 and "shrinkage" in result.output
    result = runner.invoke(cli, ["staffing", "--calls", "100", "--aht", "-3"])
    assert result.exit_code == 2


def test_the_human_readable_answer() -> None:
    result = CliRunner().invoke(cli, ["staffing", "--calls", "100", "--aht", "180",
                                      "--shrinkage", "0.3"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "14 agents on the phones, 20 rostered" in result.output
