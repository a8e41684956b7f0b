"""Subscriptions: email and webhook subscribers, their message outbox, the fan-out cursor.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

from statusweb.models.meta import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriber",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("components", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("confirmed_at", UTCDateTime, nullable=True),
        sa.Column("confirm_token", sa.String(64), nullable=False),
        sa.Column("unsubscribe_token", sa.String(64), nullable=False),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_subscriber"),
        sa.UniqueConstraint("kind", "address", name="uq_subscriber_kind_address"),
        sa.UniqueConstraint("confirm_token", name="uq_subscriber_confirm_token"),
        sa.UniqueConstraint("unsubscribe_token", name="uq_subscriber_unsubscribe_token"),
    )
    op.create_table(
        "subscriber_message",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "subscriber_id",
            sa.Integer,
            sa.ForeignKey("subscriber.id", ondelete="CASCADE", name="fk_subscriber_message_subscriber_id_subscriber"),
            nullable=False,
        ),
        sa.Column("event", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_try", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("sent_at", UTCDateTime, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_subscriber_message"),
        sa.UniqueConstraint("subscriber_id", "event", name="uq_subscriber_message_subscriber_id"),
    )
    op.create_index("ix_subscriber_message_sent_at_subscriber_id", "subscriber_message", ["sent_at", "subscriber_id"])
    op.create_table(
        "subscription_cursor",
        sa.Column("name", sa.String(30), nullable=False),
        sa.Column("last_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_subscription_cursor"),
    )


def downgrade() -> None:
    op.drop_table("subscription_cursor")
    op.drop_index("ix_subscriber_message_sent_at_subscriber_id", "subscriber_message")
    op.drop_table("subscriber_message")
    op.drop_table("subscriber")
