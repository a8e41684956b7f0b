"""Time as the scheduler sees it, injectable so tests never wait through real intervals."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never jumps; used for due times."""

    def now(self) -> datetime:
        """The aware UTC wall time stamped on results and alerts."""

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` by this clock."""


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


def utcnow() -> datetime:
    return datetime.now(UTC)
