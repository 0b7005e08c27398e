"""The simulator, with the real engine in the loop, reproduces Erlang C and Erlang A.

Acceptance (issue 5): with 100 calls per 30 minutes, AHT 180 s and 14 agents, the simulated
service level within 20 s is within ±1 percentage point of Erlang C's 0.8884 and the ASA
within ±5% of 7.84 s, over 30 replications of 100,000 calls.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from centralita.cli.main import cli
from centralita.cli.simulate import check, formula, replicate
from centralita.routing.model import Strategy
from centralita.routing.simulate import Scenario, Summary, run, summarize

TEXTBOOK = Scenario(calls=100, interval=1800, aht=180, agents=14, threshold=20, n_calls=100_000)


@pytest.mark.slow
def test_thirty_replications_of_100k_calls_reproduce_erlang_c() -> None:
    summary = summarize(replicate(TEXTBOOK, runs=30, workers=2))
    expected = formula(TEXTBOOK)
    assert expected is not None
    assert expected["service_level"] == pytest.approx(0.8884, abs=1e-4)
    assert expected["asa"] == pytest.approx(7.84, abs=5e-3)
    assert summary.calls == 3_000_000
    assert abs(summary.service_level - 0.8884) <= 0.01
    assert abs(summary.asa - 7.84) / 7.84 <= 0.05
    assert summary.p_wait == pytest.approx(expected["p_wait"], abs=0.01)
    assert summary.occupancy == pytest.approx(10 / 14, abs=0.005)
    verdict = check(summary, expected)
    assert verdict["service_level_ok"] and verdict["asa_ok"]


@pytest.mark.slow
def test_impatient_callers_reproduce_erlang_a() -> None:
    scenario = Scenario(calls=100, interval=1800, aht=180, agents=14, patience=300,
                        n_calls=100_000)  # fmt: skip
    summary = summarize(replicate(scenario, runs=10, workers=2))
    expected = formula(scenario)
    assert expected is not None
    assert expected["service_level"] == pytest.approx(0.916792, abs=1e-6)
    assert abs(summary.service_level - expected["service_level"]) <= 0.01
    assert summary.abandonment == pytest.approx(expected["abandonment"], rel=0.1)
    assert summary.p_wait == pytest.approx(expected["p_wait"], abs=0.01)


def test_the_check_fails_outside_the_bounds() -> None:
    """The validation can fail: a service level 2 pp off, or an ASA 10% off, is outside."""
    expected = {"service_level": 0.8884, "asa": 7.84, "p_wait": 0.17, "occupancy": 0.71,
                "abandonment": 0.0}  # fmt: skip
    good = Summary(
        runs=30, calls=1, asa=7.9, asa_ci=0.1, service_level=0.889, service_level_ci=0.001,
        p_wait=0.17, abandonment=0.0, occupancy=0.71,
    )  # fmt: skip
    assert check(good, expected)["service_level_ok"] and check(good, expected)["asa_ok"]
    low_sl = Summary(**{**good.as_dict(), "service_level": 0.8684})  # type: ignore[arg-type]
    slow = Summary(**{**good.as_dict(), "asa": 8.63})  # type: ignore[arg-type]
    assert not check(low_sl, expected)["service_level_ok"]
    assert not check(slow, expected)["asa_ok"]


def test_the_simulation_is_deterministic_per_seed() -> None:
    small = Scenario(calls=100, interval=1800, aht=180, agents=14, n_calls=3000, seed=5)
    assert run(small).as_dict() == run(small).as_dict()
    other = Scenario(calls=100, interval=1800, aht=180, agents=14, n_calls=3000, seed=6)
    assert run(small).as_dict() != run(other).as_dict()


@pytest.mark.parametrize("strategy", list(Strategy))
def test_every_strategy_serves_every_call(strategy: Strategy) -> None:
    scenario = Scenario(calls=100, interval=1800, aht=180, agents=14, n_calls=2000,
                        strategy=strategy, answer_delay=2.0, wrapup=10.0)  # fmt: skip
    result = run(scenario)
    assert result.answered == result.offered == 2000
    assert 0.6 < result.occupancy < 0.95


def test_offers_and_wrapup_cost_service_level() -> None:
    """Ringing and wrap-up are real time on the agents: the service level must drop."""
    plain = run(Scenario(calls=100, interval=1800, aht=180, agents=14, n_calls=20_000))
    slower = run(Scenario(calls=100, interval=1800, aht=180, agents=14, n_calls=20_000,
                          answer_delay=5.0, wrapup=30.0))  # fmt: skip
    assert slower.service_level < plain.service_level - 0.05


def test_bad_scenarios_are_refused() -> None:
    with pytest.raises(ValueError, match="grow without bound"):
        Scenario(calls=100, interval=1800, aht=180, agents=10)
    with pytest.raises(ValueError, match="agents"):
        Scenario(calls=100, interval=1800, aht=180, agents=0)
    with pytest.raises(ValueError, match="calls"):
        Scenario(calls=0, interval=1800, aht=180, agents=14)


def test_the_command_prints_json_and_refuses_an_unstable_system() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["simulate", "--n-calls", "3000", "--runs", "2", "--workers",
                                 "1", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["simulated"]["calls"] == 6000
    assert report["formula"]["service_level"] == pytest.approx(0.8884, abs=1e-4)
    assert set(report["check"]) == {"service_level_diff", "service_level_ok",
                                    "asa_relative_diff", "asa_ok"}  # fmt: skip
    result = runner.invoke(cli, ["simulate", "--agents", "9"])
    assert result.exit_code == 2
    assert "grow without bound" in result.output
    result = runner.invoke(cli, ["simulate", "--wrapup", "10", "--validate", "--n-calls", "500"])
    assert result.exit_code == 2
    assert "--validate needs" in result.output
