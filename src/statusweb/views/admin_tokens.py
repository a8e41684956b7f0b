"""Admin, API tokens (owners): make a token for one of your organizations (read, or
read and write; it expires), see when each was last used, revoke it. A new token is
shown once; only its hash is kept."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config, view_defaults
from sqlalchemy import select

from statuscore import utcnow
from statusweb.models import ApiToken, Organization
from statusweb.services.audit import record
from statusweb.services.forms import Form
from statusweb.services.organizations import MAX_TOKEN_DAYS, TOKEN_SCOPES, make_token
from statusweb.services.params import InvalidParameter, record_id, whole_number
from statusweb.views.admin_pages import OwnerViews


@view_defaults(permission="manage_users", renderer="statusweb:templates/admin/tokens.pt")
class TokenViews(OwnerViews):
    def _page(self, form: Form | None = None, made: str | None = None) -> dict[str, Any]:
        session = self.request.dbsession
        organizations = self._organizations()
        tokens = session.scalars(
            select(ApiToken).where(ApiToken.organization_id.in_(self.owned)).order_by(ApiToken.created_at.desc())
        ).all()
        default = {**self._first(organizations), "scope": "read", "days": "90"}
        return {
            "title": "API tokens",
            "tokens": tokens,
            "organizations": organizations,
            "made": made,
            "now": utcnow(),
            "names": {o.id: o.name for o in organizations},
            "scopes": tuple(TOKEN_SCOPES),
            "form": form or Form(values=default),
            "max_days": MAX_TOKEN_DAYS,
        }

    @view_config(route_name="admin_tokens", request_method="GET")
    def list(self) -> dict[str, Any]:
        return self._page()

    @view_config(route_name="admin_tokens", request_method="POST")
    def create(self) -> dict[str, Any]:
        form = Form()
        params = self.request.POST
        form.text(params, "name", max_length=100)
        form.choice(params, "scope", tuple(TOKEN_SCOPES))
        slug = form.choice(params, "organization", tuple(o.slug for o in self._organizations()))
        form.values["days"] = params.get("days", "")
        try:
            days = whole_number(params.get("days"), "days", minimum=1, maximum=MAX_TOKEN_DAYS, default=90)
        except InvalidParameter as exc:
            form.errors["days"] = str(exc.detail)
            days = 0
        if not form.ok:
            self.request.response.status_int = 400
            return self._page(form)
        organization = self.request.dbsession.scalar(select(Organization).where(Organization.slug == slug))
        token = make_token(
            self.request.dbsession,
            organization,
            form.values["name"],
            form.values["scope"],
            days,
            by=self.request.identity.name,
            now=utcnow(),
        )
        record(
            self.request,
            organization.id,
            "token.create",
            f"{form.values['name']} ({form.values['scope']}, {days} days)",
        )
        return self._page(made=token)

    @view_config(route_name="admin_token_revoke", request_method="POST")
    def revoke(self) -> HTTPSeeOther:
        found = self.request.dbsession.get(ApiToken, record_id(self.request.matchdict["id"], "token"))
        if found is None or found.organization_id not in self.owned:
            raise HTTPNotFound("no such token")
        if found.revoked_at is None:
            found.revoked_at = utcnow()
            record(self.request, found.organization_id, "token.revoke", found.name)
        return HTTPSeeOther(self.request.route_url("admin_tokens"))
