"""Where you are signed in: every live session of your own account (when it began,
from which address and browser, when it was last seen), and ending any of them or all
the others at once. Only ever your own: another user's session id is a 404."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from statusweb.services import sign_ins
from statusweb.services.params import optional_id, record_id
from statusweb.services.security import current_sign_in


@view_config(
    route_name="admin_sessions",
    renderer="statusweb:templates/admin/sessions.pt",
    request_method="GET",
    permission="view",
)
def list_sessions(request: Request) -> dict[str, Any]:
    this = current_sign_in(request)
    return {
        "title": "Sessions",
        "sessions": sign_ins.active(request.dbsession, request.identity),
        "this_id": this.id if this is not None else None,
        "ended": optional_id(request.params.get("ended")),
    }


@view_config(route_name="admin_sessions_end_others", request_method="POST", permission="view")
def end_others(request: Request) -> HTTPSeeOther:
    this = current_sign_in(request)
    ended = sign_ins.end(request.dbsession, request.identity.id, keep=this.id if this is not None else None)
    return HTTPSeeOther(request.route_url("admin_sessions", _query={"ended": ended}))


@view_config(route_name="admin_session_end", request_method="POST", permission="view")
def end_one(request: Request) -> HTTPSeeOther:
    wanted = record_id(request.matchdict["id"], "session")
    mine = {row.id for row in sign_ins.active(request.dbsession, request.identity)}
    if wanted not in mine:
        raise HTTPNotFound("no such session")  # another user's, an ended one, or none: all alike
    this = current_sign_in(request)
    sign_ins.end(request.dbsession, request.identity.id, [wanted])
    if this is not None and this.id == wanted:
        return HTTPSeeOther(request.route_url("login"))  # ended the one in use: signed out
    return HTTPSeeOther(request.route_url("admin_sessions", _query={"ended": 1}))
