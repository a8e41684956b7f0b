"""Services, check history with rollups, state, alert outbox, runner heartbeat.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from statusweb.models.meta import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _rollup_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column(
            "service_id",
            sa.Integer,
            sa.ForeignKey("service.id", ondelete="CASCADE", name=f"fk_{name}_service_id_service"),
            nullable=False,
        ),
        sa.Column("bucket", UTCDateTime, nullable=False),
        sa.Column("up_count", sa.Integer, nullable=False),
        sa.Column("degraded_count", sa.Integer, nullable=False),
        sa.Column("down_count", sa.Integer, nullable=False),
        sa.Column("maintenance_count", sa.Integer, nullable=False),
        sa.Column("latency_count", sa.Integer, nullable=False),
        sa.Column("latency_sum_ms", sa.BigInteger, nullable=False),
        sa.Column("latency_max_ms", sa.Integer, nullable=False),
        sa.Column("latency_p95_ms", sa.Integer, nullable=False),
        sa.Column("latency_histogram", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("service_id", "bucket", name=f"pk_{name}"),
    )


def upgrade() -> None:
    op.create_table(
        "service",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(50), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("group_name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("hidden", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("slug", name="uq_service_slug"),
    )
    op.create_table(
        "service_state",
        sa.Column(
            "service_id",
            sa.Integer,
            sa.ForeignKey("service.id", ondelete="CASCADE", name="fk_service_state_service_id_service"),
            primary_key=True,
        ),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("since", UTCDateTime, nullable=True),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("consecutive_successes", sa.Integer, nullable=False),
        sa.Column("failing_since", UTCDateTime, nullable=True),
        sa.Column("last_alert_at", UTCDateTime, nullable=True),
        sa.Column("flapping", sa.Boolean, nullable=False),
        sa.Column("flips", sa.Text, nullable=False),
        sa.Column("last_checked_at", UTCDateTime, nullable=True),
        sa.Column("last_status", sa.String(20), nullable=True),
        sa.Column("last_latency_ms", sa.Integer, nullable=True),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("last_attempts", sa.Integer, nullable=True),
        sa.Column("last_max_attempts", sa.Integer, nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "check_result",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column(
            "service_id",
            sa.Integer,
            sa.ForeignKey("service.id", ondelete="CASCADE", name="fk_check_result_service_id_service"),
            nullable=False,
        ),
        sa.Column("checked_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("latency_ms", sa.Integer, nullable=False),
        sa.Column("status_code", sa.SmallInteger, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("attempts", sa.SmallInteger, nullable=False),
    )
    op.create_index("ix_check_result_service_id_checked_at", "check_result", ["service_id", "checked_at"])
    _rollup_table("rollup_hourly")
    _rollup_table("rollup_daily")
    op.create_table(
        "alert_outbox",
        sa.Column("id", sa.String(300), primary_key=True),
        sa.Column("sink", sa.String(100), nullable=False),
        sa.Column("monitor", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_try", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("delivered_at", UTCDateTime, nullable=True),
    )
    op.create_index("ix_alert_outbox_delivered_at_created_at", "alert_outbox", ["delivered_at", "created_at"])
    op.create_table(
        "runner_heartbeat",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("beat_at", UTCDateTime, nullable=False),
        sa.Column("interval_s", sa.Integer, nullable=False),
        sa.Column("monitors", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "runner_heartbeat",
        "alert_outbox",
        "rollup_daily",
        "rollup_hourly",
        "check_result",
        "service_state",
        "service",
    ):
        op.drop_table(table)
