"""Who owns what: organizations, their status pages, and the people in them.

An organization has pages; a page shows services, incidents and maintenance. A row of
those whose `page_id` is NULL is on the default page (the one at `/`), so an install
with one page never needs a page row at all; the default page and organization rows
exist only to carry settings (a name, privacy, a domain) and members.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from statusweb.models.meta import Base, UTCDateTime

DEFAULT_SLUG = "default"  # the default organization's and the default page's slug
MEMBER_ROLES = ("owner", "admin", "member")  # strongest first


class Organization(Base):
    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # its owners require a second factor (TOTP) of every member before the admin opens
    require_2fa: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    pages: Mapped[list[Page]] = relationship(back_populates="organization", order_by="Page.id")


class Page(Base):
    __tablename__ = "page"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    # a host name that serves this page at `/` (an allow-list: no other Host selects a page)
    domain: Mapped[str | None] = mapped_column(String(253), nullable=True, unique=True)
    # the domain serves only once verified: its owner put `domain_token` in a TXT record at
    # _statusweb.<domain>, or an install-wide admin (or the install's own config) approved it
    domain_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    domain_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    domain_verified_by: Mapped[str] = mapped_column(String(120), default="", server_default="")
    # argon2 hash of a password that lets a partner read a private page (None: members only)
    viewer_password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # the language a reader who chose none gets ("": their browser's)
    language: Mapped[str] = mapped_column(String(10), default="", server_default="")
    # CSS added after the page's own, sanitised when saved (services/stylesheets.py)
    stylesheet: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship(back_populates="pages")

    @property
    def serving_domain(self) -> str | None:
        """The domain that serves this page at `/`: only a verified one."""
        return self.domain if self.domain and self.domain_verified_at is not None else None


class Membership(Base):
    """A user's role in one organization; a user may be in several."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "organization_id", name="uq_membership_user_organization"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Invitation(Base):
    """A single-use link that makes its holder a member of an organization. Only the
    token's SHA-256 is stored; the link is shown once to the owner who made it."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(10))
    email: Mapped[str] = mapped_column(String(254), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEvent(Base):
    """Who changed what and when (incidents, maintenance, members, pages, tokens), for the
    organization's owners to read. Written in the same transaction as the change."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_organization_at", "organization_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), nullable=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(120))  # a user's name, or "token <name>"
    action: Mapped[str] = mapped_column(String(40))  # "incident.create", "member.invite", ...
    subject: Mapped[str] = mapped_column(String(300))


class ApiToken(Base):
    """A program's key to one organization's incidents and maintenance (deploy pipelines,
    chat-ops). Only the SHA-256 of the token is kept; it is shown once when made."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # the token's first characters, to tell tokens apart
    scopes: Mapped[str] = mapped_column(String(20))  # "read" or "read,write"
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
