"""statuscore's PushLedger on the database: the web process writes each push into
`service_push`; the runner reads them all at most once a second (one query, however
many push monitors there are)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from statuscore import PushRecord
from statusweb.models import Service, ServicePush, get_session_factory

REFRESH_SECONDS = 1.0


def token_hash(token: str) -> str:
    """What the database keeps of a push token (and looks a push up by)."""
    return hashlib.sha256(token.encode()).hexdigest()


class SqlPushLedger:
    def __init__(self, engine: Engine, monotonic: Callable[[], float]) -> None:
        self.session_factory = get_session_factory(engine)
        self.monotonic = monotonic
        self._records: dict[str, PushRecord] = {}
        self._read_at: float | None = None
        self._lock = asyncio.Lock()

    async def last_push(self, slug: str) -> PushRecord | None:
        async with self._lock:
            if self._read_at is None or self.monotonic() - self._read_at >= REFRESH_SECONDS:
                self._records = await asyncio.to_thread(self._read)
                self._read_at = self.monotonic()
        return self._records.get(slug)

    def _read(self) -> dict[str, PushRecord]:
        with self.session_factory() as session:
            rows = session.execute(
                select(
                    Service.slug,
                    Service.created_at,
                    ServicePush.received_at,
                    ServicePush.status,
                    ServicePush.message,
                    ServicePush.ping_ms,
                )
                .outerjoin(ServicePush, ServicePush.service_id == Service.id)
                .where(Service.push_token_hash.is_not(None))
            ).all()
        return {slug: _record(created, at, status, message, ping) for slug, created, at, status, message, ping in rows}


def _record(
    created: datetime, at: datetime | None, status: str | None, message: str | None, ping: int | None
) -> PushRecord:
    if at is None:
        return PushRecord(at=None, watching_since=created)
    return PushRecord(at=at, status=status or "up", message=message or "", ping_ms=ping, watching_since=created)
