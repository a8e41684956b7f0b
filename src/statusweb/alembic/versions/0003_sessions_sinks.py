"""Per-user session generation and disabled flag; the runner reports its alert sinks.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user") as table:
        table.add_column(sa.Column("session_generation", sa.Integer, nullable=False, server_default="0"))
        table.add_column(sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()))
    with op.batch_alter_table("runner_heartbeat") as table:
        table.add_column(sa.Column("sinks", sa.String(1000), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("runner_heartbeat") as table:
        table.drop_column("sinks")
    with op.batch_alter_table("user") as table:
        table.drop_column("disabled")
        table.drop_column("session_generation")
