"""A `[[group]]` of monitors.toml: what a status page says of a group of services (its
description) and whether it starts closed. Synced from the file at every start, like
`service`; a group without a table has no row and is shown open.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from statusweb.models.meta import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_group",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("collapsed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("name", name="uq_service_group_name"),
    )


def downgrade() -> None:
    op.drop_table("service_group")
