"""`/admin/invitations/{token}`: joining an organization by the link an owner sent.
Signed in, one click joins; otherwise the form makes the account too. The link works
once and for `INVITATION_DAYS`; a used, expired or made-up one is a 404."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.security import remember
from pyramid.view import view_config
from sqlalchemy import select

from statuscore import utcnow
from statusweb.models import Invitation, Organization, User
from statusweb.services.audit import record
from statusweb.services.forms import Form, read_new_password
from statusweb.services.organizations import claim_invitation, join, open_invitation

_TEMPLATE = "statusweb:templates/admin/invitation.pt"


def _invitation(request: Request) -> tuple[Invitation, Organization]:
    found = open_invitation(request.dbsession, request.matchdict["token"], utcnow())
    if found is None:
        raise HTTPNotFound("no such invitation (it may have been used already, or expired)")
    return found, request.dbsession.get(Organization, found.organization_id)


@view_config(route_name="invitation", renderer=_TEMPLATE, request_method=("GET", "HEAD"))
def invitation(request: Request) -> dict[str, Any]:
    found, organization = _invitation(request)
    return {"title": f"Join {organization.name}", "invitation": found, "organization": organization, "form": Form()}


@view_config(route_name="invitation", renderer=_TEMPLATE, request_method="POST")
def accept(request: Request) -> Any:
    found, organization = _invitation(request)
    session, now = request.dbsession, utcnow()
    user = request.identity
    if user is None:
        name = request.POST.get("name", "").strip()[:100]
        form = read_new_password(request.POST, name)
        form.text(request.POST, "name", max_length=100)
        if form.ok and session.scalar(select(User.id).where(User.name == name)) is not None:
            form.errors["name"] = "That name is taken: log in first if it is yours."
        if not form.ok:
            request.response.status_int = 400
            return {
                "title": f"Join {organization.name}",
                "invitation": found,
                "organization": organization,
                "form": form,
            }
        user = User(name=name, role="admin" if found.role == "owner" else "editor", created_at=now)
        user.set_password(request.POST["password"])
        session.add(user)
    if not claim_invitation(session, found.id, now):  # another accept of the same link got there first
        raise HTTPNotFound("no such invitation (it may have been used already, or expired)")
    join(session, user, organization, found.role, now, lower=False)
    request.environ["statusweb.identity"] = user  # the audit line names who joined
    record(request, organization.id, "member.join", f"{user.name} as {found.role}")
    headers = remember(request, user.id)
    return HTTPSeeOther(request.route_url("admin"), headers=headers)
