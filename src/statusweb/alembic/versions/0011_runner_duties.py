"""The runner's duties that have not completed a round lately, written with its
heartbeat so /healthz and the admin can name them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runner_heartbeat") as batch:
        batch.add_column(sa.Column("stalled", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("runner_heartbeat") as batch:
        batch.drop_column("stalled")
