"""/healthz: 200 while the database answers, the runner's heartbeat is fresh and every
region that monitors are checked from has a live runner (runners sharing PostgreSQL)."""

from __future__ import annotations

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy.exc import SQLAlchemyError

from statusweb.models import lease_seconds
from statusweb.pages.queries import heartbeat_age, silent_regions
from statusweb.routes import READ_METHODS


@view_config(route_name="healthz", request_method=READ_METHODS)
def healthz(request: Request) -> Response:
    engine = request.registry["statusweb.engine"]
    limit = 3 * request.registry["statusweb.settings"].heartbeat_interval
    try:
        age = heartbeat_age(engine)
        silent = silent_regions(engine, lease_seconds(request.registry["statusweb.settings"].heartbeat_interval))
    except SQLAlchemyError:
        return _answer(503, "database unreachable")
    if age is None:
        return _answer(503, "runner has not started")
    if age > limit:
        return _answer(503, f"runner heartbeat is {age:.0f} s old (limit {limit:.0f} s)")
    if silent:
        return _answer(503, "\n".join(f"region {region}: no live runner; {count} monitors are not checked from "
                                      f"there (counted as unknown)" for region, count in silent.items()))
    return _answer(200, f"ok: runner beat {age:.0f} s ago")


def _answer(status: int, text: str) -> Response:
    return Response(text + "\n", status=status, content_type="text/plain",
                    cache_control="no-store")
