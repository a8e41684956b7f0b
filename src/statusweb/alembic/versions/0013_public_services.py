"""A monitor may stay off the status pages (`public = false`: checked, alerted, in the
admin) and may keep its DEGRADED for operators (`public_degraded = false`: tls_cert's
default, so a certificate expiring soon is not a public degradation).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.add_column(sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("public_degraded", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.drop_column("public_degraded")
        batch.drop_column("public")
