"""Organizations and the people in them: what the CLI, the admin and the runner's page
sync share (creating an organization when first named, adding a member)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from statusweb.models import DEFAULT_SLUG, MEMBER_ROLES, ApiToken, Invitation, Membership, Organization, User

# The roles of the single-organization admin (user.role) as organization roles.
FROM_USER_ROLE = {"admin": "owner", "editor": "admin"}


def organization_named(session: Session, slug: str, now: datetime, name: str = "") -> Organization:
    """The organization `slug`, created when it does not exist yet."""
    found = session.scalar(select(Organization).where(Organization.slug == slug))
    if found is None:
        found = Organization(slug=slug, name=name or slug.replace("-", " ").title(), created_at=now)
        session.add(found)
        session.flush()
    return found


def join(
    session: Session, user: User, organization: Organization, role: str, now: datetime, *, lower: bool = True
) -> Membership:
    """`user` in `organization` with `role` (a member already gets the new role; with
    `lower=False`, as an invitation, only a stronger one: accepting a "member" link never
    demotes an owner, so an organization keeps its owners)."""
    if role not in MEMBER_ROLES:
        raise ValueError(f"a role is one of {', '.join(MEMBER_ROLES)}, not {role!r}")
    session.flush()
    found = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.organization_id == organization.id)
    )
    if found is None:
        found = Membership(user_id=user.id, organization_id=organization.id, role=role, created_at=now)
        session.add(found)
    if lower or MEMBER_ROLES.index(role) < MEMBER_ROLES.index(found.role):
        found.role = role
    session.flush()
    return found


def owner_ids(session: Session, organization_id: int) -> list[int]:
    """The user ids of the organization's owners."""
    return list(
        session.scalars(
            select(Membership.user_id).where(Membership.organization_id == organization_id, Membership.role == "owner")
        )
    )


def would_lose_its_last_owner(session: Session, membership: Membership, new_role: str | None) -> bool:
    """Whether giving `membership` `new_role` (None: removing it) leaves its organization
    with no owner: every path keeps one."""
    return (
        membership.role == "owner"
        and new_role != "owner"
        and owner_ids(session, membership.organization_id) == [membership.user_id]
    )


def share_install_owners(session: Session, organization: Organization, now: datetime) -> list[str]:
    """Make the owners of the install's own (default) organization owners of
    `organization` when it has none (one created from monitors.toml): whoever configured
    a private page can open it. Their names."""
    if organization.slug == DEFAULT_SLUG or owner_ids(session, organization.id):
        return []
    default = session.scalar(select(Organization).where(Organization.slug == DEFAULT_SLUG))
    owners = list(session.scalars(select(User).where(User.id.in_(owner_ids(session, default.id))))) if default else []
    for user in owners:
        join(session, user, organization, "owner", now)
    return [user.name for user in owners]


def adopt_ownerless(session: Session, user: User, now: datetime) -> list[str]:
    """Make `user` (the install's first admin) owner of every organization that has no
    owner yet; their slugs."""
    ownerless = [
        organization
        for organization in session.scalars(select(Organization).order_by(Organization.slug))
        if not owner_ids(session, organization.id)
    ]
    for organization in ownerless:
        join(session, user, organization, "owner", now)
    return [organization.slug for organization in ownerless]


INVITATION_DAYS = 7


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def make_invitation(
    session: Session, organization: Organization, role: str, email: str, *, by: str, now: datetime
) -> str:
    """A single-use invitation for `INVITATION_DAYS`; the token (only its hash is kept)."""
    if role not in MEMBER_ROLES:
        raise ValueError(f"a role is one of {', '.join(MEMBER_ROLES)}, not {role!r}")
    token = secrets.token_urlsafe(32)
    session.add(
        Invitation(
            organization_id=organization.id,
            role=role,
            email=email,
            token_hash=token_digest(token),
            created_by=by,
            created_at=now,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
    )
    return token


def open_invitation(session: Session, token: str, now: datetime) -> Invitation | None:
    """The invitation for `token` if it is unused and unexpired, else None."""
    if not 20 <= len(token) <= 100:
        return None
    found = session.scalar(select(Invitation).where(Invitation.token_hash == token_digest(token)))
    if found is None or found.used_at is not None or found.expires_at <= now:
        return None
    return found


def claim_invitation(session: Session, invitation_id: int, now: datetime) -> bool:
    """Mark the invitation used, if nobody has: one conditional UPDATE, so of eight
    accepts at once (PostgreSQL waits, then looks again) exactly one wins."""
    claimed = session.scalar(
        update(Invitation)
        .where(Invitation.id == invitation_id, Invitation.used_at.is_(None))
        .values(used_at=now)
        .returning(Invitation.id)
        .execution_options(synchronize_session=False)
    )
    return claimed is not None


TOKEN_PREFIX = "sw_"
TOKEN_SCOPES = {"read": "read", "write": "read,write"}
MAX_TOKEN_DAYS = 366


def make_token(
    session: Session, organization: Organization, name: str, scope: str, days: int, *, by: str, now: datetime
) -> str:
    """A new API token of `organization` ("read" or "write"), valid for `days`; the token
    itself, which is not kept (only its hash)."""
    if scope not in TOKEN_SCOPES:
        raise ValueError(f"a scope is one of {', '.join(TOKEN_SCOPES)}, not {scope!r}")
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise ValueError(f"a token lasts 1 to {MAX_TOKEN_DAYS} days")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            organization_id=organization.id,
            name=name[:100],
            token_hash=token_digest(token),
            prefix=token[:10],
            scopes=TOKEN_SCOPES[scope],
            created_by=by[:100],
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    return token


def valid_token(session: Session, token: str, now: datetime) -> ApiToken | None:
    """The unrevoked, unexpired token row for `token`, else None."""
    if not token.startswith(TOKEN_PREFIX) or not 20 <= len(token) <= 100:
        return None
    found = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if found is None or found.revoked_at is not None or found.expires_at <= now:
        return None
    return found
