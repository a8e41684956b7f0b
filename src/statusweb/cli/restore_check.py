"""Proving a backup restores (`statusweb-admin restore-check CONFIG DUMP`): pg_restore the
dump into a scratch database beside the live one, bring it to this version's schema,
and count every table's rows against the live database's; then drop the scratch copy.
A backup nobody has restored is a hope, not a backup.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, make_url, select, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import SQLAlchemyError

from statusweb.migrations import Upgrade, upgrade
from statusweb.models import Base, get_engine
from statusweb.settings import normalize_database_url

RESTORE_TIMEOUT = 3600.0  # seconds pg_restore may take (a large history, a slow disk)


@dataclass
class RestoreReport:
    """What the restore showed: the upgrade it needed, each table's rows (restored,
    live: None when the live database did not answer) and the problems found."""

    upgrade: Upgrade
    counts: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        width = max((len(name) for name in self.counts), default=5)
        rows = [f"  {'table':<{width}}  {'restored':>10}  {'live':>10}"]
        rows += [
            f"  {name:<{width}}  {restored:>10}  {'?' if live is None else live:>10}"
            for name, (restored, live) in self.counts.items()
        ]
        return rows


def restore_check(
    database_url: str, dump: Path, *, keep: bool = False, progress: Callable[[str], None] = print
) -> RestoreReport:
    """Restore `dump` beside the database `database_url` names and check it (ValueError,
    saying what to do, when it cannot even start)."""
    live = make_url(normalize_database_url(database_url))
    if live.get_backend_name() != "postgresql":
        raise ValueError("restore-check needs the PostgreSQL the backups come from (DATABASE_URL)")
    if not dump.is_file():
        raise ValueError(f"no dump at {dump} (deploy/backup.sh writes statusweb-<time>.dump files)")
    if shutil.which("pg_restore") is None:
        raise ValueError("pg_restore is missing: install PostgreSQL's client tools (apt-get install postgresql-client)")
    scratch = live.set(database=f"{live.database or 'statusweb'}_restore_check_{secrets.token_hex(4)}"[-63:])
    admin = create_engine(live, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{scratch.database}"'))
        progress(f"restoring {dump} ({dump.stat().st_size} bytes) into the scratch database {scratch.database}...")
        return _restore(scratch, live, dump, progress)
    finally:
        if not keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        admin.dispose()


def _restore(scratch: URL, live: URL, dump: Path, progress: Callable[[str], None]) -> RestoreReport:
    done = subprocess.run(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--dbname",
            scratch.set(drivername="postgresql").render_as_string(hide_password=False),
            str(dump),
        ],
        capture_output=True,
        text=True,
        timeout=RESTORE_TIMEOUT,
    )
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ValueError(f"pg_restore could not restore {dump}: {said}")
    engine = get_engine(scratch.render_as_string(hide_password=False))
    try:
        tables = set(inspect(engine).get_table_names())
        if "alembic_version" not in tables:
            raise ValueError(f"{dump} holds no statusweb database (no alembic_version table)")
        progress("restored; bringing it to this version's schema...")
        report = RestoreReport(upgrade(engine))
        restored = _counts(engine)
    finally:
        engine.dispose()
    live_counts = _live_counts(live)
    for name, rows in restored.items():
        other = live_counts.get(name) if live_counts is not None else None
        report.counts[name] = (rows, other)
    if not restored.get("service"):
        report.problems.append("the restored database has no services: is this the status database's dump?")
    return report


def _counts(engine: Engine) -> dict[str, int]:
    present = set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
            if table.name in present
        }


def _live_counts(live: URL) -> dict[str, int] | None:
    engine = create_engine(live)
    try:
        return _counts(engine)
    except SQLAlchemyError:
        return None  # the live database is down: the restore still says what it holds
    finally:
        engine.dispose()
