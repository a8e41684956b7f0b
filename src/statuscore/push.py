"""Pushes from jobs that report in (cron jobs, backups, exports) instead of being
probed. A `push` monitor's check reads the last push from a `PushLedger`: statusweb's
comes from its database (the web process records each push, any runner reads it);
`MemoryPushLedger` serves scripts and tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class PushRecord:
    """The last push of one monitor. `at` None: none yet, and the first deadline
    counts from `watching_since` (when the monitor was first watched)."""

    at: datetime | None
    status: str = "up"
    message: str = ""
    ping_ms: int | None = None
    watching_since: datetime | None = None


class PushLedger(Protocol):
    async def last_push(self, slug: str) -> PushRecord | None:
        """The monitor's last push, or None when nothing is known of it."""


class MemoryPushLedger:
    def __init__(self) -> None:
        self.records: dict[str, PushRecord] = {}

    def push(
        self, slug: str, at: datetime, *, status: str = "up", message: str = "", ping_ms: int | None = None
    ) -> None:
        self.records[slug] = PushRecord(at=at, status=status, message=message, ping_ms=ping_ms)

    async def last_push(self, slug: str) -> PushRecord | None:
        return self.records.get(slug)
