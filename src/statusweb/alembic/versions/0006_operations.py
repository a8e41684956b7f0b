"""Operating it: maintenance windows (with updates and services), push monitors'
last push, "check now" requests, SLA targets and the SLA alerts already sent.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from statusweb.models.meta import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service") as table:
        table.add_column(sa.Column("interval_s", sa.Integer, nullable=False, server_default="60"))
        table.add_column(sa.Column("sla_target", sa.Float, nullable=True))
        table.add_column(sa.Column("push_token_hash", sa.String(64), nullable=True))
        table.create_unique_constraint("uq_service_push_token_hash", ["push_token_hash"])
    op.create_table(
        "maintenance",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("all_services", sa.Boolean, nullable=False),
        sa.Column("rrule", sa.String(500), nullable=False, server_default=""),
        sa.Column(
            "series_id",
            sa.Integer,
            sa.ForeignKey("maintenance.id", ondelete="SET NULL", name="fk_maintenance_series_id_maintenance"),
            nullable=True,
        ),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_maintenance"),
    )
    op.create_index("ix_maintenance_status_starts_at", "maintenance", ["status", "starts_at"])
    op.create_table(
        "maintenance_update",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "maintenance_id",
            sa.Integer,
            sa.ForeignKey(
                "maintenance.id", ondelete="CASCADE", name="fk_maintenance_update_maintenance_id_maintenance"
            ),
            nullable=False,
        ),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_maintenance_update"),
    )
    op.create_table(
        "maintenance_service",
        sa.Column(
            "maintenance_id",
            sa.Integer,
            sa.ForeignKey(
                "maintenance.id", ondelete="CASCADE", name="fk_maintenance_service_maintenance_id_maintenance"
            ),
            nullable=False,
        ),
        sa.Column(
            "service_id",
            sa.Integer,
            sa.ForeignKey("service.id", ondelete="CASCADE", name="fk_maintenance_service_service_id_service"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("maintenance_id", "service_id", name="pk_maintenance_service"),
    )
    op.create_table(
        "service_push",
        sa.Column(
            "service_id",
            sa.Integer,
            sa.ForeignKey("service.id", ondelete="CASCADE", name="fk_service_push_service_id_service"),
            nullable=False,
        ),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("message", sa.String(500), nullable=False),
        sa.Column("ping_ms", sa.Integer, nullable=True),
        sa.Column("pushes", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("service_id", name="pk_service_push"),
    )
    op.create_table(
        "check_request",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "service_id",
            sa.Integer,
            sa.ForeignKey("service.id", ondelete="CASCADE", name="fk_check_request_service_id_service"),
            nullable=False,
        ),
        sa.Column("requested_at", UTCDateTime, nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("done_at", UTCDateTime, nullable=True),
        sa.Column("status", sa.String(20), nullable=True),
        sa.Column("latency_ms", sa.Integer, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_check_request"),
    )
    op.create_index("ix_check_request_done_at", "check_request", ["done_at"])
    op.create_table(
        "sla_alert_state",
        sa.Column(
            "service_id",
            sa.Integer,
            sa.ForeignKey("service.id", ondelete="CASCADE", name="fk_sla_alert_state_service_id_service"),
            nullable=False,
        ),
        sa.Column("window", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("since", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("service_id", "window", "kind", name="pk_sla_alert_state"),
    )


def downgrade() -> None:
    for name in ("sla_alert_state", "check_request", "service_push", "maintenance_service", "maintenance_update"):
        op.drop_table(name)
    op.drop_index("ix_maintenance_status_starts_at", "maintenance")
    op.drop_table("maintenance")
    with op.batch_alter_table("service") as table:
        table.drop_constraint("uq_service_push_token_hash", type_="unique")
        table.drop_column("push_token_hash")
        table.drop_column("sla_target")
        table.drop_column("interval_s")
