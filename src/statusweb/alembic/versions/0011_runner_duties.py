"""The runner's duties that have not completed a round lately, written with its
heartbeat so /healthz and the admin can name them; and each sharing member's liveness
lock key (a PostgreSQL advisory lock its session holds: gone the moment it dies).

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
    with op.batch_alter_table("runner_member") as batch:
        batch.add_column(sa.Column("lock_key", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runner_member") as batch:
        batch.drop_column("lock_key")
    with op.batch_alter_table("runner_heartbeat") as batch:
        batch.drop_column("stalled")
