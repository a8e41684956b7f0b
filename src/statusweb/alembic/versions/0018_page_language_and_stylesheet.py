"""A page's own look: the language a reader who chose none gets, and a stylesheet added
after the page's own (sanitised when saved: no @import, no url() to another host).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("page") as batch:
        batch.add_column(sa.Column("language", sa.String(10), nullable=False, server_default=""))
        batch.add_column(sa.Column("stylesheet", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("page") as batch:
        batch.drop_column("stylesheet")
        batch.drop_column("language")
