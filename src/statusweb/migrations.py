"""Alembic, driven from code: `statusweb-admin initdb|bootstrap|db ...` and the tests
use this; `alembic.ini` at the repository's root serves the `alembic` command itself."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine


@dataclass(frozen=True)
class Revision:
    """One migration: its id and the first line of what it does."""

    id: str
    title: str


@dataclass(frozen=True)
class Upgrade:
    """What an upgrade did: from which revision (None: an empty database) to which, and
    the migrations that ran, oldest first."""

    before: str | None
    after: str | None
    ran: tuple[Revision, ...]

    def describe(self) -> str:
        """One sentence for the operator, then one line per migration that ran."""
        if not self.ran:
            return f"database is at the newest schema ({self.after}); nothing to do"
        head = (
            f"created the tables (schema {self.after})"
            if self.before is None
            else f"upgraded from {self.before} to {self.after}"
        )
        return "\n".join(
            [f"{head}, {len(self.ran)} migration{'s' if len(self.ran) != 1 else ''}:"]
            + [f"  {revision.id}  {revision.title}" for revision in self.ran]
        )


def alembic_config(engine: Engine | None) -> Config:
    config = Config()
    config.set_main_option("script_location", "statusweb:alembic")
    if engine is not None:
        url = engine.url.render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # (ConfigParser interpolates %)
    return config


def history() -> list[Revision]:
    """Every migration this version ships, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(None))
    revisions = [
        Revision(r.revision, (r.doc or "").strip().splitlines()[0] if r.doc else "") for r in script.walk_revisions()
    ]
    return revisions[::-1]


def current(engine: Engine) -> str | None:
    """The database's revision (None: no tables yet)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> Upgrade:
    """Bring the database to `revision` (creating every table on an empty one); says
    what ran."""
    before = current(engine)
    config = alembic_config(engine)
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    after = current(engine)
    shipped = history()  # (reads every migration file: once)
    ids = [r.id for r in shipped]
    start = ids.index(before) + 1 if before in ids else 0
    end = ids.index(after) + 1 if after in ids else 0
    return Upgrade(before, after, tuple(shipped[start:end]))


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine)
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for the migration. On SQLite, foreign keys are off meanwhile:
    altering a table there means copying it and dropping the old one, and with them on,
    that drop would cascade into every table that refers to it (history lost)."""
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                yield connection
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
