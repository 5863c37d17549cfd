#!/usr/bin/python3
"""Records simulated LLM calls of an agent platform into agentwatch.

    PYTHONPATH=clients/python /usr/bin/python3 clients/python/examples/record_llm_calls.py

Against the local stack (scripts/up). Every call goes through the batcher:
batches of up to 100 events, flushed every second, retried safely.
"""
import random
import time

import agentwatch


def fake_llm(prompt):
    """Stands in for a provider SDK call."""
    time.sleep(random.uniform(0.01, 0.05))
    if random.random() < 0.05:
        raise TimeoutError("provider timed out")
    return {"prompt_tokens": 50 + len(prompt), "completion_tokens": random.randint(20, 200)}


def main():
    client = agentwatch.Client(tenant="example")
    with client.batcher(max_batch=100) as events:
        for i in range(50):
            try:
                with client.llm_call(events, provider="openai", model="gpt-4o-mini",
                                     agent="researcher", workflow="support",
                                     run_id=f"run-{i // 5}") as call:
                    reply = fake_llm("summarize the ticket")
                    call.set_usage(input_tokens=reply["prompt_tokens"],
                                   output_tokens=reply["completion_tokens"])
            except TimeoutError:
                pass  # recorded as a failed call with error_type TimeoutError
    print(f"sent {events.sent_events} events in {events.sent_batches} batches "
          f"as producer {events.producer_id}; rejected batches: {len(events.rejected)}")
    client.close()


if __name__ == "__main__":
    main()
