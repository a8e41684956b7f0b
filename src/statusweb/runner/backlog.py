"""What SqlStore has not written yet: check results (at most `max_buffered`; past that
the oldest are dropped and counted, while states and alerts are always kept), each
monitor's latest state, the regions' latest observations and outbox updates. A batch
the database refused goes back in front of what came meanwhile, in order."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from statuscore import CheckResult, MonitorState

log = logging.getLogger("statusweb.store")


@dataclass
class Batch:
    """One write's worth: what the next transaction stores."""

    results: list[CheckResult] = field(default_factory=list)
    states: dict[str, MonitorState] = field(default_factory=dict)
    observations: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)  # (service id, region)
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)  # alert id -> outbox columns

    def __bool__(self) -> bool:
        return bool(self.results or self.states or self.observations or self.updates)

    def before(self, later: Batch) -> Batch:
        """This batch with `later` after it: results in order, the later values winning."""
        return Batch(
            self.results + later.results,
            {**self.states, **later.states},
            {**self.observations, **later.observations},
            {**self.updates, **later.updates},
        )


class Backlog:
    def __init__(self, max_buffered: int) -> None:
        self.max_buffered = max_buffered
        self.dropped = 0  # results dropped past the bound, since the start
        self.waiting = Batch()

    def add(self, result: CheckResult, state: MonitorState) -> None:
        self.waiting.results.append(result)
        self.waiting.states[result.slug] = state
        self._enforce_bound()

    def take(self) -> Batch:
        taken, self.waiting = self.waiting, Batch()
        return taken

    def put_back(self, batch: Batch) -> None:
        self.waiting = batch.before(self.waiting)
        self._enforce_bound()

    def _enforce_bound(self) -> None:
        """Keep at most `max_buffered` results waiting, dropping (and counting) the oldest."""
        overflow = len(self.waiting.results) - self.max_buffered
        if overflow <= 0:
            return
        del self.waiting.results[:overflow]
        self.dropped += overflow
        if self.dropped % 1000 < overflow:
            log.error(
                "database unreachable: %d check results dropped so far (buffer bound %d); states and alerts are kept",
                self.dropped,
                self.max_buffered,
            )
