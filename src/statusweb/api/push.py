"""`/api/push/{token}`: jobs report in (Uptime Kuma's push URL, so its scripts work
unchanged): `?status=up|down&msg=...&ping=MS`, GET or POST, answered `{"ok": true}`.
The push is recorded in the database for whichever runner judges the deadline. An
unknown token is a 404, and an address that keeps guessing is slowed down (429)."""

from __future__ import annotations

import hashlib
import math
from typing import Any

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select

from statuscore import utcnow
from statusweb.api.responses import json_error
from statusweb.edge.rate_limit import SlidingLimit
from statusweb.models import Service, ServicePush

MAX_TOKEN_CHARS = 200
MAX_MESSAGE_CHARS = 500
MAX_PING_MS = 24 * 3600 * 1000
UNKNOWN_TOKENS_PER_MINUTE = 10  # per client address, then 429
PUSH_STATUSES = ("up", "down")


@view_config(route_name="api_push", request_method=("GET", "HEAD", "POST"), require_csrf=False)
def push(request: Request) -> Any:
    address = request.client_addr or "?"
    limit = request.registry.setdefault("statusweb.push_guesses", SlidingLimit(UNKNOWN_TOKENS_PER_MINUTE, 60.0))
    wait = limit.retry_after(address)
    if wait > 0:
        response = json_error(429, "too many unknown push tokens from this address; wait and check the URL")
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    token = request.matchdict["token"]
    service_id = None
    if len(token) <= MAX_TOKEN_CHARS:
        service_id = request.dbsession.scalar(
            select(Service.id).where(
                Service.push_token_hash == hashlib.sha256(token.encode()).hexdigest(), Service.hidden.is_(False)
            )
        )
    if service_id is None:
        limit.note(address)
        return _answer(404, {"ok": False, "msg": "no push monitor has this token"})
    status = request.params.get("status", "up").strip().lower() or "up"
    if status not in PUSH_STATUSES:
        return _answer(400, {"ok": False, "msg": "status must be up or down"})
    ping = _ping(request.params.get("ping", ""))
    if ping is False:
        return _answer(400, {"ok": False, "msg": f"ping must be whole milliseconds from 0 to {MAX_PING_MS}"})
    _record(request, service_id, status, request.params.get("msg", "")[:MAX_MESSAGE_CHARS], ping)
    return _answer(200, {"ok": True})


def _ping(raw: str) -> int | None | bool:
    """The ping in ms, None when absent, False when it is not a sane number."""
    text = raw.strip()
    if not text:
        return None
    try:
        value = round(float(text))
    except (ValueError, OverflowError):
        return False
    return value if 0 <= value <= MAX_PING_MS else False


def _record(request: Request, service_id: int, status: str, message: str, ping: int | None) -> None:
    row = request.dbsession.get(ServicePush, service_id)
    if row is None:
        row = ServicePush(service_id=service_id, pushes=0)
        request.dbsession.add(row)
    row.received_at = utcnow()
    row.status = status
    row.message = message
    row.ping_ms = ping
    row.pushes += 1


def _answer(status: int, body: dict[str, Any]) -> Response:
    response = Response(json_body=body, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response
