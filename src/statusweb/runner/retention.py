"""Retention: raw check results older than N days go, in small batches; daily rollups
stay (so 90-day uptime survives the 60-day raw history). Admin session rows that can
never sign anyone in again go too."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from statusweb.models import CheckResultRow, RollupHourly
from statusweb.services import sign_ins

BATCH_ROWS = 10_000


def count_expired(engine: Engine, cutoff: datetime) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(func.count()).select_from(CheckResultRow).where(CheckResultRow.checked_at < cutoff)
        ).scalar_one()


def cleanup(
    engine: Engine,
    *,
    days: int,
    now: datetime,
    dry_run: bool = False,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[str], None] = lambda line: None,
) -> int:
    """Delete `check_result` rows older than `days` (and hourly rollups as old), each
    batch its own short transaction so the runner's writes are never blocked for long.
    Returns the number of raw rows deleted, or that would be with `dry_run`."""
    cutoff = now - timedelta(days=days)
    if not dry_run:
        with Session(engine) as session, session.begin():
            sign_ins.prune(session, now)
    expired = count_expired(engine, cutoff)
    if dry_run or expired == 0:
        progress(
            f"{expired} check results older than {days} days (before {cutoff:%Y-%m-%d %H:%M} UTC)"
            f"{' would be deleted' if dry_run else ''}"
        )
        return expired
    deleted = 0
    while True:
        with engine.begin() as connection:
            ids = (
                connection.execute(
                    select(CheckResultRow.id)
                    .where(CheckResultRow.checked_at < cutoff)
                    .order_by(CheckResultRow.id)
                    .limit(batch_rows)
                )
                .scalars()
                .all()
            )
            if not ids:
                break
            connection.execute(delete(CheckResultRow).where(CheckResultRow.id.in_(ids)))
        deleted += len(ids)
        progress(f"deleted {deleted}/{expired} check results ({100 * deleted / expired:.0f}%)")
    with engine.begin() as connection:
        connection.execute(delete(RollupHourly).where(RollupHourly.bucket < cutoff))
    return deleted


def next_cleanup_time(now: datetime, hour_utc: int = 3) -> datetime:
    """The next `hour_utc`:00 UTC after `now`."""
    today = now.replace(hour=hour_utc, minute=0, second=0, microsecond=0)
    return today if today > now else today + timedelta(days=1)
