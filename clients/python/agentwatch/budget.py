"""The pre-flight budget check: ask cost before an expensive LLM call."""

import collections
import decimal

NANO_PER_USD = 1_000_000_000

BudgetDecision = collections.namedtuple(
    "BudgetDecision",
    ["allowed", "remaining_nano_usd", "budget_id", "reason", "percent_used",
     "soft_limit_exceeded", "matched_budget_ids"])
BudgetDecision.__doc__ = """CheckBudget's answer; money in integer nano-USD."""


class BudgetExceeded(Exception):
    """Raised by Client.require_budget when a hard budget denies the call."""

    def __init__(self, decision):
        super().__init__(decision.reason or "budget exceeded")
        self.decision = decision


def usd_to_nano(usd):
    """Converts USD (a str, int or Decimal; not a float) to integer nano-USD.

    Rounds half away from zero to the nearest nano-USD, the service's rule for
    sub-nano amounts. Floats are refused: they cannot hold prices exactly.
    """
    if isinstance(usd, float):
        raise TypeError("usd: pass a str, int or Decimal, not a float")
    value = decimal.Decimal(usd) * NANO_PER_USD
    return int(value.quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_UP))


def decision_from_response(response):
    return BudgetDecision(
        allowed=response.allowed,
        remaining_nano_usd=response.remaining_nano_usd,
        budget_id=response.budget_id,
        reason=response.reason,
        percent_used=response.percent_used,
        soft_limit_exceeded=response.soft_limit_exceeded,
        matched_budget_ids=list(response.matched_budget_ids))
