"""Rollup latency histograms as integer columns (from a space-separated text), so SQL
can add them up and writers need not read a row to change it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

EDGES = (25, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 30000)
COLUMNS = tuple(f"latency_le_{edge}" for edge in EDGES) + ("latency_le_inf",)
BATCH = 5000


def upgrade() -> None:
    for table_name in ("rollup_hourly", "rollup_daily"):
        with op.batch_alter_table(table_name) as table:
            for column in COLUMNS:
                table.add_column(sa.Column(column, sa.Integer, nullable=False, server_default="0"))
        _copy_text_into_columns(table_name)
        with op.batch_alter_table(table_name) as table:
            table.drop_column("latency_histogram")


def downgrade() -> None:
    for table_name in ("rollup_hourly", "rollup_daily"):
        with op.batch_alter_table(table_name) as batch:
            batch.add_column(sa.Column("latency_histogram", sa.String(200), nullable=False, server_default=""))
        connection = op.get_bind()
        table = sa.table(
            table_name,
            sa.column("service_id"),
            sa.column("bucket"),
            sa.column("latency_histogram"),
            *(sa.column(c) for c in COLUMNS),
        )
        rows = connection.execute(sa.select(table.c.service_id, table.c.bucket, *(table.c[c] for c in COLUMNS))).all()
        if rows:
            connection.execute(
                table.update().where(
                    table.c.service_id == sa.bindparam("k_service"), table.c.bucket == sa.bindparam("k_bucket")
                ),
                [
                    {"k_service": row[0], "k_bucket": row[1], "latency_histogram": " ".join(map(str, row[2:]))}
                    for row in rows
                ],
            )
        with op.batch_alter_table(table_name) as batch:
            for column in COLUMNS:
                batch.drop_column(column)


def _copy_text_into_columns(table_name: str) -> None:
    """Each row's "3 0 12 ..." into its columns, a batch at a time, with progress."""
    connection = op.get_bind()
    table = sa.table(
        table_name,
        sa.column("service_id"),
        sa.column("bucket"),
        sa.column("latency_histogram"),
        *(sa.column(c) for c in COLUMNS),
    )
    total = connection.execute(
        sa.select(sa.func.count()).select_from(table).where(table.c.latency_histogram != "")
    ).scalar_one()
    done = 0
    last = None
    while True:
        query = (
            sa.select(table.c.service_id, table.c.bucket, table.c.latency_histogram)
            .where(table.c.latency_histogram != "")
            .order_by(table.c.service_id, table.c.bucket)
            .limit(BATCH)
        )
        if last is not None:
            query = query.where(sa.tuple_(table.c.service_id, table.c.bucket) > sa.tuple_(*last))
        rows = connection.execute(query).all()
        if not rows:
            break
        updates = []
        for service_id, bucket, text in rows:
            counts = [int(n) for n in text.split()]
            if len(counts) == len(COLUMNS):
                updates.append({"k_service": service_id, "k_bucket": bucket, **dict(zip(COLUMNS, counts))})
        if updates:
            connection.execute(
                table.update().where(
                    table.c.service_id == sa.bindparam("k_service"), table.c.bucket == sa.bindparam("k_bucket")
                ),
                updates,
            )
        last = (rows[-1][0], rows[-1][1])
        done += len(rows)
        print(f"  {table_name}: {done}/{total} histograms moved into columns", flush=True)
