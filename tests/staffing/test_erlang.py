"""Erlang B / C / A calculators: published values, exact references, stability and validation."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from decimal import Decimal, localcontext
from fractions import Fraction

import pytest

from centralita.staffing.erlang import (
    ErlangAResult,
    ErlangCResult,
    StaffingResult,
    agents_needed,
    agents_needed_erlang_a,
    asa,
    erlang_a_metrics,
    erlang_b,
    erlang_c,
    erlang_c_metrics,
    occupancy,
    offered_traffic,
    rostered_staff,
    service_level,
)

TOL = 1e-4
ASA_TOL = 0.005

# Published example 1: 100 calls per 30 minutes, AHT 3 minutes (10 Erlangs), 80% in 20 s.
CALLS_1, INTERVAL_1, AHT_1, THRESHOLD_1 = 100.0, 1800.0, 180.0, 20.0
PATIENCE_1 = 300.0


# --------------------------------------------------------------------------------------------
# Independent high-precision references
# --------------------------------------------------------------------------------------------


def exact_erlang_b(agents: int, traffic: int) -> Fraction:
    """Textbook Erlang B, ``(A^N/N!) / sum_k A^k/k!``, in exact integer arithmetic."""
    # Multiply through by N!: A^k * N!/k! are integers.
    terms = []
    falling = 1  # N!/k! for k = N, N-1, ..., 0
    for k in range(agents, -1, -1):
        terms.append(traffic**k * falling)
        falling *= k if k else 1
    return Fraction(terms[0], sum(terms))


def exact_erlang_c(agents: int, traffic: int) -> Fraction:
    """Textbook Erlang C with factorials and powers, exactly:

    ``C = (A^N/N! * N/(N-A)) / (sum_{k<N} A^k/k! + A^N/N! * N/(N-A))``.
    """
    below = 0
    falling = 1  # N!/k!
    for k in range(agents, 0, -1):
        falling *= k
        below += traffic ** (k - 1) * falling
    # below = sum_{k<N} A^k N!/k!  (loop index shifted by one)
    top = traffic**agents * agents
    return Fraction(top, (agents - traffic) * below + top)


def reference_erlang_a(
    agents: int,
    traffic: Decimal,
    aht: Decimal,
    patience: Decimal,
    thresholds: Sequence[Decimal],
    queue_states: int,
) -> dict[str, Decimal]:
    """M/M/N+M by brute force in 80-digit decimals.

    The stationary law is the birth-death chain itself, truncated after ``queue_states``
    queued callers. A caller who finds k queued waits V_k, a sum of exponentials with rates
    ``r_j = (N + j*g)/AHT``; its distribution uses the textbook hypoexponential partial
    fractions ``P(V > t) = sum_j prod_{i!=j} r_i/(r_i - r_j) * exp(-r_j t)`` (cancellation is
    harmless at 80 digits), not the incomplete beta form the module uses. Returns
    ``service_level_<i>`` for the i-th threshold.
    """
    with localcontext() as ctx:
        ctx.prec = 80
        g = aht / patience
        theta = 1 / patience
        weights: list[Decimal] = []
        w = Decimal(1)
        for n in range(agents + 1):
            if n:
                w = w * traffic / n
            weights.append(w)
        for k in range(1, queue_states):
            w = w * traffic / (agents + k * g)
            weights.append(w)
        total = sum(weights, Decimal(0))
        queue = [x / total for x in weights[agents:]]
        p_wait = sum(queue, Decimal(0))
        p_abandon = g * sum((k * q for k, q in enumerate(queue)), Decimal(0)) / traffic
        result = {"p_wait": p_wait, "p_abandon": p_abandon}
        if not thresholds:
            return result

        answered_in_time = [Decimal(0) for _ in thresholds]
        answered_wait = Decimal(0)
        for k, q in enumerate(queue):
            rates = [(agents + j * g) / aht for j in range(k + 1)]
            for j, r in enumerate(rates):
                coef = Decimal(1)
                for i, other in enumerate(rates):
                    if i != j:
                        coef *= other / (other - r)
                # V has density sum_j coef_j * r_j * exp(-r_j s); weight it by exp(-theta s)
                # (the caller's own patience outlasts s).
                rr = r + theta
                for m, t in enumerate(thresholds):
                    answered_in_time[m] += q * coef * r / rr * (1 - (-rr * t).exp())
                answered_wait += q * coef * r / (rr * rr)
        for m, extra in enumerate(answered_in_time):
            result[f"service_level_{m}"] = (1 - p_wait) + extra
        result["asa"] = answered_wait / (1 - p_abandon)
        return result


# --------------------------------------------------------------------------------------------
# Published values
# --------------------------------------------------------------------------------------------


def test_published_example_one_metrics() -> None:
    result = erlang_c_metrics(14, CALLS_1, INTERVAL_1, AHT_1, THRESHOLD_1)
    assert result.traffic == pytest.approx(10.0)
    assert result.p_wait == pytest.approx(0.1741, abs=TOL)
    assert result.service_level == pytest.approx(0.8884, abs=TOL)
    assert result.asa_seconds == pytest.approx(7.84, abs=ASA_TOL)
    assert result.occupancy == pytest.approx(10 / 14)


def test_published_example_one_staffing_with_shrinkage() -> None:
    staffing = agents_needed(CALLS_1, INTERVAL_1, AHT_1, 0.8, THRESHOLD_1, shrinkage=0.3)
    assert isinstance(staffing, StaffingResult)
    assert staffing.agents == staffing.metrics.agents == 14
    assert staffing.metrics.p_wait == pytest.approx(0.1741, abs=TOL)
    assert staffing.metrics.service_level == pytest.approx(0.8884, abs=TOL)
    assert staffing.metrics.asa_seconds == pytest.approx(7.84, abs=ASA_TOL)
    assert staffing.shrinkage == 0.3
    assert staffing.rostered == 20
    # 13 agents would miss the target: 14 is the smallest.
    assert erlang_c_metrics(13, CALLS_1, INTERVAL_1, AHT_1, THRESHOLD_1).service_level < 0.8


def test_published_example_two() -> None:
    staffing = agents_needed(250, 3600, 330, 0.8, 30)
    assert staffing.agents == 28
    assert staffing.rostered == 28
    assert staffing.metrics.service_level >= 0.8
    assert erlang_c_metrics(27, 250, 3600, 330, 30).service_level < 0.8


def test_published_erlang_a_example() -> None:
    result = erlang_a_metrics(14, CALLS_1, INTERVAL_1, AHT_1, PATIENCE_1, THRESHOLD_1)
    assert isinstance(result, ErlangAResult)
    assert result.traffic == pytest.approx(10.0)
    assert result.p_wait == pytest.approx(0.14526, abs=TOL)
    assert result.p_abandon == pytest.approx(0.013984, abs=TOL)
    assert result.service_level == pytest.approx(0.916792, abs=TOL)
    # Tighter than the published rounding: these are the exact model values.
    assert result.p_wait == pytest.approx(0.1452601143, abs=1e-9)
    assert result.p_abandon == pytest.approx(0.0139837441, abs=1e-9)
    assert result.service_level == pytest.approx(0.9167920919, abs=1e-9)
    assert result.occupancy == pytest.approx(10 * (1 - result.p_abandon) / 14)


# --------------------------------------------------------------------------------------------
# Erlang B / C against exact references
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("agents", "traffic"), [(1, 0), (5, 3), (14, 10), (30, 22), (150, 140)])
def test_erlang_b_matches_exact_factorial_formula(agents: int, traffic: int) -> None:
    assert erlang_b(agents, traffic) == pytest.approx(
        float(exact_erlang_b(agents, traffic)), rel=1e-12, abs=1e-300
    )


@pytest.mark.parametrize(
    ("agents", "traffic"), [(1, 0), (2, 1), (14, 10), (150, 140), (1000, 950), (1000, 999)]
)
def test_erlang_c_matches_exact_factorial_formula(agents: int, traffic: int) -> None:
    assert erlang_c(agents, traffic) == pytest.approx(
        float(exact_erlang_c(agents, traffic)), rel=1e-11, abs=1e-300
    )


def test_erlang_b_edge_cases() -> None:
    assert erlang_b(0, 5.0) == 1.0
    assert erlang_b(10, 0.0) == 0.0
    assert erlang_c(10, 0.0) == 0.0


def test_single_agent_is_mm1() -> None:
    # M/M/1: P(wait) = rho, ASA = rho/(1-rho) * AHT, SL = 1 - rho*exp(-(1-rho) t/AHT).
    assert erlang_c(1, 0.6) == pytest.approx(0.6)
    assert asa(1, 0.6, 100.0) == pytest.approx(150.0)
    assert service_level(1, 0.6, 100.0, 50.0) == pytest.approx(1 - 0.6 * math.exp(-0.2))


def test_standalone_functions_agree_with_metrics() -> None:
    result = erlang_c_metrics(14, CALLS_1, INTERVAL_1, AHT_1, THRESHOLD_1)
    assert isinstance(result, ErlangCResult)
    assert erlang_c(14, 10.0) == result.p_wait
    assert service_level(14, 10.0, AHT_1, THRESHOLD_1) == result.service_level
    assert asa(14, 10.0, AHT_1) == result.asa_seconds
    assert occupancy(14, 10.0) == result.occupancy
    assert offered_traffic(CALLS_1, INTERVAL_1, AHT_1) == 10.0
    assert service_level(14, 10.0, AHT_1, 0.0) == pytest.approx(1 - result.p_wait)


# --------------------------------------------------------------------------------------------
# Stability and monotonicity
# --------------------------------------------------------------------------------------------


def test_erlang_c_is_stable_at_a_thousand_agents() -> None:
    for traffic in (10.0, 500.0, 950.0, 999.0, 999.999):
        p_wait = erlang_c(1000, traffic)
        assert math.isfinite(p_wait)
        assert 0.0 <= p_wait <= 1.0
        sl = service_level(1000, traffic, 180.0, 20.0)
        assert math.isfinite(sl)
        assert 0.0 <= sl <= 1.0
        assert math.isfinite(asa(1000, traffic, 180.0))
    assert 0.0 < erlang_b(1000, 950.0) < erlang_c(1000, 950.0) < 1.0
    # Ten thousand agents still work (and the recursion does not overflow).
    assert 0.0 < erlang_c(10000, 9900.0) < 1.0


def test_erlang_a_is_stable_at_a_thousand_agents() -> None:
    # 1000 agents; 950, 1000 and 1100 Erlangs (the last two overloaded, fine for Erlang A).
    for calls in (5.0, 500.0, 950.0, 1000.0, 1100.0, 2000.0):
        result = erlang_a_metrics(1000, calls, 180.0, 180.0, 300.0, 20.0)
        for value in (result.p_wait, result.p_abandon, result.service_level, result.occupancy):
            assert math.isfinite(value)
            assert 0.0 <= value <= 1.0
        assert math.isfinite(result.asa_seconds)
        assert result.asa_seconds >= 0.0
        assert result.service_level <= 1.0 - result.p_abandon + 1e-12


def test_erlang_a_matches_high_precision_reference_at_scale() -> None:
    for agents, traffic, queue_states in ((150, 140, 800), (1000, 950, 1500), (1000, 1050, 2500)):
        ref = reference_erlang_a(
            agents, Decimal(traffic), Decimal(180), Decimal(300), (), queue_states
        )
        result = erlang_a_metrics(agents, traffic, 180.0, 180.0, 300.0, 20.0)
        assert result.p_wait == pytest.approx(float(ref["p_wait"]), rel=1e-10)
        assert result.p_abandon == pytest.approx(float(ref["p_abandon"]), rel=1e-10)


def test_erlang_a_matches_high_precision_reference_small() -> None:
    # 10 Erlangs (100 calls / 1800 s at 180 s), patience 300 s.
    thresholds = (0, 20, 60, 600)
    for agents in (8, 10, 14):
        ref = reference_erlang_a(
            agents, Decimal(10), Decimal(180), Decimal(300), [Decimal(t) for t in thresholds], 60
        )
        for m, threshold in enumerate(thresholds):
            result = erlang_a_metrics(agents, 100.0, 1800.0, 180.0, 300.0, threshold)
            assert result.p_wait == pytest.approx(float(ref["p_wait"]), abs=1e-12)
            assert result.p_abandon == pytest.approx(float(ref["p_abandon"]), abs=1e-12)
            assert result.service_level == pytest.approx(
                float(ref[f"service_level_{m}"]), abs=1e-12
            )
            assert result.asa_seconds == pytest.approx(float(ref["asa"]), rel=1e-10)


def test_erlang_c_is_monotone_in_agents() -> None:
    traffic = 95.0
    previous = erlang_c_metrics(96, traffic, 1.0, 1.0, 0.5)
    for agents in range(97, 125):
        current = erlang_c_metrics(agents, traffic, 1.0, 1.0, 0.5)
        assert current.p_wait < previous.p_wait
        assert current.service_level > previous.service_level
        assert current.asa_seconds < previous.asa_seconds
        assert current.occupancy < previous.occupancy
        previous = current


def test_erlang_a_is_monotone_in_agents() -> None:
    previous = erlang_a_metrics(1, CALLS_1, INTERVAL_1, AHT_1, PATIENCE_1, THRESHOLD_1)
    for agents in range(2, 30):
        current = erlang_a_metrics(agents, CALLS_1, INTERVAL_1, AHT_1, PATIENCE_1, THRESHOLD_1)
        assert current.p_wait < previous.p_wait
        assert current.p_abandon < previous.p_abandon
        assert current.service_level > previous.service_level
        assert current.asa_seconds < previous.asa_seconds
        previous = current


# --------------------------------------------------------------------------------------------
# Erlang A limits
# --------------------------------------------------------------------------------------------


def test_erlang_a_with_very_patient_callers_tends_to_erlang_c() -> None:
    a = erlang_a_metrics(14, CALLS_1, INTERVAL_1, AHT_1, 1e9, THRESHOLD_1)
    c = erlang_c_metrics(14, CALLS_1, INTERVAL_1, AHT_1, THRESHOLD_1)
    assert a.p_wait == pytest.approx(c.p_wait, rel=1e-6)
    assert a.service_level == pytest.approx(c.service_level, rel=1e-6)
    assert a.asa_seconds == pytest.approx(c.asa_seconds, rel=1e-6)
    assert a.p_abandon < 1e-7


def test_erlang_a_service_level_limits() -> None:
    at_zero = erlang_a_metrics(14, CALLS_1, INTERVAL_1, AHT_1, PATIENCE_1, 0.0)
    assert at_zero.service_level == pytest.approx(1.0 - at_zero.p_wait, abs=1e-15)
    forever = erlang_a_metrics(14, CALLS_1, INTERVAL_1, AHT_1, PATIENCE_1, 1e9)
    assert forever.service_level == pytest.approx(1.0 - forever.p_abandon, abs=1e-12)
    # By Little's law the mean wait over all arrivals is p_abandon * patience; the answered
    # calls' share of it, P(answered) * ASA, is strictly smaller (abandoners waited too).
    assert forever.asa_seconds < forever.p_abandon * PATIENCE_1 / (1 - forever.p_abandon)


def test_erlang_a_zero_calls() -> None:
    result = erlang_a_metrics(3, 0.0, 1800.0, 180.0, 300.0, 20.0)
    assert result == ErlangAResult(3, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0)


# --------------------------------------------------------------------------------------------
# Staffing searches
# --------------------------------------------------------------------------------------------


def test_agents_needed_is_minimal_across_loads() -> None:
    for calls in (1.0, 17.0, 250.0, 1800.0, 9500.0):
        staffing = agents_needed(calls, 1800.0, 180.0, 0.9, 15.0)
        n = staffing.agents
        assert n > staffing.metrics.traffic
        assert staffing.metrics == erlang_c_metrics(n, calls, 1800.0, 180.0, 15.0)
        assert staffing.metrics.service_level >= 0.9
        if n - 1 > staffing.metrics.traffic:
            assert erlang_c_metrics(n - 1, calls, 1800.0, 180.0, 15.0).service_level < 0.9


def test_agents_needed_impossible_target_hits_max_agents() -> None:
    with pytest.raises(ValueError, match="max_agents=15"):
        agents_needed(CALLS_1, INTERVAL_1, AHT_1, 0.999, THRESHOLD_1, max_agents=15)
    # Traffic alone already exceeds max_agents.
    with pytest.raises(ValueError, match="max_agents=10"):
        agents_needed(1000, 1800, 180, 0.8, 20, max_agents=10)


def test_agents_needed_erlang_a() -> None:
    staffing = agents_needed_erlang_a(
        CALLS_1, INTERVAL_1, AHT_1, PATIENCE_1, 0.8, THRESHOLD_1, shrinkage=0.3
    )
    n = staffing.agents
    assert isinstance(staffing.metrics, ErlangAResult)
    assert staffing.metrics.service_level >= 0.8
    assert (
        erlang_a_metrics(n - 1, CALLS_1, INTERVAL_1, AHT_1, PATIENCE_1, THRESHOLD_1).service_level
        < 0.8
    )
    # Abandonment relieves the queue: never more agents than Erlang C asks for.
    assert n <= agents_needed(CALLS_1, INTERVAL_1, AHT_1, 0.8, THRESHOLD_1).agents
    assert staffing.rostered == rostered_staff(n, 0.3)


def test_agents_needed_erlang_a_may_staff_below_traffic() -> None:
    # Impatient callers (mean patience 10 s) and a loose target: fewer agents than Erlangs.
    staffing = agents_needed_erlang_a(950, 180, 180, 10, 0.5, 60)
    assert staffing.agents < staffing.metrics.traffic
    assert staffing.metrics.service_level >= 0.5
    assert erlang_a_metrics(staffing.agents - 1, 950, 180, 180, 10, 60).service_level < 0.5


def test_agents_needed_erlang_a_impossible_target() -> None:
    with pytest.raises(ValueError, match="max_agents=12"):
        agents_needed_erlang_a(CALLS_1, INTERVAL_1, AHT_1, PATIENCE_1, 0.95, 20, max_agents=12)


@pytest.mark.parametrize(
    ("agents", "shrinkage", "expected"),
    [(14, 0.0, 14), (14, 0.3, 20), (14, 0.29, 20), (14, 0.31, 21), (0, 0.5, 0), (7, 0.3, 10)],
)
def test_rostered_staff(agents: int, shrinkage: float, expected: int) -> None:
    assert rostered_staff(agents, shrinkage) == expected


def test_results_are_frozen() -> None:
    staffing = agents_needed(CALLS_1, INTERVAL_1, AHT_1, 0.8, THRESHOLD_1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        staffing.rostered = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        staffing.metrics.agents = 1  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("agents", "traffic"), [(10, 10.0), (10, 12.5), (1, 1.0)])
def test_erlang_c_rejects_traffic_at_or_above_agents(agents: int, traffic: float) -> None:
    with pytest.raises(ValueError, match=rf"traffic {traffic:g} Erlangs with {agents} agents"):
        erlang_c(agents, traffic)
    with pytest.raises(ValueError, match="grows without bound"):
        service_level(agents, traffic, 180.0, 20.0)
    with pytest.raises(ValueError, match="traffic < agents"):
        asa(agents, traffic, 180.0)
    with pytest.raises(ValueError, match="traffic < agents"):
        occupancy(agents, traffic)
    with pytest.raises(ValueError, match="traffic < agents"):
        erlang_c_metrics(agents, traffic, 1.0, 1.0, 20.0)


def test_erlang_a_allows_traffic_above_agents() -> None:
    result = erlang_a_metrics(10, 125.0, 1800.0, 180.0, 300.0, 20.0)  # 12.5 Erlangs
    assert result.p_wait > 0.8
    assert result.p_abandon > 0.2
    assert 0.0 < result.occupancy < 1.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: erlang_c(0, 0.5), "agents must be at least 1"),
        (lambda: erlang_c(-3, 0.5), "agents must be at least 1"),
        (lambda: erlang_b(-1, 0.5), "agents must be at least 0"),
        (lambda: erlang_b(3, -0.5), "traffic must not be negative"),
        (lambda: erlang_c(3, -0.5), "traffic must not be negative"),
        (lambda: erlang_c(3, math.nan), "traffic must be a finite number"),
        (lambda: service_level(3, 1.0, 0.0, 20.0), "aht_seconds must be positive"),
        (lambda: service_level(3, 1.0, 180.0, -1.0), "threshold_seconds must not be negative"),
        (lambda: erlang_c_metrics(3, -1.0, 1800.0, 180.0, 20.0), "calls must not be negative"),
        (lambda: erlang_c_metrics(3, 1.0, 0.0, 180.0, 20.0), "interval_seconds must be positive"),
        (lambda: agents_needed(0.0, 1800, 180, 0.8, 20), "calls must be positive"),
        (lambda: agents_needed(100, 1800, 180, 0.0, 20), "target_sl must be strictly between"),
        (lambda: agents_needed(100, 1800, 180, 1.0, 20), "target_sl must be strictly between"),
        (lambda: agents_needed(100, 1800, 180, 0.8, 20, shrinkage=1.0), "shrinkage must be in"),
        (lambda: agents_needed(100, 1800, 180, 0.8, 20, shrinkage=-0.1), "shrinkage must be in"),
        (lambda: agents_needed(100, 1800, 180, 0.8, 20, max_agents=0), "max_agents must be at"),
        (lambda: erlang_a_metrics(0, 100, 1800, 180, 300, 20), "agents must be at least 1"),
        (lambda: erlang_a_metrics(3, 100, 1800, 180, 0, 20), "patience_seconds must be positive"),
        (
            lambda: erlang_a_metrics(3, 100, 1800, 180, math.inf, 20),
            "patience_seconds must be a finite number",
        ),
        (
            lambda: agents_needed_erlang_a(100, 1800, 180, 300, 0.8, 20, shrinkage=1.5),
            "shrinkage must be in",
        ),
        (lambda: rostered_staff(5, 1.0), "shrinkage must be in"),
    ],
)
def test_invalid_inputs_raise_clear_errors(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_non_integer_agents_are_rejected() -> None:
    with pytest.raises(TypeError, match="agents must be an int"):
        erlang_c(14.0, 10.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="agents must be an int"):
        erlang_b(True, 1.0)
