"""Predictive routing's report: did routing by past outcomes do better than the control arm?

The engine puts each conversation with an intent in one arm, by a hash of its id: the
treatment arm goes to the eligible agent with the best past outcome for that intent, the
control arm follows the queue's strategy. The lift is the difference between the arms'
success rates (first-contact resolution, or a good survey), with a 95% confidence interval
from the normal approximation to the difference of two proportions. Pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Arm:
    conversations: int
    successes: int

    @property
    def rate(self) -> float | None:
        return self.successes / self.conversations if self.conversations else None


@dataclass(frozen=True)
class Lift:
    treatment: Arm
    control: Arm
    lift: float | None  # treatment rate minus control rate
    low: float | None  # 95% confidence interval of the lift
    high: float | None
    significant: bool  # the interval excludes zero

    def as_dict(self) -> dict[str, float | int | bool | None]:
        return {
            "treatment_conversations": self.treatment.conversations,
            "treatment_rate": self.treatment.rate,
            "control_conversations": self.control.conversations,
            "control_rate": self.control.rate,
            "lift": self.lift, "low": self.low, "high": self.high,
            "significant": self.significant,
        }  # fmt: skip


def lift(treatment: Arm, control: Arm, z: float = 1.96) -> Lift:
    if treatment.rate is None or control.rate is None:
        return Lift(treatment, control, None, None, None, False)
    p1, p0 = treatment.rate, control.rate
    diff = p1 - p0
    se = math.sqrt(p1 * (1 - p1) / treatment.conversations + p0 * (1 - p0) / control.conversations)
    low, high = diff - z * se, diff + z * se
    return Lift(treatment, control, diff, low, high, low > 0 or high < 0)
