"""Users of an organization: add, invite, remove, reset a password, disable, enable."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.security import remember
from pyramid.view import view_config, view_defaults
from sqlalchemy import select

from statuscore import utcnow
from statusweb.models import (
    MEMBER_ROLES,
    Membership,
    Organization,
    OutgoingMail,
    User,
)
from statusweb.services.audit import record
from statusweb.services.forms import Form, read_invitation, read_new_password, read_user
from statusweb.services.mail_text import mail_text
from statusweb.services.organizations import INVITATION_DAYS, join, make_invitation, organization_named
from statusweb.services.params import record_id
from statusweb.services.subscriptions import SubscriptionError, check_email
from statusweb.views.admin_pages import OwnerViews


@view_defaults(permission="manage_users")
class UserViews(OwnerViews):
    """The people in the organizations you own: adding them (or inviting them by a link),
    setting their passwords, disabling and enabling them. Someone who is also in another
    organization is only yours to remove from your own; every change that takes access
    away ends the user's sessions at once."""

    def _page(
        self, form: Form | None = None, error: str | None = None, invited: str | None = None, invite: Form | None = None
    ) -> dict[str, Any]:
        session = self.request.dbsession
        rows = session.execute(
            select(User, Membership, Organization)
            .join(Membership, Membership.user_id == User.id)
            .join(Organization)
            .where(Membership.organization_id.in_(self.owned))
            .order_by(User.name, Organization.slug)
        ).all()
        people: dict[int, User] = {}
        roles: dict[int, list[tuple[Membership, Organization]]] = {}
        for user, membership, organization in rows:
            people[user.id] = user
            roles.setdefault(user.id, []).append((membership, organization))
        organizations = self._organizations()
        default = {**self._first(organizations), "role": "admin"}
        return {
            "title": "Users",
            "users": list(people.values()),
            "roles": roles,
            "roles_allowed": MEMBER_ROLES,
            "organizations": organizations,
            "form": form or Form(values=dict(default)),
            "error": error,
            "invite": invite or Form(values=dict(default)),
            "invited": invited,
            "elsewhere": self._elsewhere(list(people)),
        }

    def _elsewhere(self, user_ids: list[int]) -> set[int]:
        """Of these users, those who are also in an organization you do not own."""
        return set(
            self.request.dbsession.scalars(
                select(Membership.user_id).where(
                    Membership.user_id.in_(user_ids), Membership.organization_id.not_in(self.owned)
                )
            )
        )

    def _user(self, *, only_yours: bool = True) -> User:
        """A user in one of your organizations (and, for password and access, in none
        other); anyone else is a 404, as if there were no such user."""
        found = self.request.dbsession.get(User, record_id(self.request.matchdict["id"], "user"))
        ours = (
            found is not None
            and self.request.dbsession.scalar(
                select(Membership.id).where(Membership.user_id == found.id, Membership.organization_id.in_(self.owned))
            )
            is not None
        )
        if found is None or not ours or (only_yours and found.id in self._elsewhere([found.id])):
            raise HTTPNotFound("no such user")
        return found

    def _refuse(self, message: str, form: Form | None = None, invite: Form | None = None) -> dict[str, Any]:
        self.request.response.status_int = 400
        return self._page(form, message, invite=invite)

    def _slugs(self) -> tuple[str, ...]:
        return tuple(o.slug for o in self._organizations())

    @view_config(route_name="admin_users", renderer="statusweb:templates/admin/users.pt", request_method="GET")
    def list(self) -> dict[str, Any]:
        return self._page()

    @view_config(route_name="admin_users", renderer="statusweb:templates/admin/users.pt", request_method="POST")
    def add(self) -> Any:
        form = read_user(self.request.POST, self._slugs())
        name = form.values.get("name", "")
        if form.ok and self.request.dbsession.scalar(select(User).where(User.name == name)) is not None:
            form.errors["name"] = "That name is taken."
        if not form.ok:
            return self._refuse("Please correct the fields marked below; nothing was saved.", form)
        now = utcnow()
        role = form.values["role"]
        user = User(name=name, role="admin" if role == "owner" else "editor", created_at=now)
        user.set_password(self.request.POST["password"])
        self.request.dbsession.add(user)
        organization = organization_named(self.request.dbsession, form.values["organization"], now)
        join(self.request.dbsession, user, organization, role, now)
        record(self.request, organization.id, "member.add", f"{name} as {role}")
        return HTTPSeeOther(self.request.route_url("admin_users"))

    @view_config(route_name="admin_user_invite", renderer="statusweb:templates/admin/users.pt", request_method="POST")
    def invite(self) -> Any:
        form = read_invitation(self.request.POST, self._slugs())
        if form.values.get("email"):
            try:
                form.values["email"] = check_email(form.values["email"])
            except SubscriptionError as exc:
                form.errors["email"] = str(exc)
        if not form.ok:
            return self._refuse("The invitation was not made: correct the fields marked below.", invite=form)
        now = utcnow()
        organization = organization_named(self.request.dbsession, form.values["organization"], now)
        token = make_invitation(
            self.request.dbsession,
            organization,
            form.values["role"],
            form.values["email"],
            by=self.request.identity.name,
            now=now,
        )
        link = self.request.route_url("invitation", token=token)
        if form.values["email"]:  # the runner mails it (never this request), retrying while the server is down
            self.request.dbsession.add(
                OutgoingMail(
                    to_address=form.values["email"],
                    subject=f"Join {organization.name} on the status page",
                    body=mail_text(
                        "invitation",
                        inviter=self.request.identity.name,
                        organization=organization.name,
                        role=form.values["role"],
                        days=INVITATION_DAYS,
                        link=link,
                    ),
                    created_at=now,
                    attempts=0,
                )
            )
        record(self.request, organization.id, "member.invite", f"{form.values['role']} {form.values['email']}".strip())
        return self._page(invited=link)

    @view_config(route_name="admin_membership_remove", request_method="POST")
    def remove(self) -> Any:
        """Take someone out of one of your organizations (their account stays)."""
        session = self.request.dbsession
        membership = session.get(Membership, record_id(self.request.matchdict["id"], "membership"))
        if membership is None or membership.organization_id not in self.owned:
            raise HTTPNotFound("no such member")
        if membership.user_id == self.request.identity.id:
            return self._refuse("You cannot remove yourself; another owner can.")
        user = session.get(User, membership.user_id)
        session.delete(membership)
        if user is not None:
            user.end_sessions()
            record(self.request, membership.organization_id, "member.remove", user.name)
        return HTTPSeeOther(self.request.route_url("admin_users"))

    @view_config(route_name="admin_user_password", renderer="statusweb:templates/admin/users.pt", request_method="POST")
    def set_password(self) -> Any:
        user = self._user()
        form = read_new_password(self.request.POST, user.name)
        if not form.ok:
            return self._refuse(
                f"The password for {user.name} was not changed: {next(iter(form.errors.values()))}", form
            )
        user.set_password(self.request.POST["password"])  # ends the user's other sessions
        if user.id == self.request.identity.id:  # keep the admin who did it logged in
            remember(self.request, user.id)
        return HTTPSeeOther(self.request.route_url("admin_users"))

    @view_config(route_name="admin_user_disable", renderer="statusweb:templates/admin/users.pt", request_method="POST")
    def disable(self) -> Any:
        user = self._user()
        if user.id == self.request.identity.id:
            return self._refuse("You cannot disable your own account.")
        user.disabled = True
        user.end_sessions()
        return HTTPSeeOther(self.request.route_url("admin_users"))

    @view_config(route_name="admin_user_enable", renderer="statusweb:templates/admin/users.pt", request_method="POST")
    def enable(self) -> Any:
        self._user().disabled = False
        return HTTPSeeOther(self.request.route_url("admin_users"))
