"""Erlang B, Erlang C and Erlang A staffing calculators.

Pure functions of plain numbers: standard library only (``math`` and ``fractions``), no I/O.
Times are in seconds; traffic is in Erlangs (offered load ``A = calls * AHT / interval``).

Numerical stability
-------------------
Nothing here evaluates ``A**N`` or ``N!``; those overflow a float long before 1,000 agents.

* Erlang B uses the classic recursion ``B(0) = 1``, ``B(n) = A*B(n-1) / (n + A*B(n-1))``. Every
  step is a ratio of positive numbers in ``[0, 1]``, so it is stable for any ``N`` and ``A``
  (very small values underflow gracefully to ``0.0``, which is then also the right answer).
* Erlang C is derived from Erlang B: ``C = N*B / (N - A*(1 - B))``.
* Erlang A (M/M/N+M) sums its birth-death chain in log space, relative to the state in which all
  agents are busy, and obtains the waiting-time probabilities from a closed form whose terms are
  all positive (see ``erlang_a_metrics``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Generic, TypeVar

__all__ = [
    "ErlangAResult",
    "ErlangCResult",
    "StaffingResult",
    "agents_needed",
    "agents_needed_erlang_a",
    "asa",
    "erlang_a_metrics",
    "erlang_b",
    "erlang_c",
    "erlang_c_metrics",
    "occupancy",
    "offered_traffic",
    "rostered_staff",
    "service_level",
]

# The Erlang A queue sum stops once a bound on everything left is below e**-45 (about 3e-20)
# of the largest term already summed: far below double precision.
_LOG_TAIL_CUTOFF = -45.0


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErlangCResult:
    """Erlang C (M/M/N, infinitely patient callers) performance of one staffing level.

    ``p_wait`` is the probability that a caller waits at all, ``service_level`` the fraction
    answered within the threshold, ``asa_seconds`` the mean wait over all callers (average
    speed of answer) and ``occupancy`` the fraction of agent time spent on calls.
    """

    agents: int
    traffic: float
    p_wait: float
    service_level: float
    asa_seconds: float
    occupancy: float


@dataclass(frozen=True)
class ErlangAResult:
    """Erlang A (M/M/N+M, exponentially patient callers) performance of one staffing level.

    ``p_wait``: probability an arriving caller finds every agent busy. ``p_abandon``: fraction
    of arrivals who hang up before being answered. ``service_level``: fraction of *all*
    arrivals answered within the threshold (abandoned calls count as failures).
    ``asa_seconds``: mean wait of the calls that are answered. ``occupancy``: carried traffic
    per agent, ``A * (1 - p_abandon) / N``.
    """

    agents: int
    traffic: float
    p_wait: float
    p_abandon: float
    service_level: float
    asa_seconds: float
    occupancy: float


MetricsT = TypeVar("MetricsT", ErlangCResult, ErlangAResult)


@dataclass(frozen=True)
class StaffingResult(Generic[MetricsT]):
    """The agents a target needs, with the staff to roster once shrinkage is allowed for.

    ``metrics.agents`` agents must be on the phones; ``rostered = ceil(agents / (1 -
    shrinkage))`` people must be scheduled so that, after breaks, training, absence and other
    shrinkage, that many are actually available.
    """

    metrics: MetricsT
    shrinkage: float
    rostered: int

    @property
    def agents(self) -> int:
        """Agents needed on the phones (before shrinkage)."""
        return self.metrics.agents


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _check_int(name: str, value: int, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


def _check_finite(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")


def _check_positive(name: str, value: float) -> None:
    _check_finite(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")


def _check_non_negative(name: str, value: float) -> None:
    _check_finite(name, value)
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}")


def _check_stable(agents: int, traffic: float) -> None:
    if traffic >= agents:
        raise ValueError(
            f"Erlang C needs traffic < agents: traffic {traffic:g} Erlangs with {agents} agents "
            f"means the queue grows without bound (add agents or use Erlang A, which models "
            f"abandonment)"
        )


def _check_erlang_c_inputs(agents: int, traffic: float) -> None:
    _check_int("agents", agents, minimum=1)
    _check_non_negative("traffic", traffic)
    _check_stable(agents, traffic)


def _check_staffing_inputs(target_sl: float, shrinkage: float, max_agents: int) -> None:
    _check_finite("target_sl", target_sl)
    if not 0 < target_sl < 1:
        raise ValueError(f"target_sl must be strictly between 0 and 1, got {target_sl!r}")
    _check_shrinkage(shrinkage)
    _check_int("max_agents", max_agents, minimum=1)


def _check_shrinkage(shrinkage: float) -> None:
    _check_finite("shrinkage", shrinkage)
    if not 0 <= shrinkage < 1:
        raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage!r}")


# --------------------------------------------------------------------------------------------
# Erlang B and Erlang C
# --------------------------------------------------------------------------------------------


def offered_traffic(calls: float, interval_seconds: float, aht_seconds: float) -> float:
    """Offered traffic in Erlangs: ``A = calls * AHT / interval`` (calls arriving per interval).

    Raises ``ValueError`` for negative calls or a non-positive interval or AHT.
    """
    _check_non_negative("calls", calls)
    _check_positive("interval_seconds", interval_seconds)
    _check_positive("aht_seconds", aht_seconds)
    return calls * aht_seconds / interval_seconds


def _erlang_b_step(n: int, traffic: float, previous: float) -> float:
    """One step of the Erlang B recursion: ``B(n)`` from ``B(n - 1)``."""
    carried = traffic * previous
    return carried / (n + carried)


def _erlang_c_from_b(agents: int, traffic: float, blocking: float) -> float:
    """Erlang C from Erlang B with the same agents and traffic: ``N*B / (N - A*(1 - B))``."""
    return agents * blocking / (agents - traffic * (1.0 - blocking))


def erlang_b(agents: int, traffic: float) -> float:
    """Erlang B blocking probability of an M/M/N/N loss system (blocked calls are cleared).

    Uses the stable recursion ``B(0) = 1``, ``B(n) = A*B(n-1) / (n + A*B(n-1))``, never
    factorials or powers, so it is accurate for thousands of agents. ``agents`` may be 0
    (everything is blocked); ``traffic`` must be a finite number ``>= 0``.
    """
    _check_int("agents", agents, minimum=0)
    _check_non_negative("traffic", traffic)
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = _erlang_b_step(n, traffic, blocking)
    return blocking


def erlang_c(agents: int, traffic: float) -> float:
    """Erlang C: probability that a caller waits at all (``P(wait > 0)``) in an M/M/N queue.

    Derived from Erlang B as ``C = N*B / (N - A*(1 - B))``, which is stable for thousands of
    agents. Raises ``ValueError`` if ``agents < 1``, ``traffic < 0`` or ``traffic >= agents``
    (then the queue grows without bound and there is no steady state).
    """
    _check_erlang_c_inputs(agents, traffic)
    return _erlang_c_from_b(agents, traffic, erlang_b(agents, traffic))


def _service_level_from_c(
    agents: int, traffic: float, p_wait: float, aht_seconds: float, threshold_seconds: float
) -> float:
    return 1.0 - p_wait * math.exp(-(agents - traffic) * threshold_seconds / aht_seconds)


def _asa_from_c(agents: int, traffic: float, p_wait: float, aht_seconds: float) -> float:
    return p_wait * aht_seconds / (agents - traffic)


def service_level(
    agents: int, traffic: float, aht_seconds: float, threshold_seconds: float
) -> float:
    """Erlang C service level: fraction of calls answered within ``threshold_seconds``.

    ``SL = 1 - C * exp(-(N - A) * t / AHT)`` where ``C`` is ``erlang_c(N, A)`` (M/M/N, FCFS,
    infinitely patient callers).
    """
    _check_erlang_c_inputs(agents, traffic)
    _check_positive("aht_seconds", aht_seconds)
    _check_non_negative("threshold_seconds", threshold_seconds)
    p_wait = erlang_c(agents, traffic)
    return _service_level_from_c(agents, traffic, p_wait, aht_seconds, threshold_seconds)


def asa(agents: int, traffic: float, aht_seconds: float) -> float:
    """Erlang C average speed of answer in seconds: ``ASA = C * AHT / (N - A)``.

    This is the mean wait over all callers, including those answered at once.
    """
    _check_erlang_c_inputs(agents, traffic)
    _check_positive("aht_seconds", aht_seconds)
    return _asa_from_c(agents, traffic, erlang_c(agents, traffic), aht_seconds)


def occupancy(agents: int, traffic: float) -> float:
    """Erlang C agent occupancy: ``A / N`` (every offered call is eventually carried)."""
    _check_erlang_c_inputs(agents, traffic)
    return traffic / agents


def _erlang_c_result(
    agents: int,
    traffic: float,
    blocking: float,
    aht_seconds: float,
    threshold_seconds: float,
) -> ErlangCResult:
    p_wait = _erlang_c_from_b(agents, traffic, blocking)
    return ErlangCResult(
        agents=agents,
        traffic=traffic,
        p_wait=p_wait,
        service_level=_service_level_from_c(
            agents, traffic, p_wait, aht_seconds, threshold_seconds
        ),
        asa_seconds=_asa_from_c(agents, traffic, p_wait, aht_seconds),
        occupancy=traffic / agents,
    )


def erlang_c_metrics(
    agents: int,
    calls: float,
    interval_seconds: float,
    aht_seconds: float,
    threshold_seconds: float,
) -> ErlangCResult:
    """All Erlang C (M/M/N) figures for ``agents`` agents facing ``calls`` calls per interval.

    Traffic is ``A = calls * AHT / interval``; see ``erlang_c``, ``service_level``, ``asa`` and
    ``occupancy`` for the formulas. Raises ``ValueError`` if ``A >= agents``.
    """
    traffic = offered_traffic(calls, interval_seconds, aht_seconds)
    _check_erlang_c_inputs(agents, traffic)
    _check_non_negative("threshold_seconds", threshold_seconds)
    return _erlang_c_result(
        agents, traffic, erlang_b(agents, traffic), aht_seconds, threshold_seconds
    )


def rostered_staff(agents: int, shrinkage: float) -> int:
    """Staff to roster so that ``agents`` remain after shrinkage: ``ceil(N / (1 - shrinkage))``.

    The division is done exactly on the decimal value of ``shrinkage`` (``0.3`` is 3/10), so
    binary rounding can never push an exact result such as ``14 / 0.7 = 20`` up to 21.
    """
    _check_int("agents", agents, minimum=0)
    _check_shrinkage(shrinkage)
    return math.ceil(Fraction(agents) / (1 - Fraction(repr(float(shrinkage)))))


def agents_needed(
    calls: float,
    interval_seconds: float,
    aht_seconds: float,
    target_sl: float,
    threshold_seconds: float,
    *,
    shrinkage: float = 0.0,
    max_agents: int = 10000,
) -> StaffingResult[ErlangCResult]:
    """Smallest Erlang C staffing ``N > A`` whose service level reaches ``target_sl``.

    Service level is the Erlang C one (see ``service_level``). The search walks ``N`` upward
    from ``floor(A) + 1``, advancing the Erlang B recursion one agent at a time, so it costs
    ``O(N)`` in total. ``rostered`` adds shrinkage (see ``rostered_staff``).

    Raises ``ValueError`` for invalid inputs (``calls``, ``interval_seconds`` and
    ``aht_seconds`` must be positive, ``target_sl`` in ``(0, 1)``, ``shrinkage`` in ``[0, 1)``)
    and when no ``N <= max_agents`` reaches the target.
    """
    _check_positive("calls", calls)
    _check_non_negative("threshold_seconds", threshold_seconds)
    _check_staffing_inputs(target_sl, shrinkage, max_agents)
    traffic = offered_traffic(calls, interval_seconds, aht_seconds)

    agents = math.floor(traffic) + 1
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = _erlang_b_step(n, traffic, blocking)
    while agents <= max_agents:
        result = _erlang_c_result(agents, traffic, blocking, aht_seconds, threshold_seconds)
        if result.service_level >= target_sl:
            return StaffingResult(
                metrics=result,
                shrinkage=shrinkage,
                rostered=rostered_staff(agents, shrinkage),
            )
        agents += 1
        blocking = _erlang_b_step(agents, traffic, blocking)
    raise ValueError(
        f"no staffing up to max_agents={max_agents} reaches a service level of {target_sl:g} "
        f"within {threshold_seconds:g} s for traffic {traffic:g} Erlangs; raise max_agents "
        f"or lower the target"
    )


# --------------------------------------------------------------------------------------------
# Erlang A (M/M/N+M)
# --------------------------------------------------------------------------------------------


def _log_add(a: float, b: float) -> float:
    """``log(exp(a) + exp(b))`` without overflow."""
    if a < b:
        a, b = b, a
    if b == -math.inf:
        return a
    return a + math.log1p(math.exp(b - a))


def _log_inverse_erlang_b(agents: int, traffic: float) -> float:
    """``log(1 / B(N, A))`` by the Erlang B recursion carried out in log space.

    ``1/B(n) = 1 + (n / A) / B(n - 1)``; in logs each step is a softplus, so neither underflow
    (tiny ``B`` when ``A << N``) nor overflow can occur.
    """
    log_traffic = math.log(traffic)
    log_inv = 0.0
    for n in range(1, agents + 1):
        z = math.log(n) - log_traffic + log_inv
        log_inv = z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))
    return log_inv


def _erlang_a(
    agents: int,
    traffic: float,
    aht_seconds: float,
    patience_seconds: float,
    threshold_seconds: float,
) -> ErlangAResult:
    """Core of ``erlang_a_metrics`` on already validated inputs (see there for the method)."""
    if traffic == 0:
        return ErlangAResult(
            agents=agents,
            traffic=0.0,
            p_wait=0.0,
            p_abandon=0.0,
            service_level=1.0,
            asa_seconds=0.0,
            occupancy=0.0,
        )
    n = float(agents)
    g = aht_seconds / patience_seconds  # abandonment rate / service rate, theta / mu
    log_traffic = math.log(traffic)

    # Stationary law relative to pi_N (all agents busy, nobody queued), in logs.
    # States below N: sum_{n<N} pi_n / pi_N = 1/B(N, A) - 1 = (N / A) / B(N - 1, A).
    log_below = math.log(n) - log_traffic + _log_inverse_erlang_b(agents - 1, traffic)
    # States N + k: pi_{N+k} / pi_N = prod_{i=1..k} A / (N + i*g).
    log_queue: list[float] = [0.0]
    log_queue_total = 0.0
    log_max = 0.0
    k = 0
    while True:
        ratio = traffic / (n + (k + 1) * g)  # pi_{N+k+1} / pi_{N+k}, decreasing in k
        if ratio < 1.0:
            # Every later ratio is <= ratio, so the rest of sum_j (j + 1) * pi_{N+j} is at
            # most pi_{N+k} * (k + 2) / (1 - ratio)**2.
            log_tail = log_queue[k] + math.log(k + 2) - 2.0 * math.log1p(-ratio)
            if log_tail < log_max + _LOG_TAIL_CUTOFF:
                break
        k += 1
        log_queue.append(log_queue[k - 1] + math.log(ratio))
        log_queue_total = _log_add(log_queue_total, log_queue[k])
        log_max = max(log_max, log_queue[k])
    log_total = _log_add(log_below, log_queue_total)

    # Waiting time. A caller who finds k others queued is answered after V_k, the sum of
    # independent exponentials with rates (N + j*g) / AHT, j = 0..k (the head of the queue is
    # served at N/AHT; everyone ahead may abandon at 1/patience). It is answered iff its own
    # patience outlasts V_k, so with theta = 1/patience:
    #   P(answered)             = E[exp(-theta V_k)]      = N / (N + (k + 1) g)
    #   P(answered within t)    = E[exp(-theta V_k); V_k <= t]
    #                           = N / (N + (k + 1) g) * P(V'_k <= t)
    #   E[wait; answered]       = N / (N + (k + 1) g) * AHT * sum_{j=1..k+1} 1 / (N + j g)
    # where V'_k is V_k with every rate raised by theta (exponential tilting). The density of a
    # sum of exponentials with rates (a + j*theta) is proportional to
    # exp(-a s) (1 - exp(-theta s))**k, whence P(V'_k > t) = I_y(b, k + 1), the regularised
    # incomplete beta function with y = exp(-t/patience), b = N/g + 1. Increasing k adds the
    # positive term y**b (1 - y)**(k+1) Gamma(b + k + 1) / (Gamma(b) Gamma(k + 2)), so the
    # sequence is summed upward without cancellation, each term in log space.
    b = n / g + 1.0
    t = threshold_seconds
    p_wait = 0.0
    mean_queue = 0.0
    answered_in_time = 0.0
    answered_wait = 0.0  # E[wait; answered], in units of AHT
    harmonic = 0.0  # sum_{j=1..k+1} 1 / (N + j g)
    one_minus_y = -math.expm1(-t / patience_seconds)  # 1 - y, accurate for small t/patience
    log_one_minus_y = math.log(one_minus_y) if one_minus_y > 0 else -math.inf
    log_survival_0 = -b * t / patience_seconds  # log y**b = log P(V'_0 > t)
    log_term = log_survival_0 + log_one_minus_y + math.log(b)  # log of the term for k = 0
    survival = 0.0  # P(V'_k > t)
    for k, log_weight in enumerate(log_queue):
        weight = math.exp(log_weight - log_total)  # pi_{N+k}
        p_answer = n / (n + (k + 1) * g)
        harmonic += 1.0 / (n + (k + 1) * g)
        p_wait += weight
        mean_queue += k * weight
        answered_wait += weight * p_answer * harmonic
        if t > 0:
            if k == 0:
                survival = math.exp(log_survival_0)
            else:
                survival += math.exp(log_term)
                log_term += log_one_minus_y + math.log((b + k) / (k + 1))
            answered_in_time += weight * p_answer * max(0.0, 1.0 - survival)

    p_wait = min(p_wait, 1.0)
    # Little's law on the queue: abandonments per second = theta * E[queue] = lambda * P(ab).
    p_abandon = min(g * mean_queue / traffic, 1.0)
    p_answered = 1.0 - p_abandon
    return ErlangAResult(
        agents=agents,
        traffic=traffic,
        p_wait=p_wait,
        p_abandon=p_abandon,
        service_level=min(1.0, (1.0 - p_wait) + answered_in_time),
        asa_seconds=answered_wait * aht_seconds / p_answered,
        occupancy=traffic * p_answered / agents,
    )


def _check_erlang_a_inputs(agents: int, patience_seconds: float, threshold_seconds: float) -> None:
    _check_int("agents", agents, minimum=1)
    _check_positive("patience_seconds", patience_seconds)
    _check_non_negative("threshold_seconds", threshold_seconds)


def erlang_a_metrics(
    agents: int,
    calls: float,
    interval_seconds: float,
    aht_seconds: float,
    patience_seconds: float,
    threshold_seconds: float,
) -> ErlangAResult:
    """Erlang A (Palm's M/M/N+M) figures: Poisson arrivals, exponential service and patience.

    ``patience_seconds`` is the mean time a caller is willing to wait before hanging up.
    Unlike Erlang C, traffic may equal or exceed the number of agents: abandonment keeps the
    queue finite.

    Definitions (all per arriving caller, FCFS, waiting counted until answer or abandonment):

    * ``p_wait`` = P(all agents busy on arrival).
    * ``p_abandon`` = P(hang up before being answered) = ``E[queue] / (calls per second *
      patience)`` by Little's law.
    * ``service_level`` = P(answered within ``threshold_seconds``) over *all* arrivals, so
      callers who abandon (at any time) count as not served in time. This is the definition
      that reproduces published Erlang A tables (e.g. 100 calls / 30 min, AHT 180 s, patience
      300 s, 14 agents: P(wait) 0.14526, P(abandon) 0.013984, SL(20 s) 0.916792). Note that it
      can never exceed ``1 - p_abandon``.
    * ``asa_seconds`` = mean wait of the calls that are answered. The mean wait over all
      arrivals, abandoned ones included, is ``p_abandon * patience_seconds``.
    * ``occupancy`` = carried traffic per agent, ``A * (1 - p_abandon) / N``.

    Method: the birth-death chain (birth rate lambda; death rate n*mu below N and N*mu + k*theta
    with k callers queued) is summed in log space relative to the all-busy state. States below
    N are collapsed into ``1/B(N, A) - 1`` with the Erlang B recursion done in logs; queued
    states are summed until a bound on the remaining tail drops below ``e**-45`` of the largest
    term. The answered-within-t probability for a caller finding k queued uses the closed form
    ``N / (N + (k+1)*g) * (1 - I_y(N/g + 1, k + 1))`` with ``g = AHT/patience``,
    ``y = exp(-t/patience)`` and ``I`` the regularised incomplete beta function, accumulated
    over k by a recurrence of positive terms. Cost is ``O(N + K)`` where ``K`` is the number of
    queue lengths with non-negligible probability; accurate for thousands of agents.
    """
    traffic = offered_traffic(calls, interval_seconds, aht_seconds)
    _check_erlang_a_inputs(agents, patience_seconds, threshold_seconds)
    return _erlang_a(agents, traffic, aht_seconds, patience_seconds, threshold_seconds)


def agents_needed_erlang_a(
    calls: float,
    interval_seconds: float,
    aht_seconds: float,
    patience_seconds: float,
    target_sl: float,
    threshold_seconds: float,
    *,
    shrinkage: float = 0.0,
    max_agents: int = 10000,
) -> StaffingResult[ErlangAResult]:
    """Smallest Erlang A staffing whose service level reaches ``target_sl``.

    Service level is as in ``erlang_a_metrics``: answered within the threshold, over all
    arrivals. Since the carried load ``A * (1 - p_abandon)`` is below ``N`` and the service
    level is at most ``1 - p_abandon``, any feasible ``N`` exceeds ``A * target_sl``; the search
    walks ``N`` upward from there. ``N <= A`` is allowed. ``rostered`` adds shrinkage (see
    ``rostered_staff``).

    Raises ``ValueError`` for invalid inputs and when no ``N <= max_agents`` reaches the target.
    """
    _check_positive("calls", calls)
    _check_positive("patience_seconds", patience_seconds)
    _check_non_negative("threshold_seconds", threshold_seconds)
    _check_staffing_inputs(target_sl, shrinkage, max_agents)
    traffic = offered_traffic(calls, interval_seconds, aht_seconds)

    agents = max(1, math.floor(traffic * target_sl) + 1)
    while agents <= max_agents:
        result = _erlang_a(agents, traffic, aht_seconds, patience_seconds, threshold_seconds)
        if result.service_level >= target_sl:
            return StaffingResult(
                metrics=result,
                shrinkage=shrinkage,
                rostered=rostered_staff(agents, shrinkage),
            )
        agents += 1
    raise ValueError(
        f"no Erlang A staffing up to max_agents={max_agents} reaches a service level of "
        f"{target_sl:g} within {threshold_seconds:g} s for traffic {traffic:g} Erlangs; raise "
        f"max_agents or lower the target"
    )
