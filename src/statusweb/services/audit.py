"""The audit log: who changed what, written in the same transaction as the change, so a
change without its line (or a line without its change) cannot happen."""

from __future__ import annotations

from pyramid.request import Request

from statuscore import utcnow
from statusweb.models import AuditEvent

TOKEN_ACTOR = "statusweb.api_actor"  # environ: "token <name>" when an API token made the request


def actor_of(request: Request) -> str:
    """The signed-in user's name, or the API token that acted."""
    token = request.environ.get(TOKEN_ACTOR)
    if token:
        return str(token)
    user = request.identity
    return user.name if user is not None else "?"


def record(request: Request, organization_id: int | None, action: str, subject: str) -> None:
    request.dbsession.add(
        AuditEvent(
            organization_id=organization_id,
            at=utcnow(),
            actor=actor_of(request)[:120],
            action=action[:40],
            subject=subject[:300],
        )
    )
