"""A resolved incident's postmortem: Markdown, published once (subscribers hear of it
through an update of status `postmortem`, Statuspage's word), corrected later in place.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from statusweb.models.meta import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incident") as batch:
        batch.add_column(sa.Column("postmortem", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("postmortem_published_at", UTCDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incident") as batch:
        batch.drop_column("postmortem_published_at")
        batch.drop_column("postmortem")
