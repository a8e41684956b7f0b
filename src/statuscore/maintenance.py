"""Maintenance windows as the scheduler sees them: while one covers a monitor, its
checks still run but are recorded as MAINTENANCE (never alerted, not counted in
uptime). Where windows come from is the caller's business: statusweb's runner reloads
them from its database; a script can build a calendar by hand."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class MaintenanceWindow:
    """`slugs` None means every monitor."""

    title: str
    starts_at: datetime
    ends_at: datetime
    slugs: frozenset[str] | None = None

    def covers(self, slug: str, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at and (self.slugs is None or slug in self.slugs)


class MaintenanceSource(Protocol):
    def window_for(self, slug: str, at: datetime) -> MaintenanceWindow | None:
        """The window covering `slug` at `at`, if any."""


class MaintenanceCalendar:
    """A set of windows, swapped whole by `replace` (safe to read from the event loop
    while another thread replaces it: one attribute assignment)."""

    def __init__(self, windows: Iterable[MaintenanceWindow] = ()) -> None:
        self._windows = tuple(windows)

    @property
    def windows(self) -> tuple[MaintenanceWindow, ...]:
        return self._windows

    def replace(self, windows: Iterable[MaintenanceWindow]) -> None:
        self._windows = tuple(windows)

    def window_for(self, slug: str, at: datetime) -> MaintenanceWindow | None:
        for window in self._windows:
            if window.covers(slug, at):
                return window
        return None
