"""Incident templates: an organization's ready-made title, body, impact and affected
services, chosen when an incident is opened.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from statusweb.models.meta import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_template",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "organization_id", sa.Integer(), sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("impact", sa.String(20), nullable=False),
        sa.Column("components", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("organization_id", "name", name="uq_incident_template_name"),
    )
    op.create_index("ix_incident_template_organization_id", "incident_template", ["organization_id"])


def downgrade() -> None:
    op.drop_index("ix_incident_template_organization_id", "incident_template")
    op.drop_table("incident_template")
