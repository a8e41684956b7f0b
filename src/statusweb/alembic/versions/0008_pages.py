"""Several pages: organizations, pages, memberships, invitations, the audit log, API tokens, invitation mail; services, incidents, maintenance and
subscribers on a page (NULL: the default page). Existing users become members of the
default organization (admin -> owner, editor -> admin), so every install keeps working.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from statusweb.models.meta import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ON_A_PAGE = ("service", "incident", "maintenance", "subscriber")


def upgrade() -> None:
    op.create_table(
        "organization",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("slug", name="uq_organization_slug"),
    )
    op.create_table(
        "page",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "organization_id",
            sa.Integer,
            sa.ForeignKey("organization.id", ondelete="CASCADE", name="fk_page_organization_id_organization"),
            nullable=False,
        ),
        sa.Column("slug", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("private", sa.Boolean, nullable=False),
        sa.Column("domain", sa.String(253), nullable=True),
        sa.Column("viewer_password_hash", sa.String(200), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("slug", name="uq_page_slug"),
        sa.UniqueConstraint("domain", name="uq_page_domain"),
    )
    op.create_table(
        "membership",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("user.id", ondelete="CASCADE", name="fk_membership_user_id_user"),
            nullable=False,
        ),
        sa.Column(
            "organization_id",
            sa.Integer,
            sa.ForeignKey("organization.id", ondelete="CASCADE", name="fk_membership_organization_id_organization"),
            nullable=False,
        ),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("user_id", "organization_id", name="uq_membership_user_organization"),
    )
    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "organization_id",
            sa.Integer,
            sa.ForeignKey("organization.id", ondelete="CASCADE", name="fk_invitation_organization_id_organization"),
            nullable=False,
        ),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("used_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_invitation_token_hash"),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "organization_id",
            sa.Integer,
            sa.ForeignKey("organization.id", ondelete="CASCADE", name="fk_audit_event_organization_id_organization"),
            nullable=True,
        ),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
    )
    op.create_index("ix_audit_event_organization_at", "audit_event", ["organization_id", "at"])
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "organization_id",
            sa.Integer,
            sa.ForeignKey("organization.id", ondelete="CASCADE", name="fk_api_token_organization_id_organization"),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("prefix", sa.String(12), nullable=False),
        sa.Column("scopes", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("last_used_at", UTCDateTime, nullable=True),
        sa.Column("revoked_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_api_token_token_hash"),
    )
    op.create_table(
        "outgoing_mail",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("to_address", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_try", UTCDateTime, nullable=True),
        sa.Column("sent_at", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_index("ix_outgoing_mail_sent_at_next_try", "outgoing_mail", ["sent_at", "next_try"])
    for table_name in ON_A_PAGE:
        with op.batch_alter_table(table_name) as table:
            table.add_column(sa.Column("page_id", sa.Integer, nullable=True))
            table.create_foreign_key(f"fk_{table_name}_page_id_page", "page", ["page_id"], ["id"], ondelete="RESTRICT")
            table.create_index(f"ix_{table_name}_page_id", ["page_id"])
    with op.batch_alter_table("subscriber") as table:  # the same address may follow several pages
        table.drop_constraint("uq_subscriber_kind_address", type_="unique")
        table.create_unique_constraint("uq_subscriber_kind_address_page", ["kind", "address", "page_id"])
    _default_organization_and_members()


def _default_organization_and_members() -> None:
    """The default organization and page; every existing user a member of it."""
    now = datetime.now(UTC)
    bind = op.get_bind()
    organization = sa.table(
        "organization", sa.column("id"), sa.column("slug"), sa.column("name"), sa.column("created_at", UTCDateTime)
    )
    page = sa.table(
        "page",
        sa.column("organization_id"),
        sa.column("slug"),
        sa.column("name"),
        sa.column("private"),
        sa.column("created_at", UTCDateTime),
        sa.column("updated_at", UTCDateTime),
    )
    membership = sa.table(
        "membership",
        sa.column("user_id"),
        sa.column("organization_id"),
        sa.column("role"),
        sa.column("created_at", UTCDateTime),
    )
    bind.execute(organization.insert().values(slug="default", name="Default", created_at=now))
    organization_id = bind.execute(sa.select(organization.c.id).where(organization.c.slug == "default")).scalar_one()
    bind.execute(
        page.insert().values(
            organization_id=organization_id,
            slug="default",
            name="Status",
            private=False,
            created_at=now,
            updated_at=now,
        )
    )
    users = bind.execute(sa.text('SELECT id, role FROM "user"')).all()
    for user_id, role in users:
        bind.execute(
            membership.insert().values(
                user_id=user_id,
                organization_id=organization_id,
                role="owner" if role == "admin" else "admin",
                created_at=now,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("subscriber") as table:
        table.drop_constraint("uq_subscriber_kind_address_page", type_="unique")
        table.create_unique_constraint("uq_subscriber_kind_address", ["kind", "address"])
    for table_name in ON_A_PAGE:
        with op.batch_alter_table(table_name) as table:
            table.drop_index(f"ix_{table_name}_page_id")
            table.drop_constraint(f"fk_{table_name}_page_id_page", type_="foreignkey")
            table.drop_column("page_id")
    op.drop_table("outgoing_mail")
    op.drop_table("api_token")
    op.drop_table("audit_event")
    op.drop_table("invitation")
    op.drop_table("membership")
    op.drop_table("page")
    op.drop_table("organization")
