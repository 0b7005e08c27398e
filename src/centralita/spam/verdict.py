"""Is this conversation spam? A pure decision over lists, agent feedback and the NLU model.

The order is fixed: the tenant's allow list, then its block list, then what an agent last
said about this caller, then the model. Addresses arrive normalised (E.164 phones, lower-case
emails); normalising list entries needs the tenant's country, so the service does it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

# A contact with past non-spam conversations (or appointments) is called spam only when the
# model is very sure: a false positive there silences a real customer.
KNOWN_CUSTOMER_MIN_SCORE = 0.9


@dataclass(frozen=True)
class SpamDecision:
    is_spam: bool
    source: str  # "list" | "caller" | "model"; "agent" when an agent marks the conversation
    reason: str


def decide_spam(
    *,
    address: str | None,
    allow: Collection[str],
    block: Collection[str],
    caller_feedback: bool | None,
    nlu_spam: bool,
    nlu_score: float,
    is_known_customer: bool,
) -> SpamDecision:
    """The verdict for one conversation turn, and which rule gave it."""
    if address is not None and address in allow:
        return SpamDecision(False, "list", "the sender is on the tenant's allow list")
    if address is not None and address in block:
        return SpamDecision(True, "list", "the sender is on the tenant's block list")
    if caller_feedback is True:
        return SpamDecision(True, "caller", "an agent marked this sender's messages as spam")
    if caller_feedback is False:
        return SpamDecision(False, "caller", "an agent marked this sender as not spam")
    if is_known_customer:
        if nlu_spam and nlu_score >= KNOWN_CUSTOMER_MIN_SCORE:
            return SpamDecision(
                True, "model", f"known customer, but the spam score {nlu_score:.2f} is very high"
            )
        return SpamDecision(False, "model", f"known customer (spam score {nlu_score:.2f})")
    if nlu_spam:
        return SpamDecision(True, "model", f"the model says spam (score {nlu_score:.2f})")
    return SpamDecision(False, "model", f"the model says not spam (score {nlu_score:.2f})")
