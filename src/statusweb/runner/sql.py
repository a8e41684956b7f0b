"""Small portable SQL helpers (PostgreSQL and SQLite)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import any_, bindparam, cast, event, func, select
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


def insert_rows(session: Any, model: type, rows: Sequence[dict[str, Any]]) -> None:
    """A plain INSERT of many rows (`_many`)."""
    if rows:
        session.execute(*_many(session, model, rows), execution_options=_BINARY_ARRAYS)


def upsert(
    session: Any,
    model: type,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Callable[[Any, Any], dict[str, Any]],
    only_if: Callable[[Any, Any], Any] | None = None,
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE: one statement, no read first, so
    several writers never lose each other's changes. `update(table, excluded)` gives
    the SET clause (e.g. `{"n": table.c.n + excluded.n}` to add up); `only_if(table,
    excluded)` a condition for updating at all. Each key at most once in `rows`
    (PostgreSQL cannot update a row twice in one statement)."""
    if not rows:
        return
    if len({tuple(row[key] for key in keys) for row in rows}) != len(rows):
        raise ValueError(f"{model.__name__}: a key twice in one upsert")
    statement, parameters = _many(session, model, rows)
    table = model.__table__  # type: ignore[attr-defined]
    where = only_if(table, statement.excluded) if only_if is not None else None
    session.execute(
        statement.on_conflict_do_update(index_elements=list(keys), set_=update(table, statement.excluded), where=where),
        parameters,
        execution_options=_BINARY_ARRAYS,
    )


def _many(session: Any, model: type, rows: Sequence[dict[str, Any]]) -> tuple[Any, Any]:
    """An INSERT of `rows` (dicts with the same keys) and its parameters. On PostgreSQL
    one statement with one array per column (`INSERT ... SELECT FROM unnest(...)`):
    sent as an executemany, every row was a statement of its own, and the driver's and
    the ORM's work per row was most of a runner's CPU per check. SQLite's executemany
    already loops in C."""
    table = model.__table__  # type: ignore[attr-defined]
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return sqlite.insert(table), list(rows)
    _send_arrays_in_binary(bind.engine)
    names = list(rows[0])
    arrays = [
        cast(
            bindparam(f"many_{name}", type_=postgresql.ARRAY(table.c[name].type)), postgresql.ARRAY(table.c[name].type)
        )
        for name in names
    ]
    batch = func.unnest(*arrays).table_valued(*names).render_derived(name="batch")
    statement = postgresql.insert(table).from_select(names, select(*(batch.c[name] for name in names)))
    return statement, {f"many_{name}": [row[name] for row in rows] for name in names}


def _insert(session: Any, model: type) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


_BINARY_ARRAYS = {"statusweb_binary_arrays": True}
_ARRAY_PLACEHOLDER = re.compile(r"%\((many_\w+)\)s")


def _send_arrays_in_binary(engine: Any) -> None:
    """With psycopg, `_many`'s arrays go in binary (`%(name)b`): psycopg writes the text
    form of an array element by element in Python, a datetime ~3 us each, half of a
    batch's CPU; the binary form is 2-10x cheaper."""
    if engine.dialect.driver == "psycopg" and not event.contains(engine, "before_cursor_execute", _binary_arrays):
        event.listen(engine, "before_cursor_execute", _binary_arrays, retval=True)


def _binary_arrays(
    connection: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> tuple[str, Any]:
    if context is not None and context.execution_options.get("statusweb_binary_arrays"):
        statement = _ARRAY_PLACEHOLDER.sub(r"%(\1)b", statement)
    return statement, parameters
