"""One runner per database, however many processes start.

PostgreSQL: a session advisory lock on a connection held for the runner's life. SQLite:
an exclusive flock on a file beside the database. Either is released by the operating
system the moment the holder dies, so a standby polling for it takes over at once.
"""

from __future__ import annotations

import fcntl
import os
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.engine import Engine

ADVISORY_KEY = 0x5374617475  # "Statu": any fixed 64-bit number shared by every runner


class RunnerLock(Protocol):
    def try_acquire(self) -> bool: ...
    def release(self) -> None: ...


class AdvisoryLock:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Any = None

    def try_acquire(self) -> bool:
        if self._connection is None:
            self._connection = self.engine.connect()
        got = self._connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar_one()
        self._connection.commit()
        if not got:
            self._connection.close()
            self._connection = None
        return bool(got)

    def release(self) -> None:
        """End the session that holds the lock. Closing alone would hand the connection
        back to the engine's pool with its session, and the lock, still alive: a runner
        stopped inside a process that goes on (the web app's runner thread) would block
        the next. No SQL here: on a dead network an UNLOCK could wait forever."""
        if self._connection is not None:
            self._connection.invalidate()
            self._connection.close()
            self._connection = None


class FileLock:
    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def lock_for(engine: Engine) -> RunnerLock:
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine)
    database = engine.url.database or ""
    path = database.removeprefix("file:").split("?")[0] if database else ""
    return FileLock(f"{path}.runner.lock" if path and path != ":memory:" else "var/runner.lock")
