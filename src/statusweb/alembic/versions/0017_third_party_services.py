"""A monitor whose check type reports a vendor's status (`statuspage`): shown in its
group, left out of the page's overall status (a vendor's outage is not ours).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.add_column(sa.Column("third_party", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.drop_column("third_party")
