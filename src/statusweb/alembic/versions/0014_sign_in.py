"""Signing in, issue 32: a second factor for the admin (each user's TOTP secret, when it
came into force and the last time step accepted, so a code is used once; ten hashed
one-time recovery codes; organizations whose owners require it), and OpenID Connect
(a user's email address, and the provider's subject once they signed in with it).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

from statusweb.models.meta import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(64), nullable=True))
        batch.add_column(sa.Column("totp_enabled_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))
        batch.add_column(sa.Column("oidc_subject", sa.String(600), nullable=True))
        batch.create_unique_constraint("uq_user_email", ["email"])
        batch.create_unique_constraint("uq_user_oidc_subject", ["oidc_subject"])
    with op.batch_alter_table("organization") as batch:
        batch.add_column(sa.Column("require_2fa", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "recovery_code",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_recovery_code_user_id", "recovery_code", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_recovery_code_user_id", "recovery_code")
    op.drop_table("recovery_code")
    with op.batch_alter_table("organization") as batch:
        batch.drop_column("require_2fa")
    with op.batch_alter_table("user") as batch:
        batch.drop_constraint("uq_user_oidc_subject", type_="unique")
        batch.drop_constraint("uq_user_email", type_="unique")
        batch.drop_column("oidc_subject")
        batch.drop_column("email")
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_enabled_at")
        batch.drop_column("totp_secret")
