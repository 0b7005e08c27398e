"""Predictive routing: the lift report, in the simulator and from real resolutions."""

from __future__ import annotations

import httpx
import pytest

from centralita.bootstrap import Container
from centralita.routing import service
from centralita.routing.model import Configure, Enqueue, RoutingSettings
from centralita.routing.predictive import Arm, lift
from centralita.routing.simulate import Scenario, run
from tests.routing.test_api import Desk, _conversation, desk

__all__ = ["desk"]


def test_the_lift_needs_both_arms_and_says_when_it_is_significant() -> None:
    assert lift(Arm(0, 0), Arm(10, 5)).lift is None
    found = lift(Arm(1000, 800), Arm(1000, 700))
    assert found.lift == pytest.approx(0.1) and found.significant
    assert found.low is not None and found.high is not None and found.low < 0.1 < found.high
    assert not lift(Arm(20, 11), Arm(20, 10)).significant


def test_routing_by_past_outcomes_resolves_more_in_the_simulator() -> None:
    result = run(Scenario(calls=100, interval=1800, aht=180, agents=14, n_calls=20_000,
                          intents=4, predictive=0.5))  # fmt: skip
    treatment, control = Arm(*result.arms["predictive"]), Arm(*result.arms["control"])
    assert 0.4 < treatment.conversations / (treatment.conversations + control.conversations) < 0.6
    found = lift(treatment, control)
    assert found.lift is not None and found.lift > 0.03 and found.significant


def test_without_predictive_routing_there_are_no_arms() -> None:
    result = run(Scenario(calls=100, interval=1800, aht=180, agents=14, n_calls=2000,
                          intents=4))  # fmt: skip
    assert set(result.arms) == {"none"}


async def test_resolutions_feed_the_report(
    container: Container, client: httpx.AsyncClient, desk: Desk
) -> None:
    ana = desk.web["ana"]
    await ana.put("/api/v1/agent/me/presence", json={"presence": "available"})
    async with container.sessions() as session, session.begin():
        settings = RoutingSettings(predictive=True, predictive_share=0.5)
        await service.apply(session, container.routing, desk.kit.tenant_id,
                            Configure(settings), container.clock())  # fmt: skip
    codes = ["resolved", "follow_up", "resolved", "resolved", "no_answer", "resolved"]
    for n, code in enumerate(codes):
        conv = await _conversation(container, client, desk.kit, text=f"hola {n}")
        async with container.sessions() as session, session.begin():
            await service.apply(session, container.routing, desk.kit.tenant_id,
                                Enqueue(conv, desk.queue_id, "whatsapp", intent="billing"),
                                container.clock())  # fmt: skip
        assert (await ana.post(f"/api/v1/agent/offers/{conv}/accept")).status_code == 200
        r = await ana.post(f"/api/v1/conversations/{conv}/resolve", json={"wrapup_code": code})
        assert r.status_code == 200, r.text
    report = (await desk.web["sam"].get("/api/v1/routing/predictive")).json()
    assert report["enabled"] is True
    assert report["treatment_conversations"] + report["control_conversations"] == 6
    resolved = (report["treatment_rate"] or 0) * report["treatment_conversations"] + (
        report["control_rate"] or 0
    ) * report["control_conversations"]
    assert round(resolved) == 4
    assert (await ana.get("/api/v1/routing/predictive")).status_code == 403
