"""A monitor's `depends_on`, so status pages can say "affected by Database" beside a
service that is down with what it needs: the slugs, space-separated (slugs hold none).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.add_column(sa.Column("depends_on_slugs", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.drop_column("depends_on_slugs")
