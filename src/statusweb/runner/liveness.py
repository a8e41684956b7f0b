"""A sharing runner's liveness lock: a session-level advisory lock on its member's key,
held by one connection of its own, which PostgreSQL drops the moment the process or the
connection dies; the other runners read pg_locks to see who is gone (`leases.py`)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("statusweb.leases")

LIVENESS_NAMESPACE = 0x53746174  # "Stat": the first key of every member's liveness lock


class LivenessLock:
    """Held on a connection of its own; thread-safe (the watch and the renewal run in
    different threads)."""

    def __init__(self, engine: Engine, lock_key: int) -> None:
        self.engine = engine
        self.lock_key = lock_key
        self._connection: Any = None  # the connection whose session holds the lock
        self._guard = threading.Lock()

    @property
    def key(self) -> int | None:
        """The key others may look for in pg_locks, while we hold it."""
        return self.lock_key if self._connection is not None else None

    def hold(self) -> bool:
        """Hold the lock, taking it again on a new connection when the old one died (the
        others may have forgotten us meanwhile: our next beat joins again). False when it
        cannot be had: we are then judged by our beat alone."""
        with self._guard:
            return self._hold()

    def release(self) -> None:
        """End the session that holds the lock (no SQL: the network may be gone)."""
        with self._guard:
            self._drop()

    def _hold(self) -> bool:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                self._connection.commit()
                return True
            except SQLAlchemyError:
                self._drop()
        connection = self.engine.connect()
        try:
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:namespace, :key)"),
                {"namespace": LIVENESS_NAMESPACE, "key": self.lock_key},
            ).scalar_one()
            connection.commit()
        except SQLAlchemyError:
            connection.invalidate()
            connection.close()
            raise
        if not got:  # another member's id hashed to our key: rare, and safe without the lock
            connection.close()
            log.warning("liveness lock %d is taken by another member: judged by heartbeats only", self.lock_key)
            return False
        self._connection = connection
        return True

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.invalidate()
            self._connection.close()
            self._connection = None
