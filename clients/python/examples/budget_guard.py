#!/usr/bin/python3
"""Asks cost before an expensive LLM call and skips it when a hard budget is spent.

    PYTHONPATH=clients/python /usr/bin/python3 clients/python/examples/budget_guard.py
"""
import agentwatch


def main():
    client = agentwatch.Client(tenant="example")
    try:
        decision = client.require_budget(team="research", workflow="deep-dive",
                                         model="gpt-4o", estimated_cost_usd="0.40")
    except agentwatch.BudgetExceeded as denied:
        print(f"skipped: {denied.decision.reason}")
        return
    if decision.soft_limit_exceeded:
        print("warning: over a soft budget")
    remaining = decision.remaining_nano_usd / 1e9  # display only; money stays integer
    print(f"allowed; most constraining budget has {remaining:.2f} USD left")
    client.close()


if __name__ == "__main__":
    main()
