"""A discrete-event contact-center simulator with the real ACD engine in the loop.

Customers arrive as a Poisson process, are routed by ``routing.engine.decide`` exactly as in
production, talk for an exponential handle time and, when they have a finite patience, hang
up if nobody answers in time. With one queue, identical agents, no abandonment and no
wrap-up this is the M/M/c system of Erlang C, which is how the simulator is validated
(``tests/routing/test_simulate.py``, ``centralita simulate --validate``).

It is pure: no clock, no I/O; the only randomness comes from the seeded generator.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field

from centralita.routing.engine import RoutingState, decide, next_deadline
from centralita.routing.model import (
    Accept,
    AgentConfig,
    Assigned,
    Complete,
    Configure,
    Enqueue,
    Offered,
    Outcome,
    Presence,
    QueueConfig,
    RoutingSettings,
    SetPresence,
    Strategy,
    Tick,
    UpsertAgent,
    UpsertQueue,
    Withdraw,
)

_ARRIVE, _END, _ABANDON, _TICK, _ACCEPT = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class Scenario:
    calls: float  # arrivals per interval
    interval: float  # seconds
    aht: float  # mean handle time, seconds
    agents: int
    threshold: float = 20.0  # service-level threshold, seconds
    n_calls: int = 100_000
    seed: int = 1
    patience: float | None = None  # mean patience (exponential) in seconds; None: infinite
    wrapup: float = 0.0  # seconds of wrap-up after each call
    strategy: Strategy = Strategy.LONGEST_IDLE
    answer_delay: float | None = None  # None: auto-answer; else agents accept after this delay
    channel: str = "voice"
    # Predictive routing: calls carry one of ``intents`` intents; each agent resolves each
    # intent with its own probability (0.5 to 0.9); outcomes feed the engine; ``predictive``
    # is the share of calls in the treatment arm (None: off).
    intents: int = 0
    predictive: float | None = None
    min_samples: int = 20

    def __post_init__(self) -> None:
        for name in ("calls", "interval", "aht"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if self.agents < 1:
            raise ValueError("agents must be at least 1")
        if self.n_calls < 1:
            raise ValueError("n_calls must be at least 1")
        if self.patience is not None and self.patience <= 0:
            raise ValueError("patience must be positive")
        if self.patience is None and self.traffic >= self.agents:
            raise ValueError(
                f"traffic of {self.traffic:.2f} Erlangs needs more than {self.agents} agents: "
                "without abandonment the queue would grow without bound"
            )

    @property
    def traffic(self) -> float:
        return self.calls * self.aht / self.interval


@dataclass
class Result:
    scenario: Scenario
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    waited: int = 0  # answered after a wait > 0
    within: int = 0  # answered within the threshold
    wait_sum: float = 0.0  # over answered calls
    busy_seconds: float = 0.0
    duration: float = 0.0
    engine_calls: int = 0
    arms: dict[str, list[int]] = field(default_factory=dict)  # arm -> [calls, resolved]

    @property
    def asa(self) -> float:
        """Average speed of answer over answered calls (Erlang C's ASA counts zero waits)."""
        return self.wait_sum / self.answered if self.answered else 0.0

    @property
    def service_level(self) -> float:
        """Answered within the threshold over all offered calls (abandons count as misses)."""
        return self.within / self.offered if self.offered else 0.0

    @property
    def p_wait(self) -> float:
        return (self.waited + self.abandoned) / self.offered if self.offered else 0.0

    @property
    def abandonment(self) -> float:
        return self.abandoned / self.offered if self.offered else 0.0

    @property
    def occupancy(self) -> float:
        denominator = self.duration * self.scenario.agents
        return self.busy_seconds / denominator if denominator else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "calls": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "asa_seconds": self.asa,
            "service_level": self.service_level,
            "p_wait": self.p_wait,
            "abandonment": self.abandonment,
            "occupancy": self.occupancy,
            "simulated_hours": self.duration / 3600.0,
            "engine_calls": self.engine_calls,
        }


def run(scenario: Scenario) -> Result:
    """Simulate ``scenario.n_calls`` arrivals and let the system drain."""
    rng = random.Random(scenario.seed)
    expo = rng.expovariate
    rate = scenario.calls / scenario.interval
    service_rate = 1.0 / scenario.aht
    abandon_rate = 1.0 / scenario.patience if scenario.patience else 0.0
    threshold = scenario.threshold
    auto = scenario.answer_delay is None

    state = RoutingState()
    if scenario.predictive is not None:
        settings = RoutingSettings(predictive=True, predictive_share=scenario.predictive,
                                   predictive_min_samples=scenario.min_samples)  # fmt: skip
        state, _ = decide(state, Configure(settings), 0.0)
    skill_rng = random.Random(scenario.seed * 7919 + 13)
    resolves = {
        (f"a{n:04d}", f"i{i}"): 0.5 + 0.4 * skill_rng.random()
        for n in range(scenario.agents) for i in range(scenario.intents)
    }  # fmt: skip
    intent_of: dict[str, str] = {}
    arm_of: dict[str, str] = {}
    queue = QueueConfig(
        "q", strategy=scenario.strategy, auto_accept=auto, wrapup_seconds=scenario.wrapup,
        offer_timeout=max(60.0, 4 * (scenario.answer_delay or 0.0)),
    )  # fmt: skip
    state, _ = decide(state, UpsertQueue(queue), 0.0)
    for n in range(scenario.agents):
        agent_id = f"a{n:04d}"
        capacity = {scenario.channel: 1}
        state, _ = decide(state, UpsertAgent(AgentConfig(agent_id, capacity=capacity)), 0.0)
        state, _ = decide(state, SetPresence(agent_id, Presence.AVAILABLE), 0.0)

    result = Result(scenario)
    events: list[tuple[float, int, int, str]] = []
    seq = 0
    arrived: dict[str, float] = {}
    started: dict[str, float] = {}
    engine_calls = 0
    tick_at: float | None = None

    def react(decisions: list[object], now: float) -> None:
        nonlocal seq
        for d in decisions:
            if type(d) is Assigned:
                item = d.item_id
                if scenario.intents:
                    arm_of[item] = d.agent_id + "|" + (
                        "none" if d.predictive is None else
                        "predictive" if d.predictive else "control"
                    )  # fmt: skip
                wait = now - arrived.pop(item)
                started[item] = now
                result.answered += 1
                result.wait_sum += wait
                if wait > 0:
                    result.waited += 1
                if wait <= threshold:
                    result.within += 1
                seq += 1
                heapq.heappush(events, (now + expo(service_rate), seq, _END, item))
            elif type(d) is Offered:
                seq += 1
                heapq.heappush(events, (now + (scenario.answer_delay or 0.0), seq, _ACCEPT,
                                        d.item_id + "|" + d.agent_id))  # fmt: skip

    seq += 1
    heapq.heappush(events, (expo(rate), seq, _ARRIVE, "c0"))
    produced = 1
    now = 0.0
    while events:
        now, _, kind, ref = heapq.heappop(events)
        if kind == _ARRIVE:
            arrived[ref] = now
            intent = None
            if scenario.intents:
                intent = intent_of[ref] = f"i{rng.randrange(scenario.intents)}"
            state, out = decide(state, Enqueue(ref, "q", scenario.channel, intent=intent), now)
            engine_calls += 1
            result.offered += 1
            if abandon_rate and ref in arrived:
                seq += 1
                heapq.heappush(events, (now + expo(abandon_rate), seq, _ABANDON, ref))
            if produced < scenario.n_calls:
                seq += 1
                heapq.heappush(events, (now + expo(rate), seq, _ARRIVE, f"c{produced}"))
                produced += 1
        elif kind == _END:
            result.busy_seconds += now - started.pop(ref)
            state, out = decide(state, Complete(ref), now)
            engine_calls += 1
            if scenario.intents:
                agent, arm = arm_of.pop(ref).split("|")
                intent = intent_of.pop(ref)
                resolved = rng.random() < resolves[(agent, intent)]
                counts = result.arms.setdefault(arm, [0, 0])
                counts[0] += 1
                counts[1] += int(resolved)
                react(out, now)  # type: ignore[arg-type]
                state, out = decide(state, Outcome(agent, intent, float(resolved)), now)
                engine_calls += 1
        elif kind == _ABANDON:
            if ref not in arrived:
                continue  # answered already
            del arrived[ref]
            result.abandoned += 1
            state, out = decide(state, Withdraw(ref), now)
            engine_calls += 1
        elif kind == _ACCEPT:
            item, agent = ref.split("|")
            state, out = decide(state, Accept(item, agent), now)
            engine_calls += 1
        else:
            tick_at = None
            state, out = decide(state, Tick(), now)
            engine_calls += 1
        react(out, now)  # type: ignore[arg-type]
        deadline = next_deadline(state)
        if deadline is not None and deadline != tick_at and (events or arrived):
            tick_at = deadline
            seq += 1
            heapq.heappush(events, (max(deadline, now), seq, _TICK, ""))
    result.duration = now
    result.engine_calls = engine_calls
    return result


@dataclass(frozen=True)
class Summary:
    """Replications of one scenario: means and 95% confidence half-widths."""

    runs: int
    calls: int
    asa: float
    asa_ci: float
    service_level: float
    service_level_ci: float
    p_wait: float
    abandonment: float
    occupancy: float

    def as_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


def replicate(scenario: Scenario, runs: int) -> Summary:
    """``runs`` independent replications (seeds ``seed``, ``seed+1``, ...)."""
    results = [run(_with_seed(scenario, scenario.seed + i)) for i in range(runs)]
    return summarize(results)


def summarize(results: list[Result]) -> Summary:
    n = len(results)

    def mean_ci(values: list[float]) -> tuple[float, float]:
        mean = sum(values) / n
        if n < 2:
            return mean, math.inf
        var = sum((v - mean) ** 2 for v in values) / (n - 1)
        return mean, 1.96 * math.sqrt(var / n)

    asa, asa_ci = mean_ci([r.asa for r in results])
    sl, sl_ci = mean_ci([r.service_level for r in results])
    return Summary(
        runs=n,
        calls=sum(r.offered for r in results),
        asa=asa,
        asa_ci=asa_ci,
        service_level=sl,
        service_level_ci=sl_ci,
        p_wait=sum(r.p_wait for r in results) / n,
        abandonment=sum(r.abandonment for r in results) / n,
        occupancy=sum(r.occupancy for r in results) / n,
    )


def _with_seed(scenario: Scenario, seed: int) -> Scenario:
    from dataclasses import replace

    return replace(scenario, seed=seed)
