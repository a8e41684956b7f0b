"""The one place statusweb asks for the time, so tests can hold it still."""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
