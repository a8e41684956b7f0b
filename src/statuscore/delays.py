"""How long to wait before trying a delivery again: the `backoff` library's exponential
wait generator, capped, with full jitter (so that many runners or many failed rows do
not retry in step). Used for alerts to sinks and for messages to subscribers."""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice

import backoff

Jitter = Callable[[float], float]


def backoff_delay(attempts: int, *, first: float = 1.0, cap: float = 60.0, jitter: Jitter | None = None) -> float:
    """Seconds to wait after `attempts` failed tries: at most first, 2 x first, 4 x first
    ... up to `cap`, jittered across the whole range by default (`no_jitter` gives the
    ceiling itself)."""
    waits = backoff.expo(factor=first, max_value=cap)
    next(waits)  # backoff's generators start with a priming step
    ceiling = next(islice(waits, min(max(attempts, 1), 64) - 1, None))
    return (jitter or backoff.full_jitter)(ceiling)


def no_jitter(value: float) -> float:
    """For tests and benchmarks that need the exact delays."""
    return value
