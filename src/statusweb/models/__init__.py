"""SQLAlchemy models and the engine/session plumbing (the wiki2 tutorial's shape)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from .history import CheckResultRow, RollupDaily, RollupHourly
from .meta import Base, UTCDateTime
from .runtime import AlertOutbox, RunnerHeartbeat
from .service import Service, ServiceState

__all__ = ["AlertOutbox", "Base", "CheckResultRow", "RollupDaily", "RollupHourly", "RunnerHeartbeat",
           "Service", "ServiceState", "UTCDateTime", "get_engine", "get_session_factory"]


def get_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so the page and the
    runner can share one file, and foreign keys switched on."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        _make_parent_folder(url)
    else:
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _make_parent_folder(url: str) -> None:
    """The default database lives under var/: create the folder on first use."""
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def get_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)
