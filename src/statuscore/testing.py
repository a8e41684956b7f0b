"""Helpers for testing statuscore and plugins: a clock that jumps instead of waiting.

Also a pytest plugin: `pytest -p statuscore.testing` (or list it in conftest's
`pytest_plugins`) gives the `fake_clock` fixture.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest


class FakeClock:
    """Virtual time: `sleep` moves the clock forward at once, so a scheduler runs
    through an hour of intervals in milliseconds."""

    virtual = True  # the scheduler waits for in-flight checks before time jumps

    def __init__(self, start: datetime | None = None) -> None:
        self._wall = start or datetime(2026, 1, 1, tzinfo=timezone.utc)
        self._monotonic = 1000.0

    def monotonic(self) -> float:
        return self._monotonic

    def now(self) -> datetime:
        return self._wall

    def advance(self, seconds: float) -> None:
        self._monotonic += seconds
        self._wall += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()
