"""Runners that share one PostgreSQL: members, monitor leases (one per monitor and
region), what each region last saw of a monitor, and regions alerted as having no runner.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

from statusweb.models.meta import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runner_member",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("region", sa.String(50), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("beat_at", UTCDateTime(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
    )
    op.create_index("ix_runner_member_region_beat_at", "runner_member", ["region", "beat_at"])
    op.create_table(
        "monitor_lease",
        sa.Column("service_id", sa.Integer(), sa.ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("region", sa.String(50), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("acquired_at", UTCDateTime(), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=False),
    )
    op.create_index("ix_monitor_lease_region_holder", "monitor_lease", ["region", "holder"])
    op.create_table(
        "region_alert_state",
        sa.Column("region", sa.String(50), primary_key=True),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("monitors", sa.Integer(), nullable=False),
    )
    op.create_table(
        "region_observation",
        sa.Column("service_id", sa.Integer(), sa.ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("region", sa.String(50), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("region_observation")
    op.drop_table("region_alert_state")
    op.drop_table("monitor_lease")
    op.drop_table("runner_member")
