"""Each service's uptime history on the page (its 30/60/90-day figures and its 90 daily
bars), worked out at most once a minute and kept.

History is history: a page render needs each service's current state, but the 90 days
behind it move by one check a minute. Keeping them takes the daily-rollup query and
13,500 day bars out of every uncached render (150 services; bench/page.py, issue 16).
A kept history is dropped when the page cache is cleared (an incident or a maintenance
window changed, which colours the bars), when the day turns, or when the service's
interval changes; otherwise it is at most `seconds` old.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

from pyramid.config import Configurator

HISTORY_SECONDS = 60.0
HistoryKey = tuple[int, int, datetime, bool]  # service id, interval (s), day, with bars


class ServiceHistories:
    """Histories by key (service, interval, day, with bars or not), each for `seconds`;
    0 keeps none. Keys of past days are dropped as new ones come, so it holds one day's
    worth of services at most (twice: with and without bars)."""

    def __init__(self, seconds: float = HISTORY_SECONDS) -> None:
        self.seconds = seconds
        self._kept: dict[HistoryKey, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    def fresh(self, keys: list[HistoryKey]) -> dict[HistoryKey, dict[str, Any]]:
        """The kept histories among `keys` that are still fresh."""
        if self.seconds <= 0:
            return {}
        now = time.monotonic()
        with self._lock:
            found = {key: self._kept.get(key) for key in keys}
        return {key: kept[1] for key, kept in found.items() if kept is not None and kept[0] > now}

    def keep(self, histories: dict[HistoryKey, dict[str, Any]], day: datetime) -> None:
        """Keep these (computed now) for `seconds`; drop what belongs to a day before `day`
        (a key's third part)."""
        if self.seconds <= 0:
            return
        until = time.monotonic() + self.seconds
        with self._lock:
            if any(key[2] != day for key in self._kept):
                self._kept = {key: kept for key, kept in self._kept.items() if key[2] == day}
            self._kept.update((key, (until, history)) for key, history in histories.items())

    def clear(self) -> None:
        with self._lock:
            self._kept = {}


def includeme(config: Configurator) -> None:
    settings = config.registry["statusweb.settings"]
    histories = ServiceHistories(settings.history_seconds)
    config.registry["statusweb.histories"] = histories
    config.registry["statusweb.page_cache"].on_clear.append(histories.clear)  # included after the cache
