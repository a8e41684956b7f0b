"""Small portable SQL helpers (PostgreSQL and SQLite)."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy.dialects import postgresql, sqlite


def insert_ignoring_duplicates(session: Any, model: type, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING: re-queued rows with a known key are skipped."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    build = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(build(model).on_conflict_do_nothing(), list(rows))
