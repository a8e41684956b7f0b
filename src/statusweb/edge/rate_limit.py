"""A small in-process limiter (correct across waitress's threads): at most `limit`
events per key in a sliding `window`, memory bounded by pruning old keys."""

from __future__ import annotations

import threading
import time


class SlidingLimit:
    def __init__(self, limit: int, window: float, *, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._events: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str, now: float | None = None) -> float:
        """Seconds until `key` may act again (0: now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            recent = [t for t in self._events.get(key, ()) if now - t < self.window]
        return self.window - (now - recent[0]) if len(recent) >= self.limit else 0.0

    def note(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._events) >= self.max_keys:
                self._events = {k: v for k, v in self._events.items() if now - v[-1] < self.window}
                if len(self._events) >= self.max_keys:  # a flood of fresh keys: forget the oldest half
                    for old in list(self._events)[: self.max_keys // 2]:
                        del self._events[old]
            recent = [t for t in self._events.get(key, ()) if now - t < self.window]
            self._events[key] = recent[-self.limit :] + [now]


class TokenBuckets:
    """`per_minute` requests a minute per key, in bursts of up to that many: one bucket
    of (tokens, last time) per key, refilled continuously, so memory stays constant per
    key whatever the limit (a sliding log would keep every timestamp). Thread-safe;
    at most `max_keys` buckets (full ones are forgotten first: they carry no state)."""

    def __init__(self, per_minute: int, *, max_keys: int = 200_000) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """Spend one token of `key`: 0.0 when allowed, else the seconds until one is there."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / self.rate
            if len(self._buckets) >= self.max_keys and key not in self._buckets:
                self._forget_full(now)
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0

    def _forget_full(self, now: float) -> None:
        """(Under the lock.) Drop buckets that have refilled; if none has, the oldest half."""
        self._buckets = {
            k: (t, last) for k, (t, last) in self._buckets.items() if t + (now - last) * self.rate < self.capacity
        }
        if len(self._buckets) >= self.max_keys:
            for old in list(self._buckets)[: self.max_keys // 2]:
                del self._buckets[old]
