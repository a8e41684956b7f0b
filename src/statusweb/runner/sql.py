"""Small portable SQL helpers (PostgreSQL and SQLite)."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import any_, bindparam
from sqlalchemy.dialects import postgresql, sqlite


def among(session: Any, column: Any, values: Iterable[Any]) -> Any:
    """`column IN values` for any number of values: on PostgreSQL one array parameter
    (`= ANY(...)`: an IN list of 200,000 would pass the protocol's 65,535 parameters)."""
    values = list(values)
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    return column == any_(bindparam(None, values, type_=postgresql.ARRAY(column.type)))


def insert_ignoring_duplicates(session: Any, model: type, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: re-queued rows with a known key are skipped."""
    if not rows:
        return
    session.execute(_insert(session, model).on_conflict_do_nothing(), list(rows))


def upsert(session: Any, model: type, rows: Sequence[dict[str, Any]], keys: Sequence[str],
           update: Callable[[Any, Any], dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE: one statement, no read first, so
    several writers never lose each other's changes. `update(table, excluded)` gives
    the SET clause (e.g. `{"n": table.c.n + excluded.n}` to add up)."""
    if not rows:
        return
    statement = _insert(session, model)
    table = model.__table__  # type: ignore[attr-defined]
    session.execute(statement.on_conflict_do_update(index_elements=list(keys),
                                                    set_=update(table, statement.excluded)), list(rows))


def _insert(session: Any, model: type) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)
