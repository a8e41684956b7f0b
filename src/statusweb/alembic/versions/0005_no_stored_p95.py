"""Rollups stop storing p95: it follows from the histogram columns whenever it is read,
and a stored copy could not be kept right by an upsert that adds batches up in SQL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table_name in ("rollup_hourly", "rollup_daily"):
        with op.batch_alter_table(table_name) as table:
            table.drop_column("latency_p95_ms")


def downgrade() -> None:
    for table_name in ("rollup_hourly", "rollup_daily"):
        with op.batch_alter_table(table_name) as table:
            table.add_column(sa.Column("latency_p95_ms", sa.Integer, nullable=False, server_default="0"))
