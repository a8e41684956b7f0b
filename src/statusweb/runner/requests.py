""" "Check now" requests: the admin and the CLI write a `check_request` row; the runner
takes open ones every second, checks the monitor at once through the scheduler (so the
state machine, history and alerts see it like a scheduled run) and writes the outcome
back for the page or the terminal that waits for it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from statuscore import CheckResult, Scheduler
from statusweb.models import CheckRequest, Service, get_session_factory
from statusweb.runner.store_rows import MAX_ERROR_CHARS

log = logging.getLogger("statusweb.runner")
STALE_AFTER = timedelta(minutes=10)  # a request nobody took by then is answered as expired


def open_requests(engine: Engine, now: datetime) -> list[tuple[int, str]]:
    """(request id, slug) of the requests waiting; too old ones are closed unanswered."""
    with get_session_factory(engine).begin() as session:
        session.execute(
            update(CheckRequest)
            .where(CheckRequest.done_at.is_(None), CheckRequest.requested_at < now - STALE_AFTER)
            .values(done_at=now, error="expired: no runner took this request within 10 min")
        )
        rows = session.execute(
            select(CheckRequest.id, Service.slug)
            .join(Service)
            .where(CheckRequest.done_at.is_(None))
            .order_by(CheckRequest.id)
        ).all()
    return [(request_id, slug) for request_id, slug in rows]


def answer(engine: Engine, request_id: int, result: CheckResult | None, now: datetime) -> None:
    values = (
        {"status": None, "error": "this runner does not check that monitor (is monitors.toml current?)"}
        if result is None
        else {
            "status": result.status.value,
            "latency_ms": result.latency_ms,
            "error": result.error[:MAX_ERROR_CHARS] if result.error else None,
        }
    )
    with get_session_factory(engine).begin() as session:
        session.execute(update(CheckRequest).where(CheckRequest.id == request_id).values(done_at=now, **values))


async def carry_out(
    engine: Engine, scheduler: Scheduler, request_id: int, slug: str, now: Callable[[], datetime]
) -> None:
    log.info("check now: %s (request %d)", slug, request_id)
    try:
        result = await scheduler.check_now(slug)
        await asyncio.to_thread(answer, engine, request_id, result, now())
    except Exception:
        log.exception("check now of %s failed", slug)
