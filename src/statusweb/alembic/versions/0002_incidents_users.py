"""Incidents with their updates and affected services; users.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from statusweb.models.meta import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("impact", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("root_cause", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("resolved_at", UTCDateTime, nullable=True),
        sa.Column("deleted", sa.Boolean, nullable=False),
    )
    op.create_table(
        "incident_update",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "incident_id",
            sa.Integer,
            sa.ForeignKey("incident.id", ondelete="CASCADE", name="fk_incident_update_incident_id_incident"),
            nullable=False,
        ),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("eta", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
    )
    op.create_table(
        "incident_service",
        sa.Column(
            "incident_id",
            sa.Integer,
            sa.ForeignKey("incident.id", ondelete="CASCADE", name="fk_incident_service_incident_id_incident"),
            nullable=False,
        ),
        sa.Column(
            "service_id",
            sa.Integer,
            sa.ForeignKey("service.id", ondelete="CASCADE", name="fk_incident_service_service_id_service"),
            nullable=False,
        ),
        sa.Column("component_status", sa.String(30), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "service_id", name="pk_incident_service"),
    )
    op.create_table(
        "user",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("name", name="uq_user_name"),
    )


def downgrade() -> None:
    for table in ("user", "incident_service", "incident_update", "incident"):
        op.drop_table(table)
