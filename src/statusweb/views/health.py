"""/healthz: 200 while the database answers, the runner's heartbeat is fresh, each of
its duties completed a round lately and every region that monitors are checked from has
a live runner (runners sharing PostgreSQL). A stalled duty is named, not its error (the
admin shows that: it may quote a subscriber's address)."""

from __future__ import annotations

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy.exc import SQLAlchemyError

from statuscore import utcnow
from statusweb.models import lease_seconds
from statusweb.pages.queries import last_heartbeat, silent_regions, stalled_duties
from statusweb.routes import READ_METHODS


@view_config(route_name="healthz", request_method=READ_METHODS)
def healthz(request: Request) -> Response:
    engine = request.engine
    limit = 3 * request.settings.heartbeat_interval
    try:
        beat = last_heartbeat(engine)
        silent = silent_regions(engine, lease_seconds(request.settings.heartbeat_interval))
    except SQLAlchemyError:
        return _answer(503, "database unreachable")
    if beat is None:
        return _answer(503, "runner has not started")
    age = (utcnow() - beat.beat_at).total_seconds()
    if age > limit:
        return _answer(503, f"runner heartbeat is {age:.0f} s old (limit {limit:.0f} s)")
    stalled = stalled_duties(beat)
    if stalled:
        return _answer(
            503,
            f"runner duties with no completed round for 3 heartbeats: {', '.join(stalled)} "
            "(the admin dashboard and the runner's log say why)",
        )
    if silent:
        return _answer(
            503,
            "\n".join(
                f"region {region}: no live runner; {count} monitors are not checked from there (counted as unknown)"
                for region, count in silent.items()
            ),
        )
    return _answer(200, f"ok: runner beat {age:.0f} s ago")


def _answer(status: int, text: str) -> Response:
    return Response(text + "\n", status=status, content_type="text/plain", cache_control="no-store")
