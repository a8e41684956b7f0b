"""The check history's pages in order of time, each filter with an index to walk.

The admin's check history lists results newest first (checked_at, then id) with keyset
pagination. Over 13 M rows a filter on one service's failures, or on one day a month
back, walked the primary key backwards for seconds (bench/admin_history.py: 4.9 s and
4.4 s on PostgreSQL); with these each page is an index range scan.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_check_result_checked_at_id": ["checked_at", "id"],
    "ix_check_result_status_checked_at_id": ["status", "checked_at", "id"],
    "ix_check_result_service_id_status_checked_at_id": ["service_id", "status", "checked_at", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "check_result", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, "check_result")
