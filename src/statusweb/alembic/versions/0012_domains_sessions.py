"""A page's domain serves only once verified (a DNS TXT token, or an install-wide
admin's approval); and each signed-in browser is a row its user can see and end.

Domains set before this revision keep serving: they are marked verified "before
verification existed", so an upgrade takes no page off its address.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from statusweb.models.meta import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("page") as batch:
        batch.add_column(sa.Column("domain_token", sa.String(64), nullable=True))
        batch.add_column(sa.Column("domain_verified_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("domain_verified_by", sa.String(120), nullable=False, server_default=""))
    page = sa.table(
        "page",
        sa.column("domain", sa.String),
        sa.column("updated_at", UTCDateTime()),
        sa.column("domain_verified_at", UTCDateTime()),
        sa.column("domain_verified_by", sa.String),
    )
    op.execute(
        page.update()
        .where(page.c.domain.isnot(None))
        .values(domain_verified_at=page.c.updated_at, domain_verified_by="set before verification existed")
    )
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("address", sa.String(45), nullable=False, server_default=""),
        sa.Column("user_agent", sa.String(200), nullable=False, server_default=""),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("key_hash", name="uq_user_session_key_hash"),
    )
    op.create_index("ix_user_session_user_id", "user_session", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_user_session_user_id", table_name="user_session")
    op.drop_table("user_session")
    with op.batch_alter_table("page") as batch:
        batch.drop_column("domain_verified_by")
        batch.drop_column("domain_verified_at")
        batch.drop_column("domain_token")
